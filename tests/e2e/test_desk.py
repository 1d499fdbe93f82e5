"""The admin's desk in a browser: a writer finds their drafts, their post in review and
their scheduled post and starts a new one; an editor sees everyone's review queue and
schedule, what was published and what the store links earned. The post list and the
post form fit a 1366 px screen: status, time and author on one line each, and the
affiliate boxes inside the form.

Every page here is watched for what the Content-Security-Policy refuses. The desk is
kept as screenshots at 1280 px and a phone's width in test-artifacts/screenshots/, and
the 1280 px one as docs/screenshots/dashboard.png, which the README shows, when
KIJI_DOCS_SCREENSHOTS=1.
"""

import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from posts.models import ClickCount, Post, ViewCount
from tests.conftest import make_post, member

from .conftest import SCREENSHOTS, SITE_TITLE, expect, log_in, screenshot
from .test_csp import WATCH

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "dashboard.png"

# How many lines an element's text takes on screen.
LINES = """element => {
    const range = document.createRange();
    range.selectNodeContents(element);
    const rects = Array.from(range.getClientRects()).filter(rect => rect.width > 0);
    return new Set(rects.map(rect => Math.round(rect.top))).size;
}"""


@pytest.fixture
def desk_content(content, editorial_groups):
    """The seeded blog, with a writer's and another writer's work under way and three
    weeks of clicks."""
    writer = member("Writer", "writer", first_name="書子")
    other = member("Writer", "other", first_name="次郎")
    editor = member("Editor", "editor", first_name="花子")
    now = timezone.now()
    make_post(title="編集後記：今月のふりかえり", status=Post.Status.DRAFT, author=editor)
    make_post(title="Gemini 2.5の新機能を試す", status=Post.Status.DRAFT, author=writer)
    make_post(title="ローカルLLMのベンチマーク（下書き）", status=Post.Status.DRAFT, author=writer)
    make_post(title="画像生成AIの著作権Q&A", status=Post.Status.REVIEW, author=writer)
    make_post(title="音声認識モデルの比較", status=Post.Status.REVIEW, author=other)
    make_post(title="来週のAIイベント情報", published_at=now + timedelta(hours=3, minutes=1), author=writer)
    make_post(title="月末のAIニュースまとめ", published_at=now + timedelta(days=2, minutes=1), author=other)
    today = timezone.localdate()
    for post, clicks in zip(Post.objects.published()[:4], [42, 17, 8, 3]):
        for back in range(21):
            ClickCount.objects.create(
                day=today - timedelta(days=back), post=post, box="end-0", store="amazon", count=clicks
            )
            ViewCount.objects.create(day=today - timedelta(days=back), post=post, count=clicks * 30)
    # What the editor did in the admin before: the flush between browser tests empties
    # the content types, so the cached ones would be stale.
    ContentType.objects.clear_cache()
    posts = ContentType.objects.get_for_model(Post)
    for minutes, post in zip([10, 45], Post.objects.published()[:2]):
        LogEntry.objects.create(
            user=editor, content_type=posts, object_id=str(post.pk), object_repr=post.title,
            action_flag=CHANGE, change_message='[{"changed": {"fields": ["body"]}}]',
            action_time=now - timedelta(minutes=minutes),
        )  # fmt: skip


@pytest.fixture
def watched(page):
    """The page, with every CSP violation it meets, console ones included, in a list."""
    violations = []
    page.context.expose_function("kijiViolation", lambda text: violations.append(text))
    page.context.add_init_script(WATCH)
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    return page, violations


def section(page, key):
    return page.locator(f"#desk-{key}")


def listed(page, key):
    return section(page, key).locator(".kiji-desk__title")


