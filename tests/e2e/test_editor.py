"""The writing desk in Chromium: the toolbar and its shortcuts, a Tab key that lets
focus go, the alt text asked for a dropped image, the live preview that is the
published page, the address and the search and share previews, focus mode; and the
screenshots docs/editor.md shows (docs/screenshots/editor-desktop.png, -phone.png)."""

import base64
import os
import re
from pathlib import Path

import pytest

from posts.models import MediaImage, Post
from tests.conftest import image_bytes, make_post, member

from .conftest import SCREENSHOTS, expect, log_in

# The pictures go to test-artifacts/, and to docs/ only when asked
# (KIJI_DOCS_SCREENSHOTS=1), so that a test run never changes the tree.
DOCS_SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots" if os.environ.get("KIJI_DOCS_SCREENSHOTS") else SCREENSHOTS
)
ARTICLE = "/posts/local-llm-quantization/"
ADD = "/admin/posts/post/add/"

# Drops a PNG (given as base64) on `selector`, as a file dragged from the desktop would be.
DROP_PNG = """([selector, name, data]) => {
    const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, { type: "image/png" }));
    document.querySelector(selector).dispatchEvent(
        new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}"""
# The same file, pasted.
PASTE_PNG = DROP_PNG.replace('new DragEvent("drop", { dataTransfer', 'new ClipboardEvent("paste", { clipboardData')
# What the published page and the preview are compared on.
RENDERED = """() => ({
    article: document.querySelector("article.post").innerText,
    font: getComputedStyle(document.body).fontFamily,
    titleSize: getComputedStyle(document.querySelector(".post__title")).fontSize,
    width: document.documentElement.clientWidth,
})"""
CURRENT_FRAME = ".kiji-preview__frame.is-current"
SCROLL_TO_TITLE = "scrollTo(0, document.querySelector('.field-title').getBoundingClientRect().top + scrollY - 12)"


@pytest.fixture
def writer(editorial_groups, new_context):
    """A writer's page on a new post's form (see desk_page)."""
    member("Writer", "writer")
    return desk_page(new_context(), "writer", ADD)


@pytest.fixture
def editor(editorial_groups, new_context):
    """Opens a post form as an editor, who may change any post (see desk_page)."""
    member("Editor", "editor")

    def open_form(url, **viewport):
        return desk_page(new_context(), "editor", url, **viewport)

    return open_form


def desk_page(context, username, url, width=1280, height=900):
    """`url` opened by `username` in `context`; `page.refused` collects what the
    Content-Security-Policy refuses, in the admin and in the preview's frame."""
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.refused = []
    page.on("console", lambda message: "Content Security Policy" in message.text and page.refused.append(message.text))
    log_in(page, username)
    page.goto(url)
    expect(page.locator(".kiji-writer")).to_be_visible()
    return page


def body(page):
    return page.locator("#id_body")


def frame(page):
    return page.frame_locator(CURRENT_FRAME)


def write(page, text, select=None):
    """Put `text` in the body and select `select` of it (a substring), or put the caret at the end."""
    field = body(page)
    field.fill(text)
    start, end = (text.index(select), text.index(select) + len(select)) if select else (len(text), len(text))
    field.evaluate("(field, [start, end]) => { field.focus(); field.setSelectionRange(start, end); }", [start, end])


def tool(page, command):
    """A toolbar button, by its command (its label is translated)."""
    return page.locator(f'.kiji-toolbar [data-command="{command}"]')


def focused_id(page):
    return page.evaluate("document.activeElement.id")


