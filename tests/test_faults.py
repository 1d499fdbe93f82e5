"""Faults in what Kiji stands on give readers a page, never a traceback or a bare 500:
a database that fails once is retried, one that stays away gives Kiji's 503 with
Retry-After, a cache that is down makes pages be made for each request, and paths no
slug could match are 404s before any query."""

import json
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client

from posts import views
from posts.models import Post, Redirect
from posts.pagecache import store
from tests.conftest import make_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_queries():
    """Make the next `times` queries of the posts table fail as a restarting database
    does, however they are made (the ORM, or the reads compiled once)."""

    def fail(times):
        calls = {"left": times}

        def flaky(execute, sql, params, many, context):
            if '"posts_post"' in sql and calls["left"] > 0:
                calls["left"] -= 1
                raise OperationalError("server closed the connection unexpectedly")
            return execute(sql, params, many, context)

        return connection.execute_wrapper(flaky)

    return fail


# The retry opens new connections, which a test's own transaction would not survive.
@pytest.mark.django_db(transaction=True)
def test_a_database_that_fails_once_is_retried_and_the_reader_gets_the_page(client, failing_queries):
    post = make_post(title="再試行される記事")

    with failing_queries(1):
        response = client.get(post.get_absolute_url())

    assert response.status_code == 200 and "再試行される記事" in response.content.decode()


def test_a_database_that_stays_away_gives_kijis_503_with_retry_after(client, failing_queries):
    make_post()

    with failing_queries(10):
        response = client.get("/")

    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "503" in html and "Traceback" not in html and 'href="/static/css/kiji.css"' in html


def test_a_change_is_not_retried_when_the_database_fails(admin_client, failing_queries):
    post = make_post()

    with failing_queries(10):
        response = admin_client.post(f"/admin/posts/post/{post.pk}/delete/", {"post": "yes"})

    assert response.status_code == 503


def test_a_database_failure_outside_any_view_is_a_503_too():
    reader = Client(raise_request_exception=False)  # as a real server: the handler answers
    with mock.patch("posts.middleware._moved_to", side_effect=OperationalError("the database is shutting down")):
        response = reader.get("/no-such-page/")

    assert response.status_code == 503 and response["Retry-After"] == "5"


def test_any_other_error_gets_kijis_own_500_page():
    reader = Client(raise_request_exception=False)
    with mock.patch.object(views, "render", side_effect=RuntimeError("a bug")):
        response = reader.get("/archives/")

    assert response.status_code == 500
    assert "500" in response.content.decode() and "a bug" not in response.content.decode()


def test_healthz_reports_the_database_and_the_cache_and_is_never_cached(client):
    response = client.get("/healthz")

    body = json.loads(response.content)
    assert response.status_code == 200 and body["status"] == "ok"
    assert body["database"]["ok"] and body["cache"]["ok"]
    assert "no-store" in response["Cache-Control"]


def test_healthz_says_503_when_the_database_is_away(client):
    with mock.patch("posts.faults._check_database", return_value={"ok": False, "error": "connection refused"}):
        response = client.get("/healthz")

    assert response.status_code == 503 and json.loads(response.content)["database"]["error"] == "connection refused"


@pytest.fixture
def dead_redis(settings):
    """A Redis that is not there: nothing listens on port 1."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    settings.KIJI_PAGE_CACHE_SECONDS = 300
    store._down_until = 0.0
    yield
    store._down_until = 0.0


def test_with_redis_down_pages_are_made_for_each_request_and_saving_still_works(client, admin_client, dead_redis, caplog):
    post = make_post(title="Redisがなくても読める記事")

    for _ in range(3):
        response = client.get(post.get_absolute_url())
        assert response.status_code == 200 and "Redisがなくても読める記事" in response.content.decode()
    post.title = "Redisがなくても書ける記事"
    post.save()
    assert "Redisがなくても書ける記事" in client.get(post.get_absolute_url()).content.decode()
    assert json.loads(client.get("/healthz").content)["cache"]["ok"] is False
    assert len([record for record in caplog.records if "cache is unreachable" in record.getMessage()]) == 1


@pytest.mark.parametrize(
    "path",
    ["/posts/%00/", "/tags/%00/", "/categories/%00/", "/posts/a%00b/", "/no/such/%00/page/", "/tags/x/page/%00/", "/%0a/"],
)
def test_a_path_no_slug_could_match_is_a_404_without_a_query(path, client, django_assert_max_num_queries):
    make_post()
    client.get("/robots.txt")  # page versions read

    with django_assert_max_num_queries(2):  # the site settings, for the 404 page
        response = client.get(path)

    assert response.status_code == 404


def test_the_redirect_table_is_still_asked_about_paths_it_can_hold(client):
    Redirect.add("/old/名前/", "/posts/new/")

    assert client.get("/old/名前/")["Location"] == "/posts/new/"
