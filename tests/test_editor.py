"""The writing desk around the post body: its markup on the post form, the ASCII slug it
suggests for a Japanese title (who may ask, and what it avoids), and what a changed
slug leaves behind. The desk's behaviour in a browser is tests/e2e/test_editor.py."""

import pytest

from posts.models import Post, Redirect
from posts.slugs import SUGGESTED_SLUG_LENGTH, romanize, suggest_slug
from tests.conftest import logged_in, make_post, member, opened_form, scripts, start_tags

pytestmark = pytest.mark.django_db

SUGGEST = "/admin/posts/post/suggest-slug/"
EDITOR_SCRIPTS = ["editor.js", "editor-media.js", "editor-preview.js", "editor-seo.js"]


def suggested(client, title, **params):
    response = client.get(SUGGEST, {"title": title, **params})
    assert response.status_code == 200, response.content
    return response.json()["slug"]


# The suggested slug


def test_a_japanese_title_gets_an_ascii_slug_in_romaji(admin_client):
    assert suggested(admin_client, "ローカルLLMの使い方") == "rookaru-llm-tsukaikata"
    assert suggested(admin_client, "東京で食べたラーメン") == "toukyou-tabeta-raamen"


def test_latin_words_and_digits_are_kept_and_full_width_ones_narrowed(admin_client):
    assert suggested(admin_client, "ChatGPTの新機能まとめ 2025") == "chatgpt-shinkinou-matome-2025"
    assert suggested(admin_client, "ＧＰＵ比較") == "gpu-hikaku"


def test_a_small_tsu_at_the_end_of_a_chunk_doubles_the_next_consonant():
    assert romanize("買った") == ["katta"]


def test_a_title_without_letters_or_digits_gets_post(admin_client):
    assert suggested(admin_client, "！？") == "post"
    assert suggested(admin_client, "") == "post"


def test_a_long_title_is_cut_at_a_hyphen():
    slug = suggest_slug("ローカルLLM入門：量子化モデルを自宅のGPUで動かす手順と、よくある疑問への答えをまとめました")
    assert len(slug) <= SUGGESTED_SLUG_LENGTH
    assert not slug.endswith("-") and slug.startswith("rookaru-llm-nyuumon-")


def test_the_suggestion_avoids_other_posts_slugs_and_old_addresses(admin_client):
    make_post(title="先の記事", slug="rookaru-llm-tsukaikata")
    assert suggested(admin_client, "ローカルLLMの使い方") == "rookaru-llm-tsukaikata-2"

    moved = make_post(title="移った記事", slug="rookaru-llm-tsukaikata-2")
    moved.slug = "moved-elsewhere"
    moved.save()  # /posts/rookaru-llm-tsukaikata-2/ now sends readers to it
    assert suggested(admin_client, "ローカルLLMの使い方") == "rookaru-llm-tsukaikata-3"


def test_the_post_being_edited_may_keep_its_own_slug(admin_client):
    post = make_post(title="ローカルLLMの使い方", slug="rookaru-llm-tsukaikata")
    assert suggested(admin_client, post.title, post=post.pk) == "rookaru-llm-tsukaikata"
    assert suggested(admin_client, post.title) == "rookaru-llm-tsukaikata-2"


def test_a_post_that_is_not_an_id_is_refused_with_a_message(admin_client):
    response = admin_client.get(SUGGEST, {"title": "題名", "post": "1 OR 1=1"})
    assert response.status_code == 400
    assert "post" in response.json()["error"]


def test_a_writer_may_ask_for_a_slug():
    writer = logged_in(member("Writer", "writer"))
    assert suggested(writer, "新しい記事") == "atarashii-kiji"