@pytest.mark.e2e
def test_the_toolbar_and_the_shortcuts_format_the_selection(writer):
    page = writer
    write(page, "量子化は重要です。", select="重要")
    body(page).press("Control+b")
    expect(body(page)).to_have_value("量子化は**重要**です。")
    body(page).press("Control+b")
    expect(body(page)).to_have_value("量子化は重要です。")
    body(page).press("Control+i")
    expect(body(page)).to_have_value("量子化は*重要*です。")
    body(page).press("Control+z")
    expect(body(page)).to_have_value("量子化は重要です。")

    write(page, "公式サイト", select="公式サイト")
    body(page).press("Control+k")
    expect(body(page)).to_have_value("[公式サイト](https://)")
    assert body(page).evaluate("field => field.value.slice(field.selectionStart, field.selectionEnd)") == "https://"

    write(page, "まとめ")
    tool(page, "heading2").click()
    expect(body(page)).to_have_value("## まとめ")

    write(page, "一つ目\n二つ目", select="一つ目\n二つ目")
    tool(page, "bullets").click()
    expect(body(page)).to_have_value("- 一つ目\n- 二つ目")
    tool(page, "numbers").click()
    expect(body(page)).to_have_value("1. 一つ目\n2. 二つ目")

    write(page, "引用文", select="引用文")
    tool(page, "quote").click()
    expect(body(page)).to_have_value("> 引用文")

    write(page, "print('hi')", select="print('hi')")
    tool(page, "codeblock").click()
    expect(body(page)).to_have_value("```\nprint('hi')\n```\n\n")

    write(page, "")
    tool(page, "table").click()
    expect(body(page)).to_have_value(re.compile(r"^\| .+ 1 \| .+ 2 \|\n\| --- \| --- \|\n"))

    # The affiliate box goes through the "Insert box" control, which knows the products.
    write(page, "おすすめはこちら。")
    tool(page, "box").click()
    expect(page.locator("#kiji-box-key")).to_be_focused()
    page.locator("#kiji-box-key").fill("RTX 4060 Ti")
    page.locator("#kiji-box-insert").click()
    expect(body(page)).to_have_value('おすすめはこちら。\n\n{{< affiliate "RTX 4060 Ti" >}}\n\n')

    # The arrow keys move along the toolbar, which is one stop for Tab.
    tool(page, "bold").focus()
    page.keyboard.press("ArrowRight")
    expect(tool(page, "italic")).to_be_focused()
    assert page.refused == []


@pytest.mark.e2e
def test_tab_indents_in_lists_and_code_and_esc_then_tab_leaves_the_body(writer):
    page = writer
    write(page, "- 一つ目\n- 二つ目")
    body(page).press("Tab")
    expect(body(page)).to_have_value("- 一つ目\n  - 二つ目")
    assert focused_id(page) == "id_body"
    body(page).press("Shift+Tab")
    expect(body(page)).to_have_value("- 一つ目\n- 二つ目")

    write(page, "```python\nif ok:\n")
    body(page).press("Tab")
    expect(body(page)).to_have_value("```python\nif ok:\n    ")
    assert focused_id(page) == "id_body"

    # Esc, then Tab: focus goes on, even from inside a list.
    write(page, "- 項目")
    body(page).press("Escape")
    body(page).press("Tab")
    assert focused_id(page) != "id_body"
    expect(body(page)).to_have_value("- 項目")

    # In a paragraph, Tab moves on as it does everywhere; Shift+Tab goes back.
    write(page, "ふつうの段落")
    body(page).press("Tab")
    assert focused_id(page) != "id_body"
    expect(body(page)).to_have_value("ふつうの段落")
    write(page, "ふつうの段落")
    body(page).press("Shift+Tab")
    assert focused_id(page) != "id_body"


