"""The service functions every door calls (posts/services.py): who may save, publish
and schedule, what a schedule does and refuses, the revisions they leave, previews that
write nothing; and the post form's status buttons, which go through them."""

import html
import re
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reversion.models import Version

from posts import services
from posts.models import AffiliateBox, Category, Post, Tag
from tests.conftest import logged_in, make_post, member, opened_form

pytestmark = pytest.mark.django_db

HOUR = timezone.timedelta(hours=1)


@pytest.fixture
def writer():
    return member("Writer", "writer", first_name="書子")


@pytest.fixture
def other_writer():
    return member("Writer", "other-writer")


@pytest.fixture
def editor():
    return member("Editor", "editor", first_name="花子")


def draft(author, **fields):
    return make_post(author=author, **{"status": Post.Status.DRAFT, **fields})


def comments(post):
    """The comments of the post's revisions, oldest first."""
    return [version.revision.get_comment() for version in Version.objects.get_for_object(post).order_by("pk")]


def stored(post):
    return Post.objects.values().get(pk=post.pk)


# Who may do what


def test_a_writer_may_not_publish_schedule_or_unpublish(writer):
    post = draft(writer)
    before = stored(post)

    for status, at in [(Post.Status.PUBLISHED, None), (Post.Status.PUBLISHED, timezone.now() + HOUR), (Post.Status.UNPUBLISHED, None)]:
        with pytest.raises(PermissionDenied):
            services.change_status(Post.objects.get(pk=post.pk), status, user=writer, at=at)

    assert stored(post) == before


def test_a_writer_may_not_move_another_writers_post(writer, other_writer):
    theirs = draft(other_writer)

    with pytest.raises(PermissionDenied):
        services.change_status(theirs, Post.Status.REVIEW, user=writer)
    assert Post.objects.get(pk=theirs.pk).status == Post.Status.DRAFT


def test_a_writer_sends_their_draft_for_review_and_may_then_not_change_it_once_published(writer, editor):
    post = draft(writer)

    services.change_status(post, Post.Status.REVIEW, user=writer)
    services.publish(Post.objects.get(pk=post.pk), user=editor)

    assert Post.objects.get(pk=post.pk).status == Post.Status.PUBLISHED
    with pytest.raises(PermissionDenied):
        services.change_status(Post.objects.get(pk=post.pk), Post.Status.DRAFT, user=writer)


def test_save_post_refuses_a_writer_who_sets_published_and_a_stranger_to_the_post(writer, other_writer):
    theirs = draft(other_writer, title="他人の下書き")
    theirs.title = "書き換えた"
    with pytest.raises(PermissionDenied):
        services.save_post(theirs, user=writer)

    mine = Post(title="自分で公開", slug="self-published", status=Post.Status.PUBLISHED)
    with pytest.raises(PermissionDenied):
        services.save_post(mine, user=writer)

    assert Post.objects.get(pk=theirs.pk).title == "他人の下書き"
    assert not Post.objects.filter(slug="self-published").exists()


def test_staff_without_post_permissions_may_not_save_or_preview(django_user_model):
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)

    with pytest.raises(PermissionDenied):
        services.save_post(Post(title="無断", slug="unauthorised"), user=staff)
    with pytest.raises(PermissionDenied):
        services.create_preview(user=staff, values={"title": "無断"})
    assert not Post.objects.exists()


# Saving


def test_save_post_makes_the_user_the_author_of_a_new_post_and_keeps_a_revision(writer):
    post = services.save_post(Post(title="新しい記事", slug="new-post", body="本文。"), user=writer, comment="書き始めた")

    post.refresh_from_db()
    assert (post.author, post.updated_by, post.status) == (writer, writer, Post.Status.DRAFT)
    [version] = Version.objects.get_for_object(post)
    assert (version.revision.user, version.revision.get_comment()) == (writer, "書き始めた")


