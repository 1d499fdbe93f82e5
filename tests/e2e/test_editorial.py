"""Writing, reviewing and scheduling a post in a browser: a writer writes in the
markdownx editor (a table, a dragged-in image) and sends the post for review; an editor
previews it and schedules it; a reader sees it once its time has come. Also the
editor's autosave, and what a writer may not do.

The editor's form is kept as a screenshot at 1280 px in test-artifacts/screenshots/.
"""

import base64
import re

import pytest
from django.utils import timezone

from posts.models import Post
from tests.conftest import image_bytes, make_post, member

from .conftest import expect, log_in, screenshot

TITLE = "ローカルLLMに必要なVRAMの目安"
SLUG = "vram-guide"
BODY = """## 3行要約

- 7BならVRAM 6GBで動く。
- 13Bには10GBほど要る。

## 比較表

| モデル | 必要なVRAM |
|---|---|
| 7B | 6GB |
| 13B | 10GB |

"""
IMAGE_CODE = re.compile(r"!\[[^\]]*\]\(/media/[^)\s]+\)")

# Drops a PNG (given as base64) on the editor as a file dragged from the desktop would be.
DROP_PNG = """([selector, data]) => {
    const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "VRAMの表.png", { type: "image/png" }));
    const editor = document.querySelector(selector);
    editor.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}"""

IMAGE_LOADED = "image => image.complete && image.naturalWidth > 0"


@pytest.fixture
def people(editorial_groups):
    """A writer, another writer and an editor, each with the password "pw"."""
    return {
        "writer": member("Writer", "writer", first_name="書子"),
        "other": member("Writer", "other-writer"),
        "editor": member("Editor", "editor", first_name="花子"),
    }


def status_options(page):
    return page.locator("#id_status option").evaluate_all("options => options.map(o => o.value)")


def at_local(moment):
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


@pytest.mark.e2e
def test_a_post_goes_from_a_writers_draft_through_review_to_a_scheduled_publication(people, new_context):
    writer = new_context().new_page()
    log_in(writer, "writer")

    # The writer writes, with a table and a dragged-in image, and saves a draft.
    writer.goto("/admin/posts/post/add/")
    assert status_options(writer) == ["draft", "review"]
    writer.locator("#id_title").fill(TITLE)
    # Leaving the title fills the slug in from it (the admin's prepopulated field).
    writer.locator("#id_title").press("Tab")
    expect(writer.locator("#id_slug")).not_to_have_value("")
    writer.locator("#id_slug").fill(SLUG)
    expect(writer.locator("#id_slug")).to_have_value(SLUG)
    editor_box = writer.locator("#id_body")
    editor_box.click()
    editor_box.press_sequentially(BODY)
    # The live preview is the article page, in a frame (static/kiji/editor-preview.js).
    preview = writer.frame_locator(".kiji-preview__frame.is-current")
    expect(preview.locator(".post__body table td").filter(has_text="10GB")).to_be_visible()
    writer.evaluate(DROP_PNG, ["#id_body", base64.b64encode(image_bytes("PNG", (320, 200))).decode()])
    # The editor asks for the image's alternative text first, the file's name as the default.
    expect(writer.locator("#kiji-alt-text")).to_have_value("VRAMの表")
    writer.locator(".kiji-alt button[value=insert]").click()
    expect(editor_box).to_have_value(IMAGE_CODE)
    assert editor_box.input_value().startswith(BODY)
    dropped = preview.locator('.post__body img[src^="/media/"]')
    expect(dropped).to_be_visible()
    dropped.evaluate("image => image.decode()")  # a handle cannot leave its frame for wait_for_function
    assert dropped.evaluate(IMAGE_LOADED)
    screenshot(writer, "editor", widths=(1280,))
    writer.locator('[name="_continue"]').click()

    expect(writer.locator(".messagelist .success")).to_be_visible()
    post = Post.objects.get(slug=SLUG)
    assert (post.status, post.author) == (Post.Status.DRAFT, people["writer"])
    assert IMAGE_CODE.search(post.body) and "<table>" in post.body_html

    # It goes to review; "Published" is never offered to a writer.
    assert status_options(writer) == ["draft", "review"]
    writer.locator("#id_status").select_option("review")
    writer.locator('[name="_save"]').click()
    expect(writer.locator(".messagelist .success")).to_be_visible()
    assert Post.objects.get(pk=post.pk).status == Post.Status.REVIEW

    # The editor previews it with the public template, then schedules it.
    editor_context = new_context()
    editor = editor_context.new_page()
    log_in(editor, "editor")
    editor.goto(f"/admin/posts/post/{post.pk}/change/")
    with editor_context.expect_page() as opened:
        editor.locator(".field-preview_link a").click()
    preview_page = opened.value
    preview_page.wait_for_load_state()
    expect(preview_page.locator(".preview-banner")).to_be_visible()
    expect(preview_page.locator("h1.post__title")).to_have_text(TITLE)
    expect(preview_page.locator(".post__body table td").filter(has_text="10GB")).to_be_visible()
    article_image = preview_page.locator('.post__body img[src^="/media/"]')
    expect(article_image).to_be_visible()
    assert article_image.evaluate(IMAGE_LOADED)

    publish_at = timezone.now() + timezone.timedelta(minutes=5)
    day, time = at_local(publish_at)
    editor.locator("#id_status").select_option("published")
    editor.locator("#id_published_at_0").fill(day)
    editor.locator("#id_published_at_1").fill(time)
    editor.locator('[name="_save"]').click()
    expect(editor.locator(".messagelist .success")).to_be_visible()
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.published_at > timezone.now()

    # A reader finds nothing until the time has come.
    reader = new_context().new_page()
    assert reader.goto(f"/posts/{SLUG}/").status == 404
    reader.goto("/")
    expect(reader.get_by_text(TITLE)).to_have_count(0)

    # The live server runs in another thread, where timezone.now cannot be mocked:
    # moving the publish time into the past stands in for waiting for it (test_article.py
    # and test_pagecache.py wait with a mocked clock).
    post.published_at = timezone.now() - timezone.timedelta(seconds=1)
    post.save()
    assert reader.goto(f"/posts/{SLUG}/").status == 200
    expect(reader.locator("h1.post__title")).to_have_text(TITLE)
    expect(reader.locator(".post__body table")).to_be_visible()
    reader.goto("/")
    expect(reader.locator("main .card").filter(has_text=TITLE)).to_be_visible()


