"""Faults under load, for real: gunicorn (2 workers) on loopback with the page cache in
a private Redis, started here. Redis stopped for seconds, PostgreSQL connections cut,
the login flooded: readers get pages throughout and never a 5xx but Kiji's 503 with
Retry-After, caching comes back by itself, and the lockout holds. Each test is bounded
to a few seconds of traffic, all of it to loopback."""

import json
import os
import shutil
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.servers import Browser, Node, RedisServer, environment, manage, own_database

pytestmark = pytest.mark.faults

SETUP = """
from django.contrib.auth.models import User
from django.utils import timezone
from posts.models import Post
for n in range(3):
    Post.objects.create(title=f"障害に強い記事{n}", slug=f"sturdy-{n}", body="## 3行要約\\n\\n- 要点。\\n",
                        status="published", published_at=timezone.now() - timezone.timedelta(hours=n + 1))
User.objects.create_user("flooded", password="the-right-password-4711", is_staff=True)
"""
PAGES = ["/", "/posts/sturdy-0/", "/posts/sturdy-1/", "/posts/", "/index.xml"]
REDIS_DOWN_SECONDS = 3
CACHE_BACK_WITHIN = 10


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    tmp_path = tmp_path_factory.mktemp("faults-live")
    with own_database(tmp_path, "faults") as database_url:
        redis = RedisServer(tmp_path / "redis.log").start()
        try:
            # RECENT_PAGES=0: no pages kept in each process's memory in front of Redis, so
            # that every page while Redis is down is made from the database.
            env = environment(
                database_url,
                tmp_path,
                CACHE_URL=redis.url,
                PAGE_CACHE_SECONDS=300,
                CACHE_VERSION_TRUST=0.25,
                RECENT_PAGES=0,
                LOG_LEVEL="WARNING",
            )
            manage(env, "migrate", "--noinput")
            manage(env, script=SETUP)
            server = Node(env, tmp_path / "gunicorn.log", workers=2).start()
            try:
                yield server, redis, database_url
            finally:
                server.stop()
        finally:
            redis.stop()


class Readers(threading.Thread):
    """Readers' pages in a loop, one connection each, until stopped (at most `seconds`):
    (when it was asked, status, X-Kiji-Cache, Retry-After) of every answer, and errors apart."""

    def __init__(self, base, seconds=20):
        super().__init__(daemon=True)
        self.base, self.deadline = base, time.monotonic() + seconds
        self.answers, self.errors = [], []
        self.stopping = threading.Event()

    def run(self):
        count = 0
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            path = PAGES[count % len(PAGES)]
            count += 1
            asked = time.monotonic()
            try:
                answer = Browser(self.base).get(path, timeout=10)
                self.answers.append(
                    (asked, answer.status, answer.headers.get("X-Kiji-Cache"), answer.headers.get("Retry-After"))
                )
            except OSError as error:
                self.errors.append((path, repr(error)))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.join()

    def between(self, start, end=float("inf")):
        return [answer for answer in self.answers if start <= answer[0] < end]


def health(base):
    answer = Browser(base).get("/healthz")
    return answer.status, json.loads(answer.body)


