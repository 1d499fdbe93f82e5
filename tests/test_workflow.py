"""Writers, editors and admins in the admin: who may write, edit, preview, publish,
schedule and unpublish which posts, and who may change terms and settings
(docs/roles.md has the table)."""

import re
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from posts.models import AffiliateSettings, Category, Post, SiteSettings, Tag
from tests.conftest import (
    article_body,
    form_data,
    image_bytes,
    logged_in,
    make_post,
    member,
    opened_form,
    start_tags,
)

pytestmark = pytest.mark.django_db

LIST = "/admin/posts/post/"
ADD = "/admin/posts/post/add/"


def change_url(post):
    return f"/admin/posts/post/{post.pk}/change/"


def preview_url(post):
    return f"/admin/posts/post/{post.pk}/preview/"


def split_time(moment):
    """The admin's two inputs for a date and time."""
    local = timezone.localtime(moment)
    return {"published_at_0": local.strftime("%Y-%m-%d"), "published_at_1": local.strftime("%H:%M:%S")}


def status_choices(html):
    [select] = re.findall(r'<select name="status".*?</select>', html, re.S)
    return re.findall(r'<option value="([^"]*)"', select)


def action_choices(html):
    [select] = re.findall(r'<select name="action".*?</select>', html, re.S)
    return [value for value in re.findall(r'<option value="([^"]*)"', select) if value]


def run_action(client, action, *posts):
    return client.post(LIST, {"action": action, "_selected_action": [post.pk for post in posts], "index": "0"})


def listed_titles(html):
    """The post titles in the admin's post list."""
    return re.findall(r'<t[hd] class="field-title"><a href="[^"]*">([^<]*)</a></t[hd]>', html)


def error_text(html, field):
    """The errors the admin shows on `field`'s row."""
    match = re.search(rf'<div class="form-row[^"]*\bfield-{field}\b.*?(?=<div class="form-row|</fieldset>)', html, re.S)
    assert match, f"no form row for {field}"
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', match.group(0), re.S))


@pytest.fixture
def writer():
    return member("Writer", "writer", first_name="書子", last_name="山田")


@pytest.fixture
def other_writer():
    return member("Writer", "other-writer")


@pytest.fixture
def editor():
    return member("Editor", "editor", first_name="花子", last_name="編集")


def new_post(author, **overrides):
    return make_post(author=author, **{"status": Post.Status.DRAFT, **overrides})


# Writers


def test_a_writer_may_choose_only_draft_or_in_review(writer):
    html = logged_in(writer).get(ADD).content.decode()
    assert status_choices(html) == ["draft", "review"]


def test_a_writer_adds_a_draft_that_is_theirs_whoever_the_form_names(writer, editor):
    client = logged_in(writer)

    response = client.post(
        ADD, opened_form(client, ADD, title="書き始めた記事", slug="started", body="## 本文\n\n書きかけ。\n", author=editor.pk)
    )

    assert response.status_code == 302, response.content.decode()
    post = Post.objects.get(slug="started")
    assert (post.status, post.author, post.updated_by) == (Post.Status.DRAFT, writer, writer)


def test_a_writer_who_posts_published_gets_an_error_on_the_status_that_says_what_to_do(writer):
    client = logged_in(writer)

    response = client.post(ADD, opened_form(client, ADD, title="勝手に公開", slug="self-published", status="published"))

    assert response.status_code == 200
    errors = error_text(response.content.decode(), "status")
    assert errors, "no error on the status field"
    # The refusal says who publishes and what the writer can do instead.
    assert "editor" in errors.lower() or "編集者" in errors, errors
    assert not Post.objects.exists()


def test_a_writer_edits_their_own_drafts_and_posts_in_review(writer):
    client = logged_in(writer)
    for status in [Post.Status.DRAFT, Post.Status.REVIEW]:
        post = new_post(writer, status=status)

        response = client.post(change_url(post), opened_form(client, change_url(post), title=f"直した {status}"))

        assert response.status_code == 302, response.content.decode()
        post.refresh_from_db()
        assert (post.title, post.status) == (f"直した {status}", status)


