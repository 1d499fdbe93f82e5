"""The weekly digest: a week of posts gives a draft with every one of them, grouped by
category, and every run is recorded."""

from datetime import timedelta

import pytest
from django.utils import timezone

from posts.models import DigestRun, Post
from tests.conftest import make_post, run_command

pytestmark = pytest.mark.django_db


def week_of_posts():
    now = timezone.now()
    posts = [
        make_post(title=f"今週の記事 {day}", categories=["AI Guide" if day % 2 else "ニュース"], description=f"要約 {day}",
                  published_at=now - timedelta(days=day, hours=1))
        for day in range(7)
    ]  # fmt: skip
    posts.append(make_post(title="分類のない記事", published_at=now - timedelta(hours=5)))
    make_post(title="先週より前の記事", published_at=now - timedelta(days=8))
    make_post(title="下書きの記事", status=Post.Status.DRAFT, published_at=now - timedelta(days=1))
    make_post(title="予約された記事", published_at=now + timedelta(days=1))
    return posts


def test_a_week_of_posts_gives_a_draft_with_every_one_of_them():
    posts = week_of_posts()
    output = run_command("weekly_digest")
    run = DigestRun.objects.get()
    digest = run.post
    assert run.status == "drafted" and run.post_count == len(posts) and "8 posts" in output
    assert digest.status == Post.Status.DRAFT and digest.author.username == "kiji-digest"
    for post in posts:
        assert f"[{post.title}]({post.get_absolute_url()})" in digest.body
    for absent in ("先週より前の記事", "下書きの記事", "予約された記事"):
        assert absent not in digest.body
    sections = [line for line in digest.body.splitlines() if line.startswith("## ")]
    assert sections[:2] == ["## AI Guide", "## ニュース"] and len(sections) == 3
    ai = digest.body.split("## AI Guide")[1].split("## ")[0]
    assert "今週の記事 1" in ai and "今週の記事 2" not in ai and "要約 1" in ai


def test_a_second_run_in_the_same_week_is_recorded_and_skipped():
    week_of_posts()
    run_command("weekly_digest")
    assert "skipped" in run_command("weekly_digest")
    assert list(DigestRun.objects.order_by("started_at").values_list("status", flat=True)) == ["drafted", "skipped"]
    assert Post.objects.filter(author__username="kiji-digest").count() == 1
    run_command("weekly_digest", "--force")
    forced = DigestRun.objects.order_by("-started_at", "-id").first()
    assert forced.status == "drafted" and forced.post.slug.endswith("-2")
    assert forced.post.title not in forced.post.body  # earlier digests are not listed


def test_an_empty_week_is_recorded_too():
    output = run_command("weekly_digest")
    assert "skipped: No posts" in output or "skipped:" in output
    assert DigestRun.objects.get().status == "skipped"


def test_the_digest_can_be_published_by_setting(settings):
    settings.KIJI_DIGEST_PUBLISH = True
    week_of_posts()
    run_command("weekly_digest")
    digest = DigestRun.objects.get().post
    assert digest.status == Post.Status.PUBLISHED and digest.is_published


def test_the_digest_task_runs_on_the_queue():
    week_of_posts()
    assert "queued" in run_command("weekly_digest", "--queue")  # the immediate backend in tests
    assert DigestRun.objects.get().status == "drafted"
