import re
from datetime import datetime
from unittest import mock
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone

from posts.models import Post
from tests.conftest import image_bytes, make_post, start_tags

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


def future(**delta):
    return timezone.now() + timezone.timedelta(**delta)


def cards(html):
    return html.count('<article class="card">')


def test_a_published_post_shows_its_title_description_date_and_reading_time(client):
    body = "## 3行要約\n\n- 要点。\n\n" + ("長い本文です。" * 30 + "\n\n") * 6  # some 1,270 CJK characters
    post = make_post(
        title="量子コンピュータの現在",
        description="量子コンピュータの今を三行で。",
        body=body,
        published_at=datetime(2024, 5, 6, 10, 30, tzinfo=TOKYO),
    )

    response = client.get("/posts/" + post.slug + "/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 class="post__title">量子コンピュータの現在</h1>' in html
    assert "量子コンピュータの今を三行で。" in html
    assert '<time datetime="2024-05-06T10:30:00+09:00">2024年5月6日</time>' in html
    assert re.search(r"<span>約3分", html), "reading time of some 1,270 CJK characters at 501 a minute"


def test_a_published_post_shows_its_cover_with_alt_text(client):
    post = make_post(cover_alt="量子チップの写真")
    post.cover.save("cover.png", ContentFile(image_bytes("PNG", (64, 48))))

    html = client.get(f"/posts/{post.slug}/").content.decode()

    figure = html[html.index('<figure class="post__cover">') : html.index("</figure>")]
    [img] = [attrs for tag, attrs in start_tags(figure, "img")]
    assert img["src"] == post.cover.url
    assert img["src"].startswith("/media/covers/") and img["src"].endswith(".png")
    assert img["alt"] == "量子チップの写真"
    assert (img["width"], img["height"]) == ("64", "48")


def test_a_published_post_links_its_categories_and_tags(client):
    post = make_post(categories=["AI News"], tags=["速報", "RTX 4090"])

    html = client.get(f"/posts/{post.slug}/").content.decode()

    links = {unquote(attrs["href"]) for tag, attrs in start_tags(html, "a")}
    assert {"/categories/ai-news/", "/tags/速報/", "/tags/rtx-4090/"} <= links
    assert "#速報</a>" in html and "#RTX 4090</a>" in html
    assert ">AI News</a>" in html
    for url in ["/categories/ai-news/", "/tags/速報/", "/tags/rtx-4090/"]:
        assert post.title in client.get(url).content.decode()


def test_a_draft_is_not_found_by_readers_or_staff_at_its_public_url(client, admin_client):
    post = make_post(status=Post.Status.DRAFT)
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    assert admin_client.get(f"/posts/{post.slug}/").status_code == 404


def test_drafts_and_scheduled_posts_never_appear_in_lists(client):
    make_post(title="未公開の下書き", status=Post.Status.DRAFT, tags=["速報"], categories=["AI News"])
    make_post(title="予約した記事", published_at=future(hours=2), tags=["速報"], categories=["AI News"])
    make_post(title="公開済みの記事", tags=["速報"], categories=["AI News"])
    for url in ["/", "/posts/", "/tags/速報/", "/categories/ai-news/"]:
        html = client.get(url).content.decode()
        assert "公開済みの記事" in html, url
        assert "未公開の下書き" not in html, url
        assert "予約した記事" not in html, url


def test_a_scheduled_post_is_not_found(client, admin_client):
    post = make_post(published_at=future(days=1))
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    assert admin_client.get(f"/posts/{post.slug}/").status_code == 404


def test_staff_preview_a_scheduled_post_with_noindex_and_no_caching(admin_client):
    post = make_post(title="来週公開の記事", published_at=future(days=7))

    response = admin_client.get(f"/admin/posts/post/{post.pk}/preview/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 class="post__title">来週公開の記事</h1>' in html
    assert any(
        attrs.get("name") == "robots" and "noindex" in attrs.get("content", "")
        for tag, attrs in start_tags(html, "meta")
    )
    assert "noindex" in response["X-Robots-Tag"]
    assert "no-store" in response["Cache-Control"] or "private" in response["Cache-Control"]


def test_an_editor_can_preview(client, django_user_model):
    editor = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    client.force_login(editor)
    post = make_post(title="来週公開の記事", published_at=future(days=7))

    response = client.get(f"/admin/posts/post/{post.pk}/preview/")

    assert response.status_code == 200
    assert "来週公開の記事" in response.content.decode()


def test_staff_preview_a_draft(admin_client):
    post = make_post(title="書きかけの記事", status=Post.Status.DRAFT)
    response = admin_client.get(f"/admin/posts/post/{post.pk}/preview/")
    assert response.status_code == 200
    assert "書きかけの記事" in response.content.decode()


def test_anonymous_readers_are_sent_to_the_login_page_from_a_preview(client):
    post = make_post(title="来週公開の記事", published_at=future(days=7))
    response = client.get(f"/admin/posts/post/{post.pk}/preview/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert "来週公開の記事" not in response.content.decode()


def test_staff_without_post_permissions_cannot_preview(staff_client):
    post = make_post(title="来週公開の記事", published_at=future(days=7))
    response = staff_client.get(f"/admin/posts/post/{post.pk}/preview/")
    assert response.status_code == 403
    assert "来週公開の記事" not in response.content.decode()


def test_a_scheduled_post_appears_once_its_time_passes_without_any_job_or_save(client):
    publish_at = future(hours=3)
    post = make_post(title="予約投稿", published_at=publish_at)
    updated_at = post.updated_at
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    assert "予約投稿" not in client.get("/").content.decode()

    with mock.patch("django.utils.timezone.now", return_value=publish_at + timezone.timedelta(minutes=1)):
        assert client.get(f"/posts/{post.slug}/").status_code == 200
        assert "予約投稿" in client.get("/").content.decode()
        assert "予約投稿" in client.get("/posts/").content.decode()

    assert Post.objects.get(pk=post.pk).updated_at == updated_at


def test_the_home_page_paginates_and_page_one_redirects_home(client, settings):
    now = timezone.now()
    for number in range(settings.KIJI_POSTS_PER_PAGE + 2):
        make_post(title=f"記事{number:02d}", published_at=now - timezone.timedelta(hours=number))

    home = client.get("/").content.decode()
    second = client.get("/page/2/")
    first = client.get("/page/1/")

    assert cards(home) == 10
    assert "記事00" in home and "記事11" not in home
    assert second.status_code == 200
    assert cards(second.content.decode()) == 2
    assert "記事10" in second.content.decode() and "記事11" in second.content.decode()
    assert 'href="/page/2/"' in home
    assert first.status_code == 301 and first["Location"] == "/"
    assert client.get("/page/3/").status_code == 404


def test_the_post_list_paginates_and_page_one_redirects(client):
    for number in range(11):
        make_post()
    assert cards(client.get("/posts/").content.decode()) == 10
    assert cards(client.get("/posts/page/2/").content.decode()) == 1
    first = client.get("/posts/page/1/")
    assert first.status_code == 301 and first["Location"] == "/posts/"


def test_an_unknown_post_is_a_friendly_404(client):
    response = client.get("/posts/no-such-post/")
    assert response.status_code == 404
    assert 'href="/"' in response.content.decode()
