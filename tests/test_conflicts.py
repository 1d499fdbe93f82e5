"""Two people, one post: a form opened before someone else saved the post is refused,
shows what changed side by side and keeps its text; saving it again overwrites."""

import re
from html import unescape

import pytest
from django.utils.translation import gettext as _
from django.utils import timezone

from posts.models import Post
from posts.workflow import editor_name
from tests.conftest import diff_rows, form_data, logged_in, make_post, member, opened_form, run_command

pytestmark = pytest.mark.django_db

# Without a final newline, as the form stores them (its fields strip their text).
ORIGINAL_BODY = "## 本文\n\n最初の段落。\n\n二つ目の段落。\n\n三つ目の段落。"
A_BODY = "## 本文\n\n最初の段落。\n\nAが書き直した二つ目の段落。\n\n三つ目の段落。"
B_BODY = "## 本文\n\n最初の段落。\n\nBが書き直した二つ目の段落。\n\n三つ目の段落。"


def change_url(post):
    return f"/admin/posts/post/{post.pk}/change/"


def refusal(html):
    """The form-wide error the admin shows above the fields."""
    found = re.findall(r'<ul class="errorlist nonfield">(.*?)</ul>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", "", " ".join(found)))


def saved_at(post):
    return timezone.localtime(Post.objects.get(pk=post.pk).updated_at).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def editor_a():
    return member("Editor", "hanako", first_name="花子", last_name="編集")


@pytest.fixture
def writer_b():
    return member("Writer", "taro")


@pytest.fixture
def post(writer_b):
    return make_post(title="元の題名", body=ORIGINAL_BODY, status=Post.Status.REVIEW, author=writer_b)


def test_the_form_carries_the_token_of_the_version_it_was_opened_on(editor_a, post):
    data = opened_form(logged_in(editor_a), change_url(post))
    assert data["opened_token"] == str(Post.objects.get(pk=post.pk).edit_token)


def test_a_form_opened_before_someone_else_saved_is_refused_with_who_when_and_what(editor_a, writer_b, post):
    a, b = logged_in(editor_a), logged_in(writer_b)
    a_form = opened_form(a, change_url(post), title="Aの題名", body=A_BODY)
    b_form = opened_form(b, change_url(post), body=B_BODY)
    assert a_form["opened_token"] == b_form["opened_token"]

    assert a.post(change_url(post), a_form).status_code == 302
    response = b.post(change_url(post), b_form)

    assert response.status_code == 200
    html = response.content.decode()
    message = refusal(html)
    assert "花子 編集" in message and saved_at(post) in message
    rows = diff_rows(html)
    assert rows[_("Title")] == ("Aの題名", "元の題名")
    saved, yours = rows[_("Body")]
    assert "Aが書き直した二つ目の段落。" in saved and "Bが書き直した" not in saved
    assert "Bが書き直した二つ目の段落。" in yours and "Aが書き直した" not in yours
    assert form_data(html)["body"] == B_BODY
    stored = Post.objects.get(pk=post.pk)
    assert (stored.title, stored.body, stored.updated_by) == ("Aの題名", A_BODY, editor_a)


def test_saving_again_after_the_refusal_deliberately_replaces_the_other_version(editor_a, writer_b, post, client):
    a, b = logged_in(editor_a), logged_in(writer_b)
    a_form = opened_form(a, change_url(post), body=A_BODY)
    b_form = opened_form(b, change_url(post), body=B_BODY)
    a.post(change_url(post), a_form)
    refused = b.post(change_url(post), b_form).content.decode()

    again = {**form_data(refused), "_save": "保存"}
    assert again["opened_token"] == str(Post.objects.get(pk=post.pk).edit_token)
    response = b.post(change_url(post), again)

    assert response.status_code == 302, refusal(response.content.decode())
    stored = Post.objects.get(pk=post.pk)
    assert (stored.body, stored.updated_by) == (B_BODY, writer_b)
    assert "Bが書き直した二つ目の段落。" in stored.body_html


def test_the_refusal_names_an_editor_without_a_full_name_by_username(post):
    first, second = member("Editor", "first-editor"), member("Editor", "second-editor")
    a, b = logged_in(first), logged_in(second)
    a_form = opened_form(a, change_url(post), title="一人目の題名")
    b_form = opened_form(b, change_url(post), title="二人目の題名")

    a.post(change_url(post), a_form)
    response = b.post(change_url(post), b_form)

    assert response.status_code == 200
    assert "first-editor" in refusal(response.content.decode())
    assert Post.objects.get(pk=post.pk).title == "一人目の題名"


def test_a_save_by_another_path_also_makes_an_open_form_stale(editor_a, post):
    a = logged_in(editor_a)
    stale = opened_form(a, change_url(post), body=A_BODY)
    post.body = "プログラムが書き換えた本文。\n"
    post.save()

    response = a.post(change_url(post), stale)

    assert response.status_code == 200
    assert editor_name(None) in refusal(response.content.decode())
    assert form_data(response.content.decode())["body"] == A_BODY
    assert Post.objects.get(pk=post.pk).body == "プログラムが書き換えた本文。\n"


def test_an_import_hugo_update_makes_an_open_form_stale_and_is_named_as_the_import(editor_a, hugo_site, media_root):
    source = hugo_site / "content/posts/2025-01-20-openai-news.md"
    run_command("import_hugo", hugo_site)
    post = Post.objects.get(source_path="content/posts/2025-01-20-openai-news.md")
    a = logged_in(editor_a)
    stale = opened_form(a, change_url(post), title="管理画面で直した題名")
    source.write_text(source.read_text().replace("新しい推論モデルの発表を読む", "推論モデルの発表を読み直す"))
    run_command("import_hugo", hugo_site)

    response = a.post(change_url(post), stale)

    assert response.status_code == 200
    message = refusal(response.content.decode())
    assert editor_name(None) in message, message
    assert diff_rows(response.content.decode())[_("Title")] == ("推論モデルの発表を読み直す", "管理画面で直した題名")
    assert Post.objects.get(pk=post.pk).title == "推論モデルの発表を読み直す"


def test_an_import_after_an_editors_save_is_not_blamed_on_that_editor(editor_a, hugo_site, media_root):
    """The refusal names who made the version the form would replace: here the import."""
    source = hugo_site / "content/posts/2025-01-20-openai-news.md"
    run_command("import_hugo", hugo_site)
    post = Post.objects.get(source_path="content/posts/2025-01-20-openai-news.md")
    a = logged_in(editor_a)
    a.post(change_url(post), opened_form(a, change_url(post), description="編集者が足した説明。"))
    second = logged_in(member("Editor", "second-editor"))
    stale = opened_form(second, change_url(post), title="二人目が直した題名")
    source.write_text(source.read_text().replace("新しい推論モデルの発表を読む", "推論モデルの発表を読み直す"))
    run_command("import_hugo", hugo_site)

    message = refusal(second.post(change_url(post), stale).content.decode())

    assert editor_name(None) in message and "花子 編集" not in message, message


def test_the_refusal_after_an_import_gives_the_time_of_the_import(editor_a, hugo_site, media_root):
    """Not the file's date (2025-01-20 10:00), which the post keeps as its update time."""
    source = hugo_site / "content/posts/2025-01-20-openai-news.md"
    run_command("import_hugo", hugo_site)
    post = Post.objects.get(source_path="content/posts/2025-01-20-openai-news.md")
    a = logged_in(editor_a)
    stale = opened_form(a, change_url(post), title="管理画面で直した題名")
    source.write_text(source.read_text().replace("新しい推論モデルの発表を読む", "推論モデルの発表を読み直す"))
    before = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    run_command("import_hugo", hugo_site)
    after = timezone.localtime().strftime("%Y-%m-%d %H:%M")

    message = refusal(a.post(change_url(post), stale).content.decode())

    assert before in message or after in message, message