def test_a_writer_cannot_open_edit_or_delete_another_writers_post(writer, other_writer):
    post = new_post(other_writer, title="他の人の下書き")
    client = logged_in(writer)

    for url in [change_url(post), f"/admin/posts/post/{post.pk}/delete/"]:
        response = client.get(url)
        assert response.status_code in (403, 302), url
        assert "他の人の下書き" not in response.content.decode()
        if response.status_code == 302:  # the admin's "no such post", as for a deleted one
            assert not response["Location"].startswith(change_url(post))
    client.post(change_url(post), {"title": "書き換えた", "slug": post.slug, "body": "", "status": "draft"})
    client.post(f"/admin/posts/post/{post.pk}/delete/", {"post": "yes"})

    post.refresh_from_db()
    assert post.title == "他の人の下書き"


def test_a_url_to_another_writers_post_answers_403(writer, other_writer):
    """docs/roles.md: "a URL to someone else's post answers 403"."""
    post = new_post(other_writer)
    client = logged_in(writer)
    assert client.get(change_url(post)).status_code == 403
    assert client.get(f"/admin/posts/post/{post.pk}/delete/").status_code == 403


def test_a_writer_cannot_edit_their_post_once_it_is_published(writer):
    post = make_post(author=writer, title="公開済みの記事")
    client = logged_in(writer)

    html = client.get(change_url(post)).content.decode()
    assert 'name="_save"' not in html
    assert 'name="body"' not in html
    data = {**form_data(html), "title": "公開後に書き換えた", "body": "書き換えた本文", "_save": "保存"}
    assert client.post(change_url(post), data).status_code == 403

    post.refresh_from_db()
    assert post.title == "公開済みの記事"


def test_a_writer_sees_only_their_own_posts_in_the_list(writer, other_writer):
    new_post(writer, title="自分の記事")
    new_post(other_writer, title="他の人の記事")
    make_post(title="編集部の記事")

    html = logged_in(writer).get(LIST).content.decode()

    assert listed_titles(html) == ["自分の記事"]


def test_a_writer_previews_their_own_post_but_not_another_writers(writer, other_writer):
    mine = new_post(writer, title="自分の下書き")
    theirs = new_post(other_writer, title="他の人の下書き")
    client = logged_in(writer)

    assert "自分の下書き" in client.get(preview_url(mine)).content.decode()
    response = client.get(preview_url(theirs))
    assert response.status_code == 403
    assert "他の人の下書き" not in response.content.decode()
    response = client.post(f"/admin/posts/post/{theirs.pk}/preview-changes/", {"title": "覗き見", "body": ""})
    assert response.status_code == 403


def test_a_writer_is_not_offered_publish_or_unpublish(writer):
    new_post(writer)
    html = logged_in(writer).get(LIST).content.decode()
    assert set(action_choices(html)) == {"delete_selected", "submit_for_review"}


@pytest.mark.parametrize("action", ["publish_now", "unpublish"])
def test_a_writer_posting_publish_or_unpublish_anyway_changes_nothing(action, writer):
    draft = new_post(writer, status=Post.Status.REVIEW)
    live = make_post(author=writer)

    run_action(logged_in(writer), action, draft, live)

    assert Post.objects.get(pk=draft.pk).status == Post.Status.REVIEW
    assert Post.objects.get(pk=live.pk).status == Post.Status.PUBLISHED


def test_a_writer_submits_their_drafts_for_review(writer, other_writer):
    mine = new_post(writer)
    theirs = new_post(other_writer)

    response = run_action(logged_in(writer), "submit_for_review", mine, theirs)

    assert response.status_code == 302
    assert Post.objects.get(pk=mine.pk).status == Post.Status.REVIEW
    assert Post.objects.get(pk=theirs.pk).status == Post.Status.DRAFT


def test_a_writer_uploads_images_and_anonymous_users_are_sent_to_log_in(writer, client, media_root):
    def upload(who):
        image = SimpleUploadedFile("図.png", image_bytes("PNG"), content_type="image/png")
        return who.post("/admin/posts/post/upload-image/", {"image": image}, HTTP_X_REQUESTED_WITH="XMLHttpRequest")

    response = upload(logged_in(writer))
    assert response.status_code == 200
    assert re.fullmatch(r"!\[\]\(/media/uploads/\S+\.png\)", response.json()["image_code"])

    response = upload(client)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# Editors