@pytest.mark.e2e
def test_another_writers_post_answers_403_to_a_writer(people, new_context):
    theirs = make_post(title="他の人の下書き", status=Post.Status.DRAFT, author=people["other"])
    page = new_context().new_page()
    log_in(page, "writer")

    response = page.goto(f"/admin/posts/post/{theirs.pk}/change/")

    expect(page.locator("body")).not_to_contain_text("他の人の下書き")
    assert response.status == 403, f"{response.status} at {page.url}"


@pytest.mark.e2e
def test_text_typed_but_not_saved_is_offered_back_when_the_form_is_opened_again(people, new_context):
    post = make_post(title="書きかけの記事", status=Post.Status.DRAFT, author=people["writer"], body="最初の一文。")
    context = new_context()
    page = context.new_page()
    log_in(page, "writer")
    url = f"/admin/posts/post/{post.pk}/change/"
    page.goto(url)
    body = page.locator("#id_body")
    expect(body).to_have_value("最初の一文。")
    expect(page.locator(".kiji-autosave")).to_be_hidden()

    body.press("End")
    body.press_sequentially("\n\n保存する前に閉じた段落。")
    page.wait_for_function(
        "key => (localStorage.getItem(key) || '').includes('保存する前に閉じた段落。')", arg=f"kiji-autosave:{url}"
    )
    page.close()

    page = context.new_page()
    page.goto(url)
    notice = page.locator(".kiji-autosave")
    expect(notice).to_be_visible()
    body = page.locator("#id_body")
    expect(body).to_have_value("最初の一文。")
    notice.get_by_role("button", name=re.compile("Restore|復元")).click()

    expect(body).to_have_value("最初の一文。\n\n保存する前に閉じた段落。")
    expect(notice).to_be_hidden()
    expect(page.frame_locator(".kiji-preview__frame.is-current").locator(".post__body")).to_contain_text("保存する前に閉じた段落。")
    assert Post.objects.get(pk=post.pk).body == "最初の一文。"
