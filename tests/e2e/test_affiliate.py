"""A reader clicks a store button in Chromium: the link goes to the store itself, and
Kiji's count rises, told by the browser's ping (or the beacon where there is none).
The tests also take the screenshots docs/affiliate.md shows."""

import re
import time

import pytest

from posts.models import AffiliateBox, ClickCount, Product, ViewCount

from .conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, expect, log_in, screenshot

ARTICLE = "/posts/local-llm-quantization/"
NOTICE = "本記事にはアフィリエイト広告（PR）が含まれています"


def eventually(read, expected, seconds=10):
    """`read()` once it equals `expected` (a ping is sent as the page moves on, and
    counted by another thread), or its last value after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def clicks(store=None):
    rows = ClickCount.objects.filter(store=store) if store else ClickCount.objects.all()
    return sum(rows.values_list("count", flat=True))


# Headless Chromium says "HeadlessChrome", which Kiji does not count (clicks.py): the
# reader here is the browser people use.
READER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


@pytest.fixture
def reader_context(browser, live_server):
    """A reader's browser in which no request leaves the machine: a store's page opens
    as a tab of its own with a placeholder in it."""

    def make(init_script=None):
        context = browser.new_context(base_url=live_server.url, locale="ja-JP", user_agent=READER_AGENT)
        context.set_default_timeout(10_000)
        if init_script:
            context.add_init_script(init_script)
        outside = re.compile(r"^https?://(?!" + re.escape(live_server.url.split("://", 1)[1]) + r")")
        context.route(outside, lambda route: route.fulfill(status=200, body="store", content_type="text/plain"))
        contexts.append(context)
        return context.new_page()

    contexts = []
    yield make
    for context in contexts:
        context.close()


@pytest.mark.e2e
def test_clicking_a_box_button_opens_the_store_and_the_count_rises(reader_context, content):
    page = reader_context()
    page.goto(ARTICLE)
    expect(page.locator(".post__pr")).to_have_text(NOTICE)
    assert eventually(lambda: sum(ViewCount.objects.values_list("count", flat=True)), 1) == 1

    button = page.locator(".affiliate--summary .affiliate__button--amazon")
    href = button.get_attribute("href")
    assert href.startswith("https://www.amazon.co.jp/s?k=RTX%204060%20Ti%2016GB") and "tag=negi3939-22" in href
    with page.context.expect_page() as opened:
        button.click()
    store = opened.value
    store.wait_for_load_state()
    assert store.url == href  # straight to the store: no redirect through Kiji

    assert eventually(lambda: clicks("amazon"), 1) == 1
    row = ClickCount.objects.get()
    assert (row.box, row.store) == ("summary-0", "amazon")

    # And once more from the end box's Rakuten button.
    with page.context.expect_page():
        page.locator(".affiliate--end .affiliate__button--rakuten").click()
    assert eventually(clicks, 2) == 2
    assert not page.context.cookies()  # the reader was given no cookie


FIREFOX_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.mark.e2e
def test_a_browser_that_sends_no_pings_counts_by_beacon(browser, live_server, content):
    # Firefox keeps <a ping> off (browser.send_pings); Chromium started with --no-pings
    # and saying it is Firefox is that browser, as far as a page can tell.
    quiet = browser.browser_type.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--no-pings"])
    try:
        context = quiet.new_context(base_url=live_server.url, locale="ja-JP", user_agent=FIREFOX_AGENT)
        outside = re.compile(r"^https?://(?!" + re.escape(live_server.url.split("://", 1)[1]) + r")")
        context.route(outside, lambda route: route.fulfill(status=200, body="store"))
        page = context.new_page()
        page.goto(ARTICLE)
        with context.expect_page():
            page.locator(".affiliate--summary .affiliate__button--rakuten").click()
        assert eventually(lambda: clicks("rakuten"), 1) == 1
        time.sleep(0.5)
        assert clicks("rakuten") == 1  # counted once
    finally:
        quiet.close()


@pytest.mark.e2e
def test_screenshots_of_a_labelled_article_and_of_the_dashboard(reader_context, content, admin_user):
    product = Product.objects.create(name="GeForce RTX 4060 Ti 16GB", slug="rtx-4060-ti", keyword="RTX 4060 Ti 16GB")
    box = AffiliateBox.objects.get(placement="summary")
    box.product, box.product_name = product, ""
    box.save()
    page = reader_context()
    page.set_viewport_size({"width": 390, "height": 1200})
    page.goto(ARTICLE)
    page.screenshot(path=SCREENSHOTS / "affiliate-article-top-390.png")
    for selector in (".affiliate--summary .affiliate__button--amazon", ".affiliate--summary .affiliate__button--rakuten", ".affiliate--end .affiliate__button--amazon"):
        with page.context.expect_page() as opened:
            page.locator(selector).click()
        opened.value.close()
    assert eventually(clicks, 3) == 3
    screenshot(page, "affiliate-article", widths=(390,))

    log_in(page, admin_user.username, "password")
    page.goto("/admin/posts/clickcount/")
    expect(page.locator('[data-figure="clicks"]')).to_have_text("3")
    expect(page.locator(".kiji-chart rect")).to_have_count(2)
    screenshot(page, "affiliate-dashboard", widths=(1280,))


@pytest.mark.e2e
def test_a_writer_inserts_a_product_box_and_the_preview_shows_it(page, content, editorial_groups):
    from tests.conftest import make_post, member

    Product.objects.create(name="GeForce RTX 4060 Ti 16GB", slug="rtx-4060-ti", keyword="RTX 4060 Ti 16GB", reason="静かで省電力")
    writer = member("Writer", "writer")
    post = make_post(title="下書き", slug="draft-with-box", body="最初の段落。\n", status="draft", author=writer)
    log_in(page, "writer")
    page.goto(f"/admin/posts/post/{post.pk}/change/")

    editor = page.locator("#id_body")
    editor.click()
    editor.press("End")
    page.locator("#kiji-box-key").fill("rtx-4060-ti")
    page.locator("#kiji-box-insert").click()
    expect(editor).to_have_value("最初の段落。\n\n{{< product rtx-4060-ti >}}\n\n")
    preview = page.frame_locator(".kiji-preview__frame.is-current")  # the live preview: the article page
    expect(preview.locator(".affiliate--marker .affiliate__name")).to_have_text("GeForce RTX 4060 Ti 16GB")
    expect(preview.locator(".post__pr")).to_have_text(NOTICE)

    page.locator("#kiji-box-key").fill('RTX 4090 "24GB"')
    page.locator("#kiji-box-key").press("Enter")  # inserts; does not submit the form
    expect(editor).to_have_value(re.compile(r'\{\{< affiliate "RTX 4090  24GB" >\}\}\n\n$'))
    expect(preview.locator(".affiliate--marker")).to_have_count(2)