def test_an_editor_sees_every_post_and_edits_a_writers(editor, writer, other_writer):
    post = new_post(writer, title="書き手の記事", status=Post.Status.REVIEW)
    new_post(other_writer, title="別の書き手の記事")
    make_post(title="公開中の記事")
    client = logged_in(editor)

    assert sorted(listed_titles(client.get(LIST).content.decode())) == sorted(["書き手の記事", "別の書き手の記事", "公開中の記事"])
    response = client.post(change_url(post), opened_form(client, change_url(post), title="編集者が直した記事"))

    assert response.status_code == 302, response.content.decode()
    post.refresh_from_db()
    assert (post.title, post.author, post.updated_by) == ("編集者が直した記事", writer, editor)


def test_an_editor_publishes_a_post_now(editor, writer, client):
    post = new_post(writer, title="すぐ公開する記事", status=Post.Status.REVIEW, published_at=timezone.now() + timezone.timedelta(days=3))
    editors = logged_in(editor)
    assert set(action_choices(editors.get(LIST).content.decode())) == {"delete_selected", "submit_for_review", "publish_now", "unpublish"}

    response = run_action(editors, "publish_now", post)

    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.published_at <= timezone.now()
    assert client.get(f"/posts/{post.slug}/").status_code == 200
    assert "すぐ公開する記事" in client.get("/").content.decode()


def test_an_editor_schedules_a_post_that_appears_when_its_time_comes(editor, writer, client):
    post = new_post(writer, title="予約した記事", status=Post.Status.REVIEW)
    publish_at = (timezone.now() + timezone.timedelta(hours=2)).replace(microsecond=0)
    editors = logged_in(editor)

    response = editors.post(change_url(post), opened_form(editors, change_url(post), status="published", **split_time(publish_at)))

    assert response.status_code == 302, response.content.decode()
    post.refresh_from_db()
    assert (post.status, post.published_at) == (Post.Status.PUBLISHED, publish_at)
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    assert "予約した記事" not in client.get("/").content.decode()
    assert editors.get(preview_url(post)).status_code == 200
    assert "予約した記事" in listed_titles(editors.get(LIST, {"publication": "scheduled"}).content.decode())

    with mock.patch("django.utils.timezone.now", return_value=publish_at + timezone.timedelta(minutes=1)):
        assert client.get(f"/posts/{post.slug}/").status_code == 200
        assert "予約した記事" in client.get("/").content.decode()


def test_an_editor_unpublishes_a_post_and_its_page_is_gone(editor, client):
    post = make_post(title="取り下げる記事")
    assert client.get(f"/posts/{post.slug}/").status_code == 200

    run_action(logged_in(editor), "unpublish", post)

    assert Post.objects.get(pk=post.pk).status == Post.Status.UNPUBLISHED
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    assert "取り下げる記事" not in client.get("/").content.decode()


def test_an_editor_filters_the_list_by_status_and_by_author(editor, writer, other_writer):
    new_post(writer, title="査読待ちの記事", status=Post.Status.REVIEW)
    new_post(writer, title="書き手の下書き")
    new_post(other_writer, title="別の書き手の査読待ち", status=Post.Status.REVIEW)
    make_post(title="予約中の記事", published_at=timezone.now() + timezone.timedelta(days=1))
    make_post(title="公開中の記事")
    client = logged_in(editor)

    def titles(**query):
        return sorted(listed_titles(client.get(LIST, query).content.decode()))

    make_post(title="期限切れの記事", published_at=timezone.now() - timezone.timedelta(days=3), expires_at=timezone.now() - timezone.timedelta(days=1))

    assert titles(status="review") == sorted(["査読待ちの記事", "別の書き手の査読待ち"])
    assert titles(publication="scheduled") == ["予約中の記事"]
    assert titles(publication="live") == ["公開中の記事"]
    assert titles(publication="expired") == ["期限切れの記事"]
    html = client.get(LIST, {"publication": "expired"}).content.decode()
    assert '<span class="kiji-status kiji-status--expired">期限切れ</span>' in html
    assert titles(author__id__exact=writer.pk) == sorted(["査読待ちの記事", "書き手の下書き"])


