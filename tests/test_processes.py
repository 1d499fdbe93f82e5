"""More than one process and no Redis: a change made by any process (a shell, a cron
import) reaches every gunicorn worker's cached pages within a second, and a scheduled
post appears within a second of its time. Real processes, started here."""

import time

import pytest

from tests.servers import environment, get, gunicorn, manage, own_database

# The bound is the promise: a process trusts its page versions for 0.25 s.
WITHIN = 1.0
CREATE = """
from django.utils import timezone
from posts.models import Post
post = Post.objects.create(title="{title}", slug="{slug}", body="## 3行要約\\n\\n- 要点。\\n", status="published",
                           published_at=timezone.now() + timezone.timedelta(seconds={ahead}))
print(post.published_at.timestamp())
"""
RENAME = """
import time
from posts.models import Post
post = Post.objects.get(slug="{slug}")
post.title = "{title}"
post.save()
print(time.time())
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("processes")
    with own_database(tmp_path, "processes") as database_url:
        env = environment(database_url, tmp_path, PAGE_CACHE_SECONDS=3600, CACHE_VERSION_TRUST=0.25)
        manage(env, "migrate", "--noinput")
        manage(env, script=CREATE.format(title="最初の題名", slug="moving", ahead=-3600))
        with gunicorn(env, workers=3) as base:
            yield env, base


def until(condition, seconds=10):
    """Poll `condition` until it holds; the time it first held (every worker included:
    it must hold 30 times in a row, each request going to whichever worker is free)."""
    deadline, streak, first = time.monotonic() + seconds, 0, None
    while time.monotonic() < deadline:
        if condition():
            first = first or time.time()
            streak += 1
            if streak == 30:
                return first
        else:
            streak, first = 0, None
    raise AssertionError("never held")


def test_a_change_made_in_another_process_reaches_every_worker_within_a_second(site):
    env, base = site
    for _ in range(30):  # every worker has the page in its own cache
        assert "最初の題名" in get(f"{base}/posts/moving/")[1]

    committed_at = float(manage(env, script=RENAME.format(slug="moving", title="新しい題名")).split()[-1])
    seen_at = until(lambda: "新しい題名" in get(f"{base}/posts/moving/")[1])

    assert seen_at - committed_at < WITHIN, f"{seen_at - committed_at:.2f} s"
    assert "新しい題名" in get(f"{base}/")[1]


def test_a_scheduled_post_appears_within_a_second_of_its_time(site):
    env, base = site
    for _ in range(30):
        get(f"{base}/")
    due = float(manage(env, script=CREATE.format(title="予約の記事", slug="scheduled", ahead=6)).split()[-1])
    assert "予約の記事" not in get(f"{base}/")[1]

    seen_at = until(lambda: "予約の記事" in get(f"{base}/")[1])

    assert due <= seen_at < due + WITHIN, f"{seen_at - due:+.2f} s"
    assert get(f"{base}/posts/scheduled/")[0] == 200
