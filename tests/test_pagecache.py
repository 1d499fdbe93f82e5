"""Readers' pages come from the cache, and never outlive a change or a scheduled time."""

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from posts.models import AffiliateSettings, Post
from tests.conftest import make_post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.KIJI_PAGE_CACHE_SECONDS = 300


def test_a_second_reader_gets_the_page_without_a_query(client, django_assert_num_queries):
    post = make_post(title="キャッシュされる記事")
    first = client.get(post.get_absolute_url())

    with django_assert_num_queries(0):
        second = client.get(post.get_absolute_url())

    assert second.status_code == 200
    assert second.content == first.content
    assert second["X-Frame-Options"] == first["X-Frame-Options"]


def test_an_edit_shows_at_once(client):
    post = make_post(title="古い題名")
    assert "古い題名" in client.get(post.get_absolute_url()).content.decode()
    assert "古い題名" in client.get("/").content.decode()

    post.title = "新しい題名"
    post.save()

    assert "新しい題名" in client.get(post.get_absolute_url()).content.decode()
    assert "新しい題名" in client.get("/").content.decode()


def test_new_affiliate_ids_show_at_once(client, affiliate_settings):
    post = make_post()
    post.affiliate_boxes.create(keyword="GPU", placement="end")
    assert "tag=negi3939-22" in client.get(post.get_absolute_url()).content.decode()

    settings = AffiliateSettings.load()
    settings.amazon_tag = "other-22"
    settings.save()

    assert "tag=other-22" in client.get(post.get_absolute_url()).content.decode()


def test_a_scheduled_post_appears_on_time_although_the_home_page_was_cached(client):
    make_post(title="今ある記事")
    publish_at = timezone.now() + timezone.timedelta(minutes=10)
    scheduled = make_post(title="予約した記事", published_at=publish_at)
    assert "予約した記事" not in client.get("/").content.decode()

    with mock.patch("django.utils.timezone.now", return_value=publish_at + timezone.timedelta(seconds=1)):
        assert "予約した記事" in client.get("/").content.decode()
        assert client.get(scheduled.get_absolute_url()).status_code == 200


def test_staff_and_the_admin_are_never_served_from_the_cache(admin_client, client, django_assert_num_queries):
    post = make_post(title="管理者も見る記事")
    client.get(post.get_absolute_url())

    with django_assert_num_queries(0):
        client.get(post.get_absolute_url())
    assert admin_client.get(post.get_absolute_url()).status_code == 200
    Post.objects.filter(pk=post.pk).update(title="裏で変えた題名")  # no signal: the cache keeps the old page
    assert "管理者も見る記事" in client.get(post.get_absolute_url()).content.decode()
    assert "裏で変えた題名" in admin_client.get(post.get_absolute_url()).content.decode()


def test_nothing_is_cached_when_turned_off(client, settings):
    settings.KIJI_PAGE_CACHE_SECONDS = 0
    post = make_post()
    client.get(post.get_absolute_url())

    with CaptureQueriesContext(connection) as queries:
        client.get(post.get_absolute_url())
    assert any("posts_post" in query["sql"] for query in queries)
