"""The Content-Security-Policy in a browser: a reader's pages (theme, copy buttons, ad
slots) and the markdownx editor work under it without one violation, and a saved theme
is applied before the page is first painted."""

import pytest

from posts.models import Post, SiteSettings
from tests.conftest import member

from .conftest import expect, log_in

ARTICLE = "/posts/local-llm-quantization/"

# Playwright adds this to every document before the page's own scripts; scripts it
# adds are not subject to the page's policy, so it sees what the policy refuses.
WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.kijiViolation(`${event.disposition} ${event.effectiveDirective} ${event.blockedURI} ${where}`);
}, true);
document.addEventListener("DOMContentLoaded", () => {
  window.kijiThemeAtDomReady = document.documentElement.dataset.theme ?? null;
});
"""


@pytest.fixture
def watched(new_context):
    """A page whose context reports every CSP violation, console ones included, into a list."""
    context = new_context()
    violations = []
    context.expose_function("kijiViolation", lambda text: violations.append(text))
    context.add_init_script(WATCH)
    page = context.new_page()
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    return page, violations


@pytest.mark.e2e
def test_a_readers_pages_and_the_theme_switch_work_under_the_policy(watched, content):
    page, violations = watched

    page.goto("/")
    expect(page.locator("main .card").first).to_be_visible()
    toggle = page.locator(".theme-toggle")
    expect(toggle).to_be_visible()  # kiji.js shows it
    toggle.click()
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"

    page.goto(ARTICLE)
    copy = page.locator(".copy-code")
    expect(copy).to_have_count(2)  # kiji.js adds one to each code block
    copy.first.click()
    expect(copy.first).to_have_class("copy-code is-done")

    assert violations == []


@pytest.mark.e2e
def test_a_saved_theme_is_applied_before_the_first_paint(watched, content):
    page, violations = watched
    page.goto("/")
    page.evaluate("localStorage.setItem('kiji-theme', 'dark')")

    for url in ["/", ARTICLE, "/no-such-page/"]:
        page.goto(url)
        # Set before the parser reached the end of the document, so before kiji.js ran:
        # the blocking script in <head> did it, before the body could be painted.
        assert page.evaluate("window.kijiThemeAtDomReady") == "dark", url
    assert page.locator('head script[src$="/static/js/theme.js"]:not([defer]):not([async])').count() == 1
    assert violations == []


@pytest.mark.e2e
def test_ad_slots_are_filled_without_inline_scripts(watched, content):
    page, violations = watched
    site = SiteSettings.load()
    site.adsense_client, site.ad_slot_top, site.ad_slot_bottom = "ca-pub-1234567890123456", "1111111111", "2222222222"
    site.save()
    # Google is not reached from here: an empty script stands in for adsbygoogle.js.
    page.context.route(
        "https://pagead2.googlesyndication.com/**",
        lambda route: route.fulfill(body="", content_type="text/javascript"),
    )

    page.goto(ARTICLE)

    expect(page.locator("ins.adsbygoogle")).to_have_count(2)
    assert page.evaluate("window.adsbygoogle.length") == 2  # a push for each slot, from kiji.js
    assert violations == []


@pytest.mark.e2e
def test_the_markdownx_editor_and_its_live_preview_work_under_the_policy(watched, content, editorial_groups):
    page, violations = watched
    member("Editor", "editor")
    post = Post.objects.get(slug="local-llm-quantization")
    log_in(page, "editor")

    page.goto(f"/admin/posts/post/{post.pk}/change/")
    body = page.locator("#id_body")
    body.click()
    body.press("End")
    body.press_sequentially(
        '\n\n## ポリシーの下で\n\n<div style="border:1px solid #e0e0e0;padding:16px">'
        '<strong style="font-size:16px">製品カード</strong></div>\n'
    )

    preview = page.frame_locator(".kiji-preview__frame.is-current")  # the live preview: the article page, in a frame
    expect(preview.locator("h2").filter(has_text="ポリシーの下で")).to_be_visible()
    card = preview.locator("div").filter(has_text="製品カード").last
    assert card.evaluate("div => getComputedStyle(div).paddingTop") == "16px"  # its style attribute applies
    page.goto("/admin/posts/post/")
    expect(page.locator("#result_list")).to_be_visible()
    assert violations == []
