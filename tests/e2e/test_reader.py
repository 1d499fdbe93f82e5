"""What a reader sees and does in a browser: pages, table of contents, copy buttons,
share links, related posts, search and the theme switch.

The tests of whole pages also leave full-page screenshots at 390 px and 1280 px in
test-artifacts/screenshots/ for a person to look over.
"""

import re
from urllib.parse import quote

import pytest

from posts.models import Post

from .conftest import PYTHON_CODE, SHELL_CODE, SITE_TAGLINE, SITE_TITLE, expect, screenshot

ARTICLE = "/posts/local-llm-quantization/"
ARTICLE_TITLE = "ローカルLLM入門：量子化モデルを自宅のGPUで動かす"


def background(page):
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def theme(page):
    return page.evaluate("document.documentElement.dataset.theme ?? null")


def clipboard(page):
    return page.evaluate("navigator.clipboard.readText()")


def clear_clipboard(page):
    """Empty the clipboard (an earlier test may have filled it), so that what is read
    back is what this test copied."""
    page.evaluate("navigator.clipboard.writeText('')")


@pytest.mark.e2e
def test_the_home_page_introduces_the_site_and_lists_the_latest_posts(page, content):
    page.goto("/")

    expect(page).to_have_title(re.compile(SITE_TITLE))
    expect(page.locator(".intro__title")).to_have_text(SITE_TITLE)
    expect(page.locator(".intro__tagline")).to_have_text(SITE_TAGLINE)
    cards = page.locator("main .card")
    expect(cards).to_have_count(8)
    expect(cards.first.locator(".card__title")).to_have_text("コーディングエージェントの安全対策")
    expect(cards.first).to_be_visible()
    expect(page.locator(".card img").first).to_be_visible()
    menu = page.get_by_role("navigation", name="メインメニュー")
    for name, href in [("ホーム", "/"), ("記事一覧", "/posts/"), ("カテゴリ", "/categories/"), ("タグ", "/tags/"), ("検索", "/search/")]:
        expect(menu.get_by_role("link", name=name, exact=True)).to_have_attribute("href", href)
    expect(menu.locator('a[href="/archives/"]')).to_be_visible()
    screenshot(page, "home")