def test_staff_without_post_permissions_and_strangers_get_no_slug(staff_client, client):
    assert staff_client.get(SUGGEST, {"title": "題名"}).status_code == 403
    response = client.get(SUGGEST, {"title": "題名"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_suggestion_is_only_read(admin_client):
    assert admin_client.post(SUGGEST, {"title": "題名"}).status_code == 405


# The desk's markup


def desk(html):
    """{class of each element of the desk: its attributes} and the commands of its toolbar."""
    tags = start_tags(html)
    commands = [attrs["data-command"] for tag, attrs in tags if tag == "button" and "data-command" in attrs]
    classes = {}
    for _tag, attrs in tags:
        for name in (attrs.get("class") or "").split():
            classes.setdefault(name, attrs)
    return classes, commands


@pytest.mark.parametrize("which", ["add", "change"])
def test_the_post_form_carries_the_desk_and_its_scripts(admin_client, which):
    post = make_post(title="ローカルLLMの使い方", slug="local-llm")
    url = "/admin/posts/post/add/" if which == "add" else f"/admin/posts/post/{post.pk}/change/"
    html = admin_client.get(url).content.decode()
    classes, commands = desk(html)

    assert commands[:3] == ["bold", "italic", "link"]
    for command in ["heading2", "bullets", "numbers", "quote", "code", "codeblock", "table", "image", "box", "focus"]:
        assert command in commands
    buttons = [attrs for _tag, attrs in start_tags(html, "button") if "data-command" in attrs]
    keys = {attrs["data-command"]: attrs.get("aria-keyshortcuts") for attrs in buttons}
    assert keys["bold"] == "Control+B Meta+B" and keys["italic"] == "Control+I Meta+I"
    assert keys["link"] == "Control+K Meta+K"

    writer = classes["kiji-writer"]
    assert writer["data-preview-url"] == url.replace("add/", "preview-changes/").replace("change/", "preview-changes/")
    assert writer["data-upload-url"] == "/admin/posts/post/upload-image/"
    # Two frames take turns, so that an update never shows a blank pane.
    frames = [attrs["class"] for _tag, attrs in start_tags(html, "iframe")]
    assert frames == ["kiji-preview__frame", "kiji-preview__frame"]
    assert classes["kiji-url"]["data-suggest-url"] == SUGGEST
    assert classes["kiji-url"]["data-saved-slug"] == ("" if which == "add" else "local-llm")
    assert {"kiji-alt", "kiji-seo", "kiji-serp", "kiji-share", "kiji-shortcuts"} <= classes.keys()
    assert classes["kiji-count"]["data-limit"] == "32"

    sources = [attrs.get("src", "") for attrs, _text in scripts(html)]
    ours = [name for name in EDITOR_SCRIPTS if any(source.endswith(f"/kiji/{name}") for source in sources)]
    assert ours == EDITOR_SCRIPTS
    assert all(attrs.get("src") or attrs.get("type") == "application/ld+json" for attrs, _text in scripts(html))


def test_a_published_posts_desk_says_that_its_address_is_live(admin_client):
    def address(post):
        return desk(admin_client.get(f"/admin/posts/post/{post.pk}/change/").content.decode())[0]["kiji-url"]

    assert address(make_post(slug="live"))["data-live"] == "true"
    assert address(make_post(slug="draft", status=Post.Status.DRAFT))["data-live"] == ""


def test_the_preview_the_desk_loads_is_the_public_template_with_the_unsaved_text(admin_client):
    post = make_post(title="保存済みの題名", slug="saved")
    url = f"/admin/posts/post/{post.pk}/change/"
    form = opened_form(admin_client, url, title="まだ保存していない題名", body="## 見出し\n\n未保存の本文。\n")

    response = admin_client.post(f"/admin/posts/post/{post.pk}/preview-changes/", form)

    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 class="post__title">まだ保存していない題名</h1>' in html and "未保存の本文。" in html
    assert ("link", {"rel": "stylesheet", "href": "/static/css/kiji.css"}) in start_tags(html, "link")
    assert Post.objects.get(pk=post.pk).title == "保存済みの題名"


# A changed slug


def test_changing_a_published_posts_slug_keeps_its_old_address_working(admin_client, client):
    post = make_post(title="ローカルLLMの使い方", slug="ローカルllmの使い方")
    old = post.get_absolute_url()
    url = f"/admin/posts/post/{post.pk}/change/"

    response = admin_client.post(url, opened_form(admin_client, url, slug="rookaru-llm-tsukaikata"))

    assert response.status_code == 302
    assert Redirect.objects.filter(new_path="/posts/rookaru-llm-tsukaikata/").exists()
    moved = client.get(old)
    assert moved.status_code == 301 and moved["Location"] == "/posts/rookaru-llm-tsukaikata/"
    assert client.get("/posts/rookaru-llm-tsukaikata/").status_code == 200