def until(condition, seconds):
    """When `condition` first held (time.monotonic()), polling for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.1)
    return None


def test_readers_get_pages_while_redis_is_down_and_caching_resumes_when_it_is_back(site):
    server, redis, _database = site
    for _ in range(3):  # every page in the cache
        for path in PAGES:
            Browser(server.base).get(path)

    with Readers(server.base) as readers:
        time.sleep(1)
        assert any(cache == "HIT" for _at, _status, cache, _retry in readers.answers)
        redis.stop()
        stopped = time.monotonic()
        cache_down = until(lambda: health(server.base)[1]["cache"]["ok"] is False, REDIS_DOWN_SECONDS)
        health_while_down = health(server.base)
        time.sleep(max(0.0, stopped + REDIS_DOWN_SECONDS - time.monotonic()))
        redis.start()
        restarted = time.monotonic()
        hit_again = until(lambda: any(a[2] == "HIT" for a in readers.between(restarted)), CACHE_BACK_WITHIN)
        cache_up = until(lambda: health(server.base)[1]["cache"]["ok"] is True, CACHE_BACK_WITHIN)

    down = readers.between(stopped, restarted)
    statuses = Counter(status for _at, status, _cache, _retry in readers.answers)
    print(
        f"\nRedis down {restarted - stopped:.1f} s: {len(down)} pages meanwhile, answers {dict(statuses)}; "
        f"/healthz said so after {(cache_down or restarted) - stopped:.1f} s; a HIT again "
        f"{(hit_again or restarted) - restarted:.1f} s after the restart, /healthz ok after {(cache_up or restarted) - restarted:.1f} s"
    )
    assert not readers.errors, readers.errors[:5]
    assert set(statuses) == {200}, statuses
    assert len(down) >= 10, f"only {len(down)} pages in {REDIS_DOWN_SECONDS} s without Redis"
    assert {cache for _at, _status, cache, _retry in down} == {"MISS"}, "not every page made from the database"
    assert cache_down is not None, "/healthz never said the cache was down"
    assert health_while_down[0] == 200 and health_while_down[1]["database"]["ok"] is True, health_while_down
    assert hit_again is not None, f"no cached page within {CACHE_BACK_WITHIN} s of Redis coming back"
    assert cache_up is not None, f"/healthz did not say the cache was back within {CACHE_BACK_WITHIN} s"


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="cuts PostgreSQL connections: set DATABASE_URL to a PostgreSQL server (SQLite has none to cut)",
)
def test_readers_never_get_a_bare_5xx_when_postgresql_connections_are_cut(site):
    import psycopg

    server, _redis, database_url = site
    database = urlsplit(database_url).path.lstrip("/")
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    cut = []
    with Readers(server.base) as readers, psycopg.connect(admin, autocommit=True) as connection:
        time.sleep(0.5)
        for _ in range(4):
            rows = connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [database],
            ).fetchall()
            cut.append(len(rows))
            time.sleep(0.75)

    statuses = Counter(status for _at, status, _cache, _retry in readers.answers)
    unavailable = [answer for answer in readers.answers if answer[1] == 503]
    print(f"\nconnections cut {cut}; answers {dict(statuses)}; 503s {len(unavailable)}")
    assert sum(cut) >= 2, f"no gunicorn connection to cut: {cut}"
    assert not readers.errors, readers.errors[:5]
    assert set(statuses) <= {200, 503}, statuses
    assert all(retry == "5" for _at, _status, _cache, retry in unavailable), "a 503 without Retry-After"
    assert statuses[200] >= 20 and len(unavailable) <= statuses[200] // 20, statuses  # 503s are rare
    assert health(server.base)[0] == 200


@pytest.mark.skipif(
    "axes" not in settings.INSTALLED_APPS, reason="the login lockout (django-axes) is not installed yet"
)
def test_a_flood_of_wrong_passwords_is_locked_out_after_the_fifth_without_a_5xx(site):
    server, _redis, _database = site
    browser = Browser(server.base)
    browser.get("/admin/login/")

    statuses = [
        browser.post("/admin/login/", {"username": "flooded", "password": f"wrong-{n}"}).status for n in range(50)
    ]
    right = browser.post("/admin/login/", {"username": "flooded", "password": "the-right-password-4711"})
    print(
        f"\nlogin flood: {Counter(statuses)}, first lockout at try {next((n + 1 for n, s in enumerate(statuses) if s != 200), None)}; "
        f"the right password then: {right.status}"
    )

    assert not [status for status in statuses if status >= 500], statuses
    assert statuses[:4] == [200] * 4, statuses  # the form again, saying the password is wrong
    assert set(statuses[5:]) <= {403, 429}, statuses
    assert right.status in (403, 429) and "sessionid" not in right.headers.get("Set-Cookie", ""), (
        "signed in while locked"
    )
    assert health(server.base)[0] == 200