@pytest.mark.e2e
def test_a_dropped_image_asks_for_its_alt_text_and_goes_up_with_it(writer):
    page = writer
    write(page, "表を見てください。\n\n")
    png = base64.b64encode(image_bytes("PNG", (320, 200))).decode()

    page.evaluate(DROP_PNG, ["#id_body", "VRAMの表.png", png])
    dialog = page.get_by_role("dialog", name=re.compile("Alternative text|代替テキスト"))
    expect(dialog).to_be_visible()
    alt = dialog.get_by_role("textbox")
    expect(alt).to_have_value("VRAMの表")  # the file name, as a default
    expect(alt).to_be_focused()
    alt.fill("モデルごとの必要なVRAMの表")
    dialog.locator("button[value=insert]").click()
    expect(body(page)).to_have_value(re.compile(r"^表を見てください。\n\n!\[モデルごとの必要なVRAMの表\]\(/media/[^)\s]+\)\n\n$"))
    # It went up with its alt text, which the media library keeps.
    assert list(MediaImage.objects.values_list("alt", flat=True)) == ["モデルごとの必要なVRAMの表"]

    # Cancelled, nothing goes up and nothing is written.
    before = body(page).input_value()
    page.evaluate(DROP_PNG, ["#id_body", "別の図.png", png])
    expect(dialog).to_be_visible()
    dialog.locator("button[value=cancel]").click()
    expect(dialog).to_be_hidden()
    assert body(page).input_value() == before and MediaImage.objects.count() == 1

    # A pasted image asks too; a decorative one has no alt text.
    page.evaluate(PASTE_PNG, ["#id_body", "飾り線.png", png])
    expect(alt).to_have_value("飾り線")
    dialog.get_by_role("checkbox").check()
    expect(alt).to_be_disabled()
    dialog.locator("button[value=insert]").click()
    expect(body(page)).to_have_value(re.compile(r"\n!\[\]\(/media/[^)\s]+\)\n\n$"))
    assert page.refused == []


@pytest.mark.e2e
def test_the_live_preview_is_the_published_page_and_follows_the_typing(content, editor, new_context):
    post = Post.objects.get(slug="local-llm-quantization")
    page = editor(f"/admin/posts/post/{post.pk}/change/")
    reader = new_context().new_page()
    reader.set_viewport_size({"width": 390, "height": 900})
    reader.goto(ARTICLE)

    # At a phone's width (the default), the frame lays the page out as a phone does.
    expect(page.locator(".kiji-preview [data-width=phone]")).to_have_attribute("aria-pressed", "true")
    expect(frame(page).locator("h1.post__title")).to_have_text(post.title)
    # The page's own script ran: it gave each code block a copy button.
    expect(frame(page).locator(".post__body .code-block .copy-code").first).to_be_attached()
    preview = page.locator(CURRENT_FRAME).element_handle().content_frame().evaluate(RENDERED)
    published = reader.evaluate(RENDERED)
    assert preview == published
    for part in [post.title, "本記事にはアフィリエイト広告（PR）が含まれています", "GeForce RTX 4060 Ti 16GB", "Q4_K_M"]:
        assert part in preview["article"]
    expect(frame(page).locator(".post__cover img")).to_be_visible()

    # Typing shows in the preview a moment later; nothing is saved.
    body(page).press("Control+End")
    body(page).press_sequentially("\n\n## 追記\n\n保存前の一文です。")
    expect(frame(page).locator(".post__body h2").last).to_have_text(re.compile("追記"))
    expect(frame(page).locator(".post__body")).to_contain_text("保存前の一文です。")
    page.locator("#id_title").fill("題名も変えてみた")
    expect(frame(page).locator("h1.post__title")).to_have_text("題名も変えてみた")
    assert Post.objects.get(pk=post.pk).title == post.title

    # Desktop lays it out at 1024 px, scaled into the pane.
    page.locator(".kiji-preview [data-width=desktop]").click()
    assert page.locator(CURRENT_FRAME).evaluate("f => f.contentWindow.innerWidth") == 1024

    # A link in the preview keeps the preview where it is.
    frame(page).locator(".post__categories a").first.click()
    expect(frame(page).locator("h1.post__title")).to_have_text("題名も変えてみた")
    assert page.refused == []


