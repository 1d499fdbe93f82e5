"""Related posts are scored when content changes and stored; an article reads them.

Scores are the old site's Hugo settings: 100 a shared category, 80 a shared tag, 10 the
same year, at least 80 to count; the latest posts when nothing is related."""

import re

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from posts import terms
from posts.models import Category, Post, RelatedPost, Tag
from tests.conftest import make_post, run_command

pytestmark = pytest.mark.django_db

DAY = timezone.timedelta(days=1)


def related_titles(client, post):
    """The titles of the related cards on `post`'s page, in order."""
    html = client.get(post.get_absolute_url()).content.decode()
    section = html[html.index('<section class="related"') :]
    return re.findall(r'<h2 class="card__title"><a [^>]*>([^<]+)</a>', section)


def committed(change):
    """Run `change` and what its commit sets off (the related-posts task among it)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return change()


@pytest.fixture
def blog():
    """A post and others that share its terms more or less."""
    now = timezone.now()
    post = make_post(title="本人", categories=["GPU"], tags=["RTX", "VRAM"], published_at=now - 1 * DAY)
    make_post(title="カテゴリとタグ二つ", categories=["GPU"], tags=["RTX", "VRAM"], published_at=now - 5 * DAY)
    make_post(title="カテゴリだけ", categories=["GPU"], published_at=now - 2 * DAY)
    make_post(title="タグ一つ", tags=["RTX"], published_at=now - 3 * DAY)
    make_post(title="無関係", categories=["料理"], published_at=now - 4 * DAY)
    return post


def test_related_posts_are_stored_with_hugos_scores_and_shown_best_first(client, blog):
    assert related_titles(client, blog) == ["カテゴリとタグ二つ", "カテゴリだけ", "タグ一つ"]
    scores = dict(RelatedPost.objects.filter(post=blog).values_list("related__title", "score"))
    year = {title: 10 * (timezone.localtime(Post.objects.get(title=title).published_at).year == timezone.localtime(blog.published_at).year) for title in scores}
    assert scores == {
        "カテゴリとタグ二つ": 100 + 80 + 80 + year["カテゴリとタグ二つ"],
        "カテゴリだけ": 100 + year["カテゴリだけ"],
        "タグ一つ": 80 + year["タグ一つ"],
    }


def test_rendering_an_article_reads_its_related_posts_with_one_query_and_scores_nothing(admin_client, blog):
    admin_client.get(blog.get_absolute_url())  # staff get each page rendered now

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(blog.get_absolute_url())

    sql = [query["sql"] for query in queries.captured_queries]
    assert len([query for query in sql if "posts_relatedpost" in query]) == 1
    assert not [query for query in sql if "COUNT(" in query.upper() and "posts_post_tags" in query]


def test_a_new_post_that_shares_terms_joins_the_lists(client, blog):
    committed(lambda: make_post(title="新しい仲間", categories=["GPU"], tags=["RTX", "VRAM"], published_at=timezone.now() - DAY / 2))

    assert related_titles(client, blog)[:2] == ["新しい仲間", "カテゴリとタグ二つ"]  # a tie: the newer first


def test_unpublishing_a_post_takes_it_out_of_the_lists(client, blog):
    gone = Post.objects.get(title="カテゴリとタグ二つ")

    def unpublish():
        gone.status = Post.Status.UNPUBLISHED
        gone.save()

    committed(unpublish)

    assert related_titles(client, blog) == ["カテゴリだけ", "タグ一つ"]


def test_retagging_moves_a_post_in_the_lists(client, blog):
    post = Post.objects.get(title="無関係")
    committed(lambda: post.tags.set([Tag.objects.get(name="RTX"), Tag.objects.get(name="VRAM")]))

    assert related_titles(client, blog)[:2] == ["カテゴリとタグ二つ", "無関係"]


def test_merging_terms_rescores_the_posts_that_carry_them(client):
    post = make_post(title="本人", tags=["RTX4090"])
    make_post(title="表記違い", tags=["RTX 4090"])
    assert related_titles(client, post) == ["表記違い"]  # the latest, as nothing is related yet
    assert not RelatedPost.objects.filter(post=post).exists()

    committed(lambda: terms.merge(Tag.objects.get(name="RTX4090"), list(Tag.objects.all())))

    assert list(RelatedPost.objects.filter(post=post).values_list("related__title", flat=True)) == ["表記違い"]


def test_deleting_a_related_post_rescores_the_lists_it_was_in(client, blog):
    committed(lambda: Post.objects.get(title="カテゴリだけ").delete())

    assert related_titles(client, blog) == ["カテゴリとタグ二つ", "タグ一つ"]


def test_a_post_with_nothing_related_shows_the_latest_posts(client, blog):
    lonely = Post.objects.get(title="無関係")

    assert related_titles(client, lonely) == ["本人", "カテゴリだけ", "タグ一つ", "カテゴリとタグ二つ"]


def test_a_scheduled_post_is_stored_but_shown_only_from_its_time(client, blog):
    later = timezone.now() + DAY
    committed(lambda: make_post(title="予約した仲間", categories=["GPU"], tags=["RTX", "VRAM"], published_at=later))

    assert "予約した仲間" not in related_titles(client, blog)
    assert RelatedPost.objects.filter(post=blog, related__title="予約した仲間").exists()


def test_an_import_scores_every_post_it_brings_once_at_its_end(hugo_site, media_root, client):
    output = committed(lambda: run_command("import_hugo", hugo_site))

    assert "failed 0" in output
    post = Post.objects.get(slug="local-llm-gpu-guide")
    stored = list(RelatedPost.objects.filter(post=post).values_list("related__slug", flat=True))
    shares = set(Post.objects.filter(tags__in=post.tags.all()).exclude(pk=post.pk).values_list("slug", flat=True))
    shares |= set(Post.objects.filter(categories__in=post.categories.all()).exclude(pk=post.pk).values_list("slug", flat=True))
    assert stored and set(stored) <= shares


def test_refresh_related_scores_every_post_again(blog):
    RelatedPost.objects.all().delete()

    output = run_command("refresh_related")

    assert "lists changed" in output
    assert RelatedPost.objects.filter(post=blog).count() == 3
    assert Category.objects.get(name="GPU")