def test_save_post_sets_categories_and_tags_and_keeps_the_author_when_an_editor_saves(writer, editor):
    post = draft(writer)
    category, tag = Category.objects.create(name="AIニュース", slug="ai-news"), Tag.objects.create(name="LLM", slug="llm")

    post.title = "編集者が直した"
    services.save_post(post, user=editor, categories=[category], tags=[tag])

    post = Post.objects.get(pk=post.pk)
    assert (post.title, post.author, post.updated_by) == ("編集者が直した", writer, editor)
    assert list(post.categories.all()) == [category] and list(post.tags.all()) == [tag]


def test_save_post_with_a_status_moves_the_post_in_the_same_save(editor):
    post = draft(editor)
    at = (timezone.now() + 3 * HOUR).replace(microsecond=0)

    post.title = "予約した記事"
    services.save_post(post, user=editor, status=Post.Status.PUBLISHED, at=at)

    post = Post.objects.get(pk=post.pk)
    assert (post.title, post.status, post.published_at) == ("予約した記事", Post.Status.PUBLISHED, at)
    assert comments(post)[-1] == _("Scheduled for %(time)s.") % {"time": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")}


# Publishing and scheduling


def test_publishing_without_a_time_publishes_now(editor, client):
    post = draft(editor, published_at=timezone.now() - 30 * 24 * HOUR)

    services.publish(post, user=editor)

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert timezone.now() - post.published_at < timezone.timedelta(seconds=5)
    assert Post.objects.published().filter(pk=post.pk).exists()
    assert client.get(f"/posts/{post.slug}/").status_code == 200


def test_publishing_a_post_readers_already_see_keeps_its_date(editor):
    post = make_post()
    date = post.published_at

    services.publish(post, user=editor)

    assert Post.objects.get(pk=post.pk).published_at == date


def test_a_schedule_in_the_past_is_refused_with_a_message_and_changes_nothing(editor):
    post = draft(editor)
    before = stored(post)
    past = timezone.now() - 2 * HOUR

    with pytest.raises(ValidationError) as refused:
        services.publish(post, user=editor, at=past)

    assert refused.value.code == "past"
    assert timezone.localtime(past).strftime("%Y-%m-%d %H:%M") in refused.value.messages[0]
    assert stored(post) == before
    assert not Version.objects.get_for_object(post).exists()


def test_check_status_says_what_a_change_would_do_and_changes_nothing(editor):
    post = draft(editor)
    before = stored(post)
    at = timezone.now() + HOUR

    assert services.check_status(post, Post.Status.PUBLISHED, user=editor, at=at) == at
    assert services.check_status(post, Post.Status.REVIEW, user=editor) == post.published_at
    assert stored(post) == before


def test_a_scheduled_post_appears_through_published_at_its_time(editor, client):
    post = draft(editor, title="予約した記事")
    at = (timezone.now() + 3 * HOUR).replace(microsecond=0)

    services.publish(post, user=editor, at=at)

    assert Post.objects.get(pk=post.pk).is_scheduled
    assert not Post.objects.published().filter(pk=post.pk).exists()
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    with mock.patch("django.utils.timezone.now", return_value=at - timezone.timedelta(seconds=1)):
        assert not Post.objects.published().filter(pk=post.pk).exists()
    with mock.patch("django.utils.timezone.now", return_value=at):
        assert Post.objects.published().filter(pk=post.pk).exists()
        assert client.get(f"/posts/{post.slug}/").status_code == 200


def test_unpublishing_takes_a_post_off_the_site_and_keeps_its_date(editor, client):
    post = make_post()
    date = post.published_at

    services.unpublish(post, user=editor)

    post.refresh_from_db()
    assert (post.status, post.published_at) == (Post.Status.UNPUBLISHED, date)
    assert client.get(f"/posts/{post.slug}/").status_code == 404


# Revisions


def test_each_status_change_keeps_a_revision_that_says_what_happened(writer, editor):
    post = draft(writer)
    at = (timezone.now() + 2 * HOUR).replace(microsecond=0)

    services.change_status(post, Post.Status.REVIEW, user=writer)
    services.publish(Post.objects.get(pk=post.pk), user=editor, at=at)
    services.unpublish(Post.objects.get(pk=post.pk), user=editor)

    versions = list(Version.objects.get_for_object(post).select_related("revision__user").order_by("pk"))
    assert [version.revision.user for version in versions] == [writer, editor, editor]
    assert [version.field_dict["status"] for version in versions] == ["review", "published", "unpublished"]
    assert comments(post) == [
        _("Status changed to “%(status)s”.") % {"status": Post.Status.REVIEW.label},
        _("Scheduled for %(time)s.") % {"time": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")},
        _("Status changed to “%(status)s”.") % {"status": Post.Status.UNPUBLISHED.label},
    ]


# Previews


def test_create_preview_shows_the_changes_and_writes_nothing(editor):
    post = make_post(title="保存済み", body="保存済みの本文。")
    category = Category.objects.create(name="研究", slug="research")
    box = AffiliateBox(keyword="GPU", position=0, placement=AffiliateBox.Placement.END)
    before = stored(post)

    with CaptureQueriesContext(connection) as queries:
        preview = services.create_preview(
            Post.objects.get(pk=post.pk),
            user=editor,
            values={"title": "未保存の題名", "body": "未保存の**本文**。", "edit_token": "ignored"},
            categories=[category],
            boxes=[box],
        )

    writes = [query["sql"] for query in queries if not query["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert stored(post) == before
    assert preview.title == "未保存の題名" and "<strong>本文</strong>" in preview.body_html
    assert list(preview.categories.all()) == [category] and list(preview.affiliate_boxes.all()) == [box]


def test_a_preview_of_a_new_post_is_by_its_author_and_saves_no_post(writer):
    preview = services.create_preview(user=writer, values={"title": "まだない記事", "body": "下書き。"})

    assert (preview.title, preview.author, preview.slug) == ("まだない記事", writer, "preview")
    assert not Post.objects.exists()


def test_a_writer_may_not_preview_another_writers_post(writer, other_writer):
    with pytest.raises(PermissionDenied):
        services.create_preview(draft(other_writer), user=writer)


# Words


@pytest.mark.parametrize(
    ("delay", "words"),
    [(3 * HOUR, "3時間後"), (3 * HOUR - timezone.timedelta(seconds=1), "3時間後"), (48 * HOUR, "2日後"), (timezone.timedelta(seconds=20), "まもなく")],
)
def test_relative_time_says_how_far_off_a_time_is(delay, words):
    now = timezone.now()
    with translation.override("ja"):
        assert services.relative_time(now + delay, now) == words


def test_the_schedule_note_says_when_and_how_soon():
    now = timezone.now()
    at = now + 3 * HOUR
    note = services.schedule_note(at, now)
    assert services.relative_time(at, now) in note
    assert timezone.localtime(at).strftime("%Y-%m-%d %H:%M") in note


# The post form's status buttons, through the services


CHANGE = "/admin/posts/post/{}/change/"


def submit_buttons(page):
    return re.findall(r'<button type="submit" name="_kiji_status" value="([a-z]+)"', page)


def test_writers_are_offered_draft_and_review_and_editors_also_publish_and_schedule(writer, editor):
    assert submit_buttons(logged_in(writer).get("/admin/posts/post/add/").content.decode()) == ["draft", "review"]
    assert submit_buttons(logged_in(editor).get("/admin/posts/post/add/").content.decode()) == [
        "draft", "review", "publish", "schedule",
    ]  # fmt: skip
    # A post readers see is saved as it stands (「保存」): no button would change it by surprise.
    live = make_post()
    assert submit_buttons(logged_in(editor).get(CHANGE.format(live.pk)).content.decode()) == []


def test_the_review_button_sends_a_writers_draft_to_review_and_stays_on_the_form(writer):
    post = draft(writer)
    client = logged_in(writer)

    response = client.post(CHANGE.format(post.pk), opened_form(client, CHANGE.format(post.pk), _kiji_status="review"))

    assert response.status_code == 302 and response["Location"] == CHANGE.format(post.pk)
    post.refresh_from_db()
    assert (post.status, post.updated_by) == (Post.Status.REVIEW, writer)
    assert comments(post)[-1].startswith(_("Status changed to “%(status)s”.") % {"status": Post.Status.REVIEW.label})


def test_a_writer_posting_the_publish_button_anyway_gets_an_error_and_nothing_changes(writer):
    post = draft(writer)
    client = logged_in(writer)

    response = client.post(CHANGE.format(post.pk), opened_form(client, CHANGE.format(post.pk), _kiji_status="publish"))

    assert response.status_code == 200
    assert Post.objects.get(pk=post.pk).status == Post.Status.DRAFT


def test_the_schedule_button_schedules_at_the_forms_time_and_says_when_readers_see_it(editor, client):
    post = draft(editor, title="予約する記事")
    editors = logged_in(editor)
    at = (timezone.now() + 3 * HOUR + timezone.timedelta(minutes=1)).replace(second=0, microsecond=0)
    local = timezone.localtime(at)
    data = opened_form(
        editors,
        CHANGE.format(post.pk),
        _kiji_status="schedule",
        published_at_0=local.strftime("%Y-%m-%d"),
        published_at_1=local.strftime("%H:%M:%S"),
    )

    response = editors.post(CHANGE.format(post.pk), data, follow=True)

    post.refresh_from_db()
    assert (post.status, post.published_at) == (Post.Status.PUBLISHED, at)
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    page = html.unescape(response.content.decode())
    assert services.schedule_note(at) in page  # in the message, and beside the button
    assert "3時間後" in page
    assert comments(post)[-1].startswith(_("Scheduled for %(time)s.") % {"time": local.strftime("%Y-%m-%d %H:%M")})


def test_a_past_time_for_the_schedule_button_is_refused_on_the_form_which_keeps_the_text(editor):
    post = draft(editor, title="予約し損ねる記事", body="元の本文。")
    editors = logged_in(editor)
    past = timezone.localtime(timezone.now() - 2 * HOUR)
    data = opened_form(
        editors,
        CHANGE.format(post.pk),
        _kiji_status="schedule",
        body="書き足した本文。",
        published_at_0=past.strftime("%Y-%m-%d"),
        published_at_1=past.strftime("%H:%M:%S"),
    )

    response = editors.post(CHANGE.format(post.pk), data)

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert _("The publish time %(time)s has passed: choose a time to come, or publish now.") % {
        "time": past.strftime("%Y-%m-%d %H:%M")
    } in page
    assert "書き足した本文。" in page
    post.refresh_from_db()
    assert (post.status, post.body) == (Post.Status.DRAFT, "元の本文。")


def test_the_publish_button_publishes_a_new_post_now(editor, client):
    editors = logged_in(editor)
    data = opened_form(editors, "/admin/posts/post/add/", title="すぐ出す記事", slug="right-away", body="本文。", _kiji_status="publish")
    data.pop("_save")

    response = editors.post("/admin/posts/post/add/", data)

    post = Post.objects.get(slug="right-away")
    assert response.status_code == 302 and response["Location"] == CHANGE.format(post.pk)
    assert (post.status, post.author) == (Post.Status.PUBLISHED, editor)
    assert client.get("/posts/right-away/").status_code == 200


def test_the_list_actions_go_through_change_status(editor, writer):
    post = draft(writer, status=Post.Status.REVIEW)

    with mock.patch("posts.services.change_status", wraps=services.change_status) as change_status:
        logged_in(editor).post(
            "/admin/posts/post/", {"action": "publish_now", "_selected_action": [post.pk], "index": "0"}
        )

    [call] = change_status.call_args_list
    assert call.args[1:] == (Post.Status.PUBLISHED,) and call.kwargs["user"] == editor
    assert Post.objects.get(pk=post.pk).status == Post.Status.PUBLISHED