@pytest.mark.e2e
def test_an_article_shows_its_place_meta_contents_code_and_links_onwards(page, content, live_server):
    page.goto(ARTICLE)

    expect(page).to_have_title(f"{ARTICLE_TITLE} | {SITE_TITLE}")
    crumbs = page.locator(".breadcrumbs li")
    expect(crumbs).to_have_text(["ホーム", "ローカルLLM", ARTICLE_TITLE])
    expect(crumbs.nth(1).get_by_role("link")).to_have_attribute("href", "/categories/%E3%83%AD%E3%83%BC%E3%82%AB%E3%83%ABllm/")

    meta = page.locator(".post__meta")
    expect(meta.locator("time").first).to_have_attribute("datetime", "2026-01-14T09:00:00+09:00")
    expect(meta).to_contain_text("公開 2026年1月14日")
    expect(meta).to_contain_text("更新")
    expect(meta).to_contain_text("約1分で読めます")
    word_count = Post.objects.get(slug="local-llm-quantization").word_count
    expect(meta.locator("span").last).to_contain_text(f"{word_count}")
    assert word_count > 300  # Hugo's count, in which each CJK character is a word
    expect(page.locator(".post__cover img")).to_be_visible()

    toc = page.locator("details.toc")
    expect(toc.locator("a").first).to_be_hidden()
    toc.locator("summary").click()
    expect(toc).to_have_attribute("open", "")
    expect(toc.get_by_role("link", name="ビット数と必要なVRAM")).to_be_visible()
    toc.get_by_role("link", name="よくある質問").click()
    expect(page).to_have_url(re.compile("#" + re.escape(quote("よくある質問")) + "$"))
    expect(page.locator("h2#よくある質問")).to_be_in_viewport()

    heading = page.locator(".post__body h2#動かしてみる")
    expect(heading.locator("a.header-anchor")).to_have_attribute("href", "#動かしてみる")
    expect(page.locator(".post__body table tbody tr")).to_have_count(3)

    blocks = page.locator(".post__body .code-block")
    expect(blocks).to_have_count(2)
    expect(blocks.nth(0).locator("code")).to_have_text(SHELL_CODE)
    expect(blocks.nth(1).locator("code")).to_have_text(PYTHON_CODE)
    for index in range(2):
        expect(blocks.nth(index).locator("button.copy-code")).to_be_visible()

    share = page.locator(".share")
    url = quote(f"{live_server.url}{ARTICLE}", safe="")
    for name, prefix in [
        ("X", "https://twitter.com/intent/tweet?text="),
        ("Facebook", "https://www.facebook.com/sharer/sharer.php?u="),
        ("LINE", "https://social-plugins.line.me/lineit/share?url="),
        ("はてなブックマーク", "https://b.hatena.ne.jp/entry/panel/?url="),
    ]:
        link = share.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        expect(link).to_have_attribute("href", re.compile("^" + re.escape(prefix) + ".*" + re.escape(url)))
    copy_link = share.locator("button.share__copy")
    expect(copy_link).to_be_visible()
    clear_clipboard(page)
    copy_link.click()
    expect(copy_link).to_have_class(re.compile("is-done"))
    assert clipboard(page) == f"{live_server.url}{ARTICLE}"

    nav = page.locator(".post-nav")
    expect(nav.locator("a[rel=prev]")).to_have_attribute("href", "/posts/local-rag/")
    expect(nav.locator("a[rel=next]")).to_have_attribute("href", "/posts/gguf-vs-awq/")
    expect(page.locator(".related .card").first).to_be_visible()
    expect(page.locator(".post__tags a")).to_have_text(["#GPU", "#Python", "#量子化"])

    boxes = page.locator("aside.affiliate")
    expect(boxes).to_have_count(2)
    expect(boxes.first.locator(".affiliate__name")).to_have_text("GeForce RTX 4060 Ti 16GB")
    expect(boxes.first.get_by_role("link", name="Amazonで探す")).to_have_attribute("href", re.compile("tag=negi3939-22"))
    expect(boxes.first.get_by_role("link", name="楽天で探す")).to_have_attribute("rel", "sponsored noopener")
    expect(boxes.first).to_contain_text("※アフィリエイトリンクを含みます")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "article")


@pytest.mark.e2e
def test_a_code_blocks_copy_button_puts_exactly_its_code_on_the_clipboard(page, content):
    page.goto(ARTICLE)
    block = page.locator(".post__body .code-block").nth(1)
    button = block.locator("button.copy-code")
    label = button.inner_text()
    clear_clipboard(page)

    button.click()

    expect(button).to_have_class(re.compile("is-done"))
    expect(button).not_to_have_text(label)
    copied = clipboard(page)
    assert copied == block.locator("code").inner_text()
    assert copied.rstrip("\n") == PYTHON_CODE


@pytest.mark.e2e
def test_a_related_post_link_leads_to_that_article(page, content):
    page.goto(ARTICLE)
    first = page.locator(".related .card .card__title a").first
    title = first.inner_text()
    href = first.get_attribute("href")

    first.click()

    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    expect(page.locator("h1.post__title")).to_have_text(title)
    assert href != ARTICLE


@pytest.mark.e2e
def test_a_tag_page_lists_the_posts_with_that_tag(page, content):
    page.goto("/tags/")
    page.locator(".terms").get_by_role("link", name=re.compile("^量子化")).click()

    expect(page).to_have_url(re.compile("/tags/" + re.escape(quote("量子化")) + "/$"))
    expect(page.locator("h1.page-title")).to_have_text("量子化")
    expect(page.locator(".page-header__count")).to_have_text("2 件の記事")
    expect(page.locator(".card__title")).to_have_text(["量子化ツールの比較：GGUFとAWQ", ARTICLE_TITLE])
    screenshot(page, "tag")