# Admins: terms and settings


def term_and_settings_changes():
    """(URL, form) pairs that change a category, a tag, the site and the affiliate settings."""
    category = Category.objects.create(name="AIニュース", slug="ai-news")
    tag = Tag.objects.create(name="速報", slug="sokuho")
    SiteSettings.objects.get_or_create(pk=1)
    AffiliateSettings.objects.get_or_create(pk=1)
    return [
        ("/admin/posts/category/add/", {"name": "研究", "slug": "", "description": ""}),
        (f"/admin/posts/category/{category.pk}/change/", {"name": "AI News", "slug": "ai-news", "description": ""}),
        (f"/admin/posts/tag/{tag.pk}/change/", {"name": "ニュース速報", "slug": "sokuho", "description": ""}),
        (
            "/admin/posts/sitesettings/1/change/",
            {"title": "変えたサイト名", "tagline": "", "description": "", "author_name": "", "social_links": "",
             "adsense_client": "", "ad_slot_top": "", "ad_slot_bottom": ""},
        ),
        (
            "/admin/posts/affiliatesettings/1/change/",
            {"enabled": "on", "amazon_tag": "changed-22", "rakuten_id": "", "disclosure": "広告を含みます",
             "valuecommerce_sid": "", "valuecommerce_pid": "", "pr_notice": "広告を含みます", "pr_notice_scope": "auto",
             "associate_statement": "Amazonのアソシエイトとして、{site}は適格販売により収入を得ています。"},
        ),
    ]  # fmt: skip


def current_terms_and_settings():
    return (
        sorted(Category.objects.values_list("name", flat=True)),
        sorted(Tag.objects.values_list("name", flat=True)),
        SiteSettings.objects.get(pk=1).title,
        AffiliateSettings.objects.get(pk=1).amazon_tag,
    )


def test_an_admin_edits_categories_tags_and_the_site_and_affiliate_settings():
    client = logged_in(member("Admin", "admin-member"))

    for url, data in term_and_settings_changes():
        response = client.post(url, data)
        assert response.status_code == 302, f"{url}: {response.content.decode()}"

    assert current_terms_and_settings() == (["AI News", "研究"], ["ニュース速報"], "変えたサイト名", "changed-22")


@pytest.mark.parametrize("group", ["Writer", "Editor"])
def test_writers_and_editors_cannot_edit_terms_or_settings(group):
    client = logged_in(member(group, "member"))
    changes = term_and_settings_changes()
    before = current_terms_and_settings()

    for url, data in changes:
        assert client.post(url, data).status_code == 403, url
    for url in ["/admin/posts/category/add/", "/admin/posts/sitesettings/1/change/", "/admin/posts/affiliatesettings/1/change/"]:
        assert client.get(url).status_code == 403, url

    assert current_terms_and_settings() == before


# Preview of unsaved changes


def test_preview_changes_shows_the_forms_title_and_body_with_the_public_template_and_saves_nothing(editor):
    post = new_post(None, title="保存済みの題名", slug="saved", body="## 本文\n\n保存済みの本文。\n")
    client = logged_in(editor)
    data = opened_form(
        client, change_url(post), title="未保存の題名", body="## 本文\n\n未保存の本文に**強調**を足した。\n"
    )
    saved = Post.objects.values().get(pk=post.pk)

    response = client.post(f"/admin/posts/post/{post.pk}/preview-changes/", data)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 class="post__title">未保存の題名</h1>' in html
    assert "未保存の本文に<strong>強調</strong>を足した。" in article_body(html)
    assert "保存済みの本文" not in html
    assert any(attrs.get("name") == "robots" and "noindex" in attrs.get("content", "") for tag, attrs in start_tags(html, "meta"))
    assert Post.objects.values().get(pk=post.pk) == saved