@pytest.mark.e2e
def test_a_writer_finds_their_own_work_on_the_desk_and_starts_a_new_post(desk_content, watched):
    page, violations = watched
    log_in(page, "writer")

    expect(page.locator("#site-name")).to_have_text(f"{SITE_TITLE} · Kiji")
    expect(page).to_have_title(f"ダッシュボード | {SITE_TITLE} · Kiji")
    expect(listed(page, "drafts")).to_have_text(["ローカルLLMのベンチマーク（下書き）", "Gemini 2.5の新機能を試す"])
    expect(listed(page, "review")).to_have_text(["画像生成AIの著作権Q&A"])
    expect(listed(page, "scheduled")).to_have_text(["来週のAIイベント情報"])
    expect(section(page, "scheduled")).to_contain_text("3時間後")
    expect(listed(page, "published").first).to_have_text("コーディングエージェントの安全対策")
    expect(page.locator("#desk-clicks")).to_have_count(0)
    expect(page.get_by_text("利用不可")).to_have_count(0)
    expect(page.locator("#recent-actions-module")).to_contain_text("まだ操作はありません。")

    listed(page, "drafts").first.click()
    expect(page).to_have_url(re.compile(r"/admin/posts/post/\d+/change/$"))
    expect(page.locator("#id_title")).to_have_value("ローカルLLMのベンチマーク（下書き）")

    page.goto("/admin/")
    page.get_by_role("link", name="新規投稿").click()
    expect(page).to_have_url(re.compile(r"/admin/posts/post/add/$"))
    expect(page.locator("#id_title")).to_be_visible()
    assert violations == []


@pytest.mark.e2e
def test_an_editor_sees_the_review_queue_the_schedule_and_the_clicks(desk_content, watched):
    page, violations = watched
    log_in(page, "editor")

    expect(listed(page, "review")).to_have_text(["画像生成AIの著作権Q&A", "音声認識モデルの比較"])
    expect(section(page, "review")).to_contain_text("書子")
    expect(listed(page, "scheduled")).to_have_text(["来週のAIイベント情報", "月末のAIニュースまとめ"])
    scheduled = section(page, "scheduled").locator(".kiji-desk__post").first
    expect(scheduled.locator(".kiji-desk__relative")).to_have_text("3時間後")
    expect(scheduled.locator("time")).to_have_text(re.compile(r"^\d{4}/\d{2}/\d{2} \d{1,2}:\d{2}$"))
    expect(listed(page, "drafts")).to_have_text(["編集後記：今月のふりかえり"])
    expect(listed(page, "published")).to_have_count(5)
    expect(section(page, "published").locator(".kiji-desk__more")).to_have_text("すべて表示（8件）")

    clicks = page.locator("#desk-clicks")
    expect(clicks.locator('[data-days="7"][data-figure="clicks"]')).to_have_text(str(7 * (42 + 17 + 8 + 3)))
    expect(clicks.locator('[data-days="30"][data-figure="clicks"]')).to_have_text(f"{21 * (42 + 17 + 8 + 3):,}")
    expect(clicks.locator('[data-days="7"][data-figure="per-thousand"]')).to_have_text("33.3")
    expect(clicks.locator(".kiji-desk__top li")).to_have_count(3)
    actions = page.locator("#recent-actions-module")
    expect(actions.locator("li a")).to_have_text(["コーディングエージェントの安全対策", "週刊AIダイジェスト"])
    expect(page.get_by_text("利用不可")).to_have_count(0)
    screenshot(page, "dashboard")
    if os.environ.get("KIJI_DOCS_SCREENSHOTS"):  # never change the tree unasked
        shutil.copyfile(SCREENSHOTS / "dashboard-1280.png", DOCS_SCREENSHOT)

    clicks.get_by_role("link", name="クリックのダッシュボードを開く").click()
    expect(page).to_have_url(re.compile(r"/admin/posts/clickcount/$"))
    assert violations == []


@pytest.mark.e2e
def test_the_post_list_and_the_post_form_fit_a_1366_px_screen(desk_content, page):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "editor")

    page.goto("/admin/posts/post/")
    for cells in ["#result_list .kiji-status", "#result_list td.field-published_at", "#result_list td.field-author"]:
        lines = page.locator(cells).evaluate_all(f"elements => elements.map({LINES})")
        assert lines and set(lines) == {1}, f"{cells} wraps: {lines}"
    assert page.evaluate("document.documentElement.scrollWidth") == 1366

    article = Post.objects.get(slug="local-llm-quantization")
    page.goto(f"/admin/posts/post/{article.pk}/change/")
    boxes = page.locator("#affiliate_boxes-group")
    expect(boxes.locator("tr.form-row.has_original")).to_have_count(2)
    form = page.locator("#post_form").bounding_box()
    table = boxes.locator("table").bounding_box()
    assert table["x"] + table["width"] <= form["x"] + form["width"] + 1
    assert page.evaluate("document.documentElement.scrollWidth") == 1366
