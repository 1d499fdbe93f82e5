"""Article pages and cards are rendered when content changes and stored with the post:
the same page a live render gives, sent from one row, never once out of date."""

import re

import pytest
from django.core.files.base import ContentFile
from django.test import TestCase
from django.utils import timezone

from posts import pages
from posts.models import AffiliateBox, AffiliateSettings, Post, RenderBacklog
from tests.conftest import image_bytes, make_post, run_command

pytestmark = pytest.mark.django_db

BODY = """## 3行要約

- GPUの選び方を一枚で。
- 価格と性能の表つき。

## よくある質問

### Q1: 中古でもいいですか？

保証があれば十分です。
"""


def committed(change):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return change()


@pytest.fixture
def article(affiliate_settings):
    """A full article, with its page and card stored."""

    def build():
        older = make_post(title="前の記事", tags=["GPU"], published_at=timezone.now() - timezone.timedelta(days=3))
        post = make_post(
            title="GPUの選び方", body=BODY, categories=["ハードウェア"], tags=["GPU", "中古"],
            published_at=timezone.now() - timezone.timedelta(days=1),
        )
        make_post(title="次の記事", tags=["GPU"], published_at=timezone.now() - timezone.timedelta(minutes=5))
        post.affiliate_boxes.create(keyword="RTX 4060 Ti", product_name="RTX 4060 Ti 16GB", placement=AffiliateBox.Placement.SUMMARY)
        post.cover.save("cover.png", ContentFile(image_bytes("PNG", (1200, 675))))
        return post, older

    post, older = committed(build)
    post.refresh_from_db()
    return post


def normalised(html):
    """A page without what differs between two renders of it by nature (the year in the
    footer is the same; nothing else should differ)."""
    return re.sub(r"\s+", " ", html)


def test_a_stored_page_is_the_page_a_live_render_gives(client, admin_client, article):
    stored = client.get(article.get_absolute_url()).content.decode()
    live = admin_client.get(article.get_absolute_url()).content.decode()

    assert article.page_html and "GPUの選び方" in stored
    assert normalised(stored) == normalised(live)


def test_a_reader_gets_the_stored_page_from_one_row(client, article, django_assert_num_queries):
    client.get("/robots.txt")  # this process has read the page versions

    with django_assert_num_queries(1):
        response = client.get(article.get_absolute_url())

    assert '<aside class="affiliate' in response.content.decode()


def test_absolute_urls_in_a_stored_page_are_the_requests_own(client, article, settings):
    settings.ALLOWED_HOSTS = ["blog.example.jp"]
    html = client.get(article.get_absolute_url(), HTTP_HOST="blog.example.jp", secure=True).content.decode()

    assert pages.ORIGIN.split("://")[1] not in html and "kiji.invalid" not in html
    assert f'<link rel="canonical" href="https://blog.example.jp{article.get_absolute_url()}">' in html
    assert "https%3A%2F%2Fblog.example.jp%2Fposts%2F" in html  # the share links
    assert '"url":"https://blog.example.jp/posts/' in html  # the structured data


def test_a_change_not_yet_rendered_by_the_task_is_rendered_live_meanwhile(client, article):
    article.title = "書き直した題名"
    article.save()  # its commit has not run: the stored page is now out of date

    html = client.get(article.get_absolute_url()).content.decode()

    assert "書き直した題名" in html
    assert RenderBacklog.objects.filter(post_id=article.pk).exists()


def test_the_task_renders_the_pages_that_a_change_affects(client, article):
    neighbour = Post.objects.get(title="前の記事")
    unrelated = make_post(title="無関係な記事", published_at=timezone.now() - timezone.timedelta(days=30))
    assert "GPUの選び方" in Post.objects.get(pk=neighbour.pk).page_html
    untouched = Post.objects.get(pk=unrelated.pk).rendered

    post = Post.objects.get(pk=article.pk)
    post.title = "新しい題名"
    committed(post.save)

    assert "新しい題名" in Post.objects.get(pk=post.pk).page_html
    assert "新しい題名" in Post.objects.get(pk=post.pk).card_html
    assert "新しい題名" in Post.objects.get(pk=neighbour.pk).page_html  # its "next" link
    assert Post.objects.get(pk=unrelated.pk).rendered == untouched
    assert not RenderBacklog.objects.exists()


def test_new_affiliate_settings_re_render_every_page(client, article):
    def change():
        settings = AffiliateSettings.load()
        settings.amazon_tag = "newtag-22"
        settings.save()

    assert "tag=negi3939-22" in Post.objects.get(pk=article.pk).page_html
    committed(change)

    assert "tag=newtag-22" in Post.objects.get(pk=article.pk).page_html
    assert "tag=newtag-22" in client.get(article.get_absolute_url()).content.decode()


def test_lists_show_the_stored_cards_from_one_query(client, article, django_assert_num_queries):
    client.get("/")  # counted once, until a change to the list
    card = Post.objects.get(pk=article.pk).card_html

    with django_assert_num_queries(1):
        html = client.get("/").content.decode()

    assert card and card in html


def test_a_draft_keeps_no_stored_page(article):
    def unpublish():
        post = Post.objects.get(pk=article.pk)
        post.status = Post.Status.DRAFT
        post.save()

    committed(unpublish)

    post = Post.objects.get(pk=article.pk)
    assert (post.page_html, post.card_html, post.rendered) == ("", "", {})


def test_render_pages_renders_every_stored_page_again(article):
    Post.objects.update(page_html="", card_html="", rendered={})

    output = run_command("render_pages")

    assert "Rendered 3 pages." in output
    assert all(post.page_html for post in Post.objects.all())


def test_pages_a_failed_render_could_not_store_stay_in_the_backlog_for_the_next_run(monkeypatch, client):
    posts = [make_post(title=f"記事{number}") for number in range(4)]
    Post.objects.update(page_html="", card_html="", rendered={})
    RenderBacklog.objects.all().delete()
    RenderBacklog.objects.create(post_id=pages.EVERY_POST)
    store, calls = pages.store, []

    def failing_store(post):
        calls.append(post.pk)
        if len(calls) == 3:
            raise RuntimeError("a template broken by an upgrade half done")
        store(post)

    monkeypatch.setattr(pages, "store", failing_store)
    with pytest.raises(RuntimeError):
        run_command("render_pages")
    left = set(RenderBacklog.objects.values_list("post_id", flat=True))
    assert {post.pk for post in posts[2:]} <= left
    # Meanwhile readers get those pages rendered live.
    assert client.get(posts[3].get_absolute_url()).status_code == 200

    monkeypatch.setattr(pages, "store", store)
    run_command("render_pages")
    assert not RenderBacklog.objects.exists()
    assert all(Post.objects.filter(pk__in=[post.pk for post in posts]).values_list("page_html", flat=True))