@pytest.mark.e2e
def test_the_archives_group_posts_by_year_and_month_with_counts(page, content):
    page.goto("/archives/")

    expect(page.locator(".page-header__count")).to_have_text("8 件の記事")
    years = page.locator(".archives__year")
    expect(years.locator("h2")).to_have_text(["2026 5", "2025 3"])
    expect(years.nth(0).locator("summary")).to_have_text(["2026年3月 1", "2026年2月 2", "2026年1月 2"])
    expect(years.nth(1).locator("summary")).to_have_text(["2025年12月 2", "2025年11月 1"])
    december = years.nth(1).locator("details").first
    expect(december.get_by_role("link", name="ローカルRAGで社内文書を検索する")).to_be_hidden()
    december.locator("summary").click()
    expect(december.get_by_role("link", name="ローカルRAGで社内文書を検索する")).to_be_visible()
    screenshot(page, "archives")


@pytest.mark.e2e
def test_a_two_character_japanese_search_highlights_its_matches(page, content):
    page.goto("/")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="検索").click()
    field = page.get_by_label("検索する語")
    expect(field).to_be_focused()

    field.fill("量子")
    page.get_by_role("search").get_by_role("button", name="検索").click()

    expect(page).to_have_url(re.compile(r"/search/\?q=" + re.escape(quote("量子")) + "$"))
    expect(page.locator("h1.page-title")).to_have_text("「量子」の検索結果")
    results = page.locator(".search-result")
    expect(results.locator(".search-result__title")).to_have_text(["量子化ツールの比較：GGUFとAWQ", ARTICLE_TITLE])
    marks = results.locator("mark")
    expect(marks.first).to_be_visible()
    assert set(marks.all_inner_texts()) == {"量子"}
    screenshot(page, "search")


@pytest.mark.e2e
def test_the_theme_switch_cycles_auto_light_dark_and_is_remembered(page, content):
    page.goto("/")
    toggle = page.locator(".theme-toggle")
    expect(toggle).to_be_visible()
    light = background(page)
    assert theme(page) is None

    toggle.click()
    assert theme(page) == "light"
    assert background(page) == light
    toggle.click()
    assert theme(page) == "dark"
    dark = background(page)
    assert dark != light

    page.reload()
    assert theme(page) == "dark"
    assert background(page) == dark
    expect(toggle).to_have_attribute("data-theme", "dark")
    page.goto(ARTICLE)
    assert theme(page) == "dark"
    screenshot(page, "article-dark")

    toggle.click()
    assert theme(page) is None
    assert background(page) == light  # automatic: the system's light scheme here
    page.reload()
    assert theme(page) is None
    assert background(page) == light


# Labels that Kiji draws around the content, and the names that stay as they are.
LABELS = [
    ".menu", ".theme-toggle", ".post__meta", ".toc summary", ".copy-code",
    ".share", ".post-nav__label", ".related__title", ".site-footer__links", "h1.page-title",
]  # fmt: skip
PROPER_NAMES = {"X", "Facebook", "LINE", "RSS"}


def english_labels(page):
    """Latin words in the page's own labels and accessible names, less proper names."""
    texts = [text for selector in LABELS for text in page.locator(selector).all_inner_texts()]
    texts += page.locator("[aria-label]").evaluate_all("elements => elements.map(e => e.ariaLabel)")
    words = {word for text in texts for word in re.findall(r"[A-Za-z]+", text)}
    return sorted(words - PROPER_NAMES)


@pytest.mark.e2e
def test_the_reader_is_spoken_to_in_japanese(page, content):
    found = {}
    for url in [ARTICLE, "/archives/"]:
        page.goto(url)
        expect(page.locator(".theme-toggle")).to_be_visible()  # labelled by kiji.js
        found[url] = english_labels(page)

    assert found == {ARTICLE: [], "/archives/": []}