@pytest.mark.e2e
def test_a_japanese_title_gets_an_ascii_address_counts_and_search_previews(writer):
    page = writer
    page.locator("#id_title").press_sequentially("ローカルLLMの使い方")
    expect(page.locator("#id_slug")).to_have_value("rookaru-llm-tsukaikata")
    expect(page.locator(".kiji-url__value")).to_have_text(re.compile(r"^http://[^/]+/posts/rookaru-llm-tsukaikata/$"))
    expect(page.locator("#kiji-title-count")).to_contain_text("10")

    page.locator("#id_description").fill("説明" * 70)
    expect(page.locator("#kiji-description-count")).to_have_class(re.compile(r"\bis-over\b"))
    expect(page.locator(".kiji-serp__title")).to_contain_text("ローカルLLMの使い方")
    expect(page.locator(".kiji-serp__url")).to_contain_text("rookaru-llm-tsukaikata")
    expect(page.locator(".kiji-serp__description")).to_have_text(re.compile("…$"))
    expect(page.locator(".kiji-share__title")).to_contain_text("ローカルLLMの使い方")
    expect(page.locator(".kiji-share__image")).to_be_visible()  # the site's default share image

    # A slug typed by the writer stays.
    page.locator("#id_slug").fill("local-llm-howto")
    page.locator("#id_title").press_sequentially("（改訂版）")
    page.wait_for_timeout(800)
    expect(page.locator("#id_slug")).to_have_value("local-llm-howto")
    write(page, "## 見出し\n\n**太字**の[リンク](https://example.com)。")
    expect(page.locator("#kiji-body-count")).to_contain_text("10")


@pytest.mark.e2e
def test_a_published_posts_new_slug_is_said_to_keep_a_redirect(editorial_groups, editor, client):
    post = make_post(title="ローカルLLMの使い方", slug="ローカルllmの使い方")
    page = editor(f"/admin/posts/post/{post.pk}/change/")
    # Its slug is not ASCII: one is offered, never put in by itself.
    suggestion = page.locator(".kiji-url__suggestion")
    expect(suggestion).to_be_visible()
    expect(page.locator("#id_slug")).to_have_value("ローカルllmの使い方")
    moved = page.locator(".kiji-url__moved")
    expect(moved).to_be_hidden()

    suggestion.get_by_role("button").click()
    expect(page.locator("#id_slug")).to_have_value("rookaru-llm-tsukaikata")
    expect(moved).to_be_visible()
    expect(moved).to_contain_text("/posts/ローカルllmの使い方/")
    page.locator('[name="_continue"]').click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert client.get(post.get_absolute_url()).status_code == 301


@pytest.mark.e2e
def test_focus_mode_takes_the_window_and_esc_gives_it_back(writer):
    page = writer
    body(page).click()
    body(page).press("Control+Shift+F")
    desk = page.locator(".kiji-writer")
    expect(desk).to_have_class(re.compile(r"\bis-focused\b"))
    box = desk.bounding_box()
    assert (box["x"], box["y"], box["width"]) == (0, 0, 1280)
    body(page).press("Escape")
    expect(desk).not_to_have_class(re.compile(r"\bis-focused\b"))
    assert focused_id(page) == "id_body"


@pytest.mark.e2e
def test_the_desk_fits_a_phone(editor, content):
    post = Post.objects.get(slug="local-llm-quantization")
    page = editor(f"/admin/posts/post/{post.pk}/change/", width=390, height=844)
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    # The preview is one tap away, in place of the body.
    tool(page, "preview").click()
    expect(frame(page).locator("h1.post__title")).to_have_text(post.title)
    expect(body(page)).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    tool(page, "preview").click()
    expect(body(page)).to_be_visible()


@pytest.mark.e2e
def test_screenshots_of_the_desk(editor, content):
    """docs/editor.md's pictures: the article's form at 1280 px and at 390 px."""
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    post = Post.objects.get(slug="local-llm-quantization")
    page = editor(f"/admin/posts/post/{post.pk}/change/")
    expect(frame(page).locator("h1.post__title")).to_have_text(post.title)
    page.evaluate(SCROLL_TO_TITLE)
    frame(page).locator(".post__cover img").evaluate("image => image.decode()")
    page.screenshot(path=DOCS_SCREENSHOTS / "editor-desktop.png")

    phone = editor(f"/admin/posts/post/{post.pk}/change/", width=390, height=844)
    phone.evaluate(SCROLL_TO_TITLE)
    assert phone.evaluate("document.documentElement.scrollWidth") == 390
    phone.screenshot(path=DOCS_SCREENSHOTS / "editor-phone.png")
