"""Scheduling in words, in a browser: an editor types a publish time and reads, beside
「予約投稿」, when readers will see the post; the button schedules it and the page says
so again; a time that has passed is refused with the form kept; and the post appears to
readers by itself once its time comes."""

import re
import time

import pytest
from django.utils import timezone

from posts.models import Post
from tests.conftest import make_post, member

from .conftest import expect, log_in

SCHEDULE = '[name="_kiji_status"][value="schedule"]'
# The browser words the interval (Intl.RelativeTimeFormat), the server too (timeuntil).
IN_THREE_HOURS = re.compile(r"3\s?時間後|in 3 hours")


def type_time(page, moment):
    local = timezone.localtime(moment)
    page.locator("#id_published_at_0").fill(local.strftime("%Y-%m-%d"))
    page.locator("#id_published_at_1").fill(local.strftime("%H:%M:%S"))


@pytest.mark.e2e
def test_an_editor_schedules_a_post_in_words_and_readers_see_it_at_its_time(editorial_groups, new_context):
    member("Editor", "editor", first_name="花子")
    post = make_post(title="予約投稿のテスト記事", slug="scheduled-in-words", status=Post.Status.DRAFT, body="## 本文\n\n予約した本文。\n")
    editor = new_context().new_page()
    log_in(editor, "editor")
    editor.goto(f"/admin/posts/post/{post.pk}/change/")
    note = editor.locator("#kiji-schedule-note")

    # Before: the sentence follows the time as it is typed.
    expect(editor.locator('[name="_kiji_status"]')).to_have_count(4)
    three_hours = timezone.now() + timezone.timedelta(hours=3, minutes=1)
    type_time(editor, three_hours)
    expect(note).to_have_text(IN_THREE_HOURS)
    expect(note).to_contain_text(timezone.localtime(three_hours).strftime("%Y-%m-%d %H:%M"))

    # After: the button schedules it, and the page says when readers will see it.
    editor.locator(SCHEDULE).click()
    expect(editor.locator(".messagelist .success")).to_contain_text(IN_THREE_HOURS)
    expect(editor.locator("#kiji-schedule-note")).to_have_text(IN_THREE_HOURS)
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.is_scheduled
    reader = new_context().new_page()
    assert reader.goto("/posts/scheduled-in-words/").status == 404

    # A time that has passed is refused, with what to do, and the form keeps the text.
    editor.locator("#id_body").fill("## 本文\n\n書き足した本文。\n")
    type_time(editor, timezone.now() - timezone.timedelta(hours=2))
    expect(editor.locator("#kiji-schedule-note")).to_have_class(re.compile("kiji-schedule-note--past"))
    editor.locator(SCHEDULE).click()
    expect(editor.locator(".field-published_at .errorlist")).to_be_visible()
    expect(editor.locator("#id_body")).to_have_value("## 本文\n\n書き足した本文。\n")
    assert Post.objects.get(pk=post.pk).published_at == post.published_at

    # Scheduled a few seconds ahead, it appears by itself when they have passed.
    soon = timezone.now() + timezone.timedelta(seconds=6)
    type_time(editor, soon)
    editor.locator(SCHEDULE).click()
    expect(editor.locator(".messagelist .success")).to_be_visible()
    assert Post.objects.get(pk=post.pk).is_scheduled
    assert reader.goto("/posts/scheduled-in-words/").status == 404
    time.sleep(max(0, (soon.replace(microsecond=0) - timezone.now()).total_seconds()) + 0.5)
    assert reader.goto("/posts/scheduled-in-words/").status == 200
    expect(reader.locator("h1.post__title")).to_have_text("予約投稿のテスト記事")
    expect(reader.locator(".post__body")).to_contain_text("書き足した本文。")
