"""A post's history: every save keeps a version, versions are compared side by side,
restored, and deleted posts recovered (django-reversion behind the admin)."""

import re

import pytest
import reversion
from django.utils.translation import gettext as _
from reversion.models import Version

from posts.models import Category, Post, Tag
from tests.conftest import (
    article_body,
    diff_rows,
    form_data,
    logged_in,
    make_post,
    member,
    opened_form,
    run_command,
)

pytestmark = pytest.mark.django_db

FIRST_BODY = "## 3行要約\n\n- 最初の版の要点。\n\n## 本文\n\n最初の版の本文です。"
SECOND_BODY = "## 3行要約\n\n- 二つ目の版の要点。\n\n## 本文\n\n二つ目の版の本文です。"
SOURCE = "content/posts/2025-01-20-openai-news.md"


def change_url(post):
    return f"/admin/posts/post/{post.pk}/change/"


def versions(post):
    """The post's versions, oldest first."""
    return list(Version.objects.get_for_object(post).select_related("revision__user").order_by("pk"))


@pytest.fixture
def editor():
    return member("Editor", "editor", first_name="花子", last_name="編集")


@pytest.fixture
def editors(editor):
    return logged_in(editor)


@pytest.fixture
def terms():
    return {
        "news": Category.objects.create(name="AIニュース", slug="ai-news"),
        "research": Category.objects.create(name="研究", slug="research"),
        "llm": Tag.objects.create(name="LLM", slug="llm"),
        "gpu": Tag.objects.create(name="GPU", slug="gpu"),
    }


def add_post(client, **fields):
    """A post added through the admin form, with one affiliate box."""
    data = opened_form(
        client,
        "/admin/posts/post/add/",
        **{
            "title": "最初の題名",
            "slug": "versioned",
            "body": FIRST_BODY,
            "status": "published",
            "published_at_0": "2025-04-01",
            "published_at_1": "09:00:00",
            "affiliate_boxes-TOTAL_FORMS": "1",
            "affiliate_boxes-0-keyword": "LLM 入門 本",
            "affiliate_boxes-0-product_name": "大規模言語モデル入門",
            "affiliate_boxes-0-reason": "基礎から学べます。",
            "affiliate_boxes-0-placement": "summary",
            "affiliate_boxes-0-position": "0",
            **fields,
        },
    )
    response = client.post("/admin/posts/post/add/", data)
    assert response.status_code == 302, response.content.decode()
    return Post.objects.get(slug=data["slug"])


def edit_post(client, post, **changes):
    response = client.post(change_url(post), opened_form(client, change_url(post), **changes))
    assert response.status_code == 302, response.content.decode()


def test_every_admin_save_keeps_a_version_with_who_made_it(editor, editors):
    post = add_post(editors)
    edit_post(editors, post, title="二つ目の題名")
    edit_post(editors, post, body=SECOND_BODY)

    kept = versions(post)

    assert len(kept) == 3
    assert [version.revision.user for version in kept] == [editor] * 3
    assert [version.field_dict["title"] for version in kept] == ["最初の題名", "二つ目の題名", "二つ目の題名"]


def test_actions_keep_a_version_too(editor, editors):
    post = make_post(status=Post.Status.REVIEW)

    editors.post("/admin/posts/post/", {"action": "publish_now", "_selected_action": [post.pk], "index": "0"})

    [version] = versions(post)
    assert version.revision.user == editor
    assert version.field_dict["status"] == "published"
    assert version.revision.get_comment()


def test_the_history_page_lists_the_versions_with_compare_links(editors):
    post = add_post(editors)
    edit_post(editors, post, title="二つ目の題名")

    response = editors.get(f"/admin/posts/post/{post.pk}/history/")

    assert response.status_code == 200
    html = response.content.decode()
    for version in versions(post):
        assert f'href="/admin/posts/post/{post.pk}/history/{version.pk}/compare/"' in html
        assert f'href="/admin/posts/post/{post.pk}/history/{version.pk}/"' in html
    assert html.count("/compare/") == 2


def test_compare_shows_title_body_and_terms_side_by_side_with_the_version_before(editors, terms):
    post = add_post(editors, categories=[terms["news"].pk], tags=[terms["llm"].pk])
    edit_post(
        editors,
        post,
        title="二つ目の題名",
        body=SECOND_BODY,
        categories=[terms["research"].pk],
        tags=[terms["llm"].pk, terms["gpu"].pk],
    )
    first, second = versions(post)

    response = editors.get(f"/admin/posts/post/{post.pk}/history/{second.pk}/compare/")

    assert response.status_code == 200
    rows = diff_rows(response.content.decode())
    assert rows[_("Title")] == ("最初の題名", "二つ目の題名")
    assert rows[_("Categories")] == ("AIニュース", "研究")
    assert rows[_("Tags")] == ("LLM", "GPU, LLM")
    before, after = rows[_("Body")]
    assert "最初の版の本文です。" in before and "二つ目の版の本文です。" in after
    assert _("Slug") not in rows and _("Status") not in rows


def test_compare_of_the_first_version_shows_everything_as_new(editors, terms):
    post = add_post(editors, categories=[terms["news"].pk])
    [first] = versions(post)

    rows = diff_rows(editors.get(f"/admin/posts/post/{post.pk}/history/{first.pk}/compare/").content.decode())

    # An empty side shows as a dash.
    assert rows.get(_("Title")) == ("—", "最初の題名"), rows
    assert rows.get(_("Categories")) == ("—", "AIニュース"), rows


def test_restoring_an_older_version_brings_back_its_text_and_its_page(editors, client):
    post = add_post(editors)
    edit_post(editors, post, title="二つ目の題名", body=SECOND_BODY)
    assert "二つ目の版の本文です。" in client.get("/posts/versioned/").content.decode()
    first = versions(post)[0]
    url = f"/admin/posts/post/{post.pk}/history/{first.pk}/"

    form = editors.get(url)
    assert form.status_code == 200
    data = {**form_data(form.content.decode()), "_save": "保存"}
    assert (data["title"], data["body"]) == ("最初の題名", FIRST_BODY)
    assert Post.objects.get(pk=post.pk).title == "二つ目の題名"  # opening it changes nothing
    response = editors.post(url, data)

    assert response.status_code == 302, response.content.decode()
    restored = Post.objects.get(pk=post.pk)
    assert (restored.title, restored.body) == ("最初の題名", FIRST_BODY)
    assert "最初の版の本文です。" in restored.body_html and "二つ目" not in restored.body_html
    html = client.get("/posts/versioned/").content.decode()
    assert "最初の版の本文です。" in article_body(html) and "二つ目の版の本文です。" not in html
    assert len(versions(post)) == 3  # restoring is itself a version, so it can be undone


def test_a_deleted_post_is_recovered_with_its_terms_and_boxes_at_its_url(editors, terms, client):
    post = add_post(editors, categories=[terms["news"].pk], tags=[terms["llm"].pk, terms["gpu"].pk])
    pk = post.pk
    assert editors.post(f"/admin/posts/post/{pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Post.objects.filter(pk=pk).exists()
    assert client.get("/posts/versioned/").status_code == 404

    listing = editors.get("/admin/posts/post/recover/")
    assert listing.status_code == 200
    [version_id] = re.findall(r'href="/admin/posts/post/recover/(\d+)/"', listing.content.decode())
    assert "最初の題名" in listing.content.decode()
    url = f"/admin/posts/post/recover/{version_id}/"
    form = editors.get(url)
    assert form.status_code == 200
    assert not Post.objects.filter(pk=pk).exists()  # opening it changes nothing
    response = editors.post(url, {**form_data(form.content.decode()), "_save": "保存"})

    assert response.status_code == 302, response.content.decode()
    recovered = Post.objects.get(pk=pk)
    assert recovered.title == "最初の題名"
    assert list(recovered.categories.values_list("name", flat=True)) == ["AIニュース"]
    assert sorted(recovered.tags.values_list("name", flat=True)) == ["GPU", "LLM"]
    assert list(recovered.affiliate_boxes.values_list("keyword", "product_name")) == [("LLM 入門 本", "大規模言語モデル入門")]
    html = client.get("/posts/versioned/").content.decode()
    assert "最初の版の本文です。" in article_body(html)
    assert "大規模言語モデル入門" in html


def test_import_hugo_keeps_a_version_naming_the_file_each_time_it_changes_a_post(hugo_site, media_root):
    run_command("import_hugo", hugo_site)
    post = Post.objects.get(source_path=SOURCE)
    source = hugo_site / SOURCE
    source.write_text(source.read_text().replace("新しい推論モデルの発表を読む", "推論モデルの発表を読み直す"))

    run_command("import_hugo", hugo_site)

    kept = versions(post)
    assert [version.field_dict["title"] for version in kept] == ["新しい推論モデルの発表を読む", "推論モデルの発表を読み直す"]
    assert [version.revision.get_comment() for version in kept] == [f"import_hugo: {SOURCE}"] * 2
    assert kept[-1].revision.user is None


def test_writers_see_only_their_own_deleted_posts_to_recover(editors):
    writers = {name: member("Writer", name) for name in ("kaku", "tsuzuru")}
    for name, user in writers.items():
        with reversion.create_revision():  # as the admin's add form keeps a version
            post = Post.objects.create(title=f"{name}の下書き", slug=f"{name}-draft", author=user, status=Post.Status.DRAFT)
        assert logged_in(user).post(f"/admin/posts/post/{post.pk}/delete/", {"post": "yes"}).status_code == 302

    own = logged_in(writers["kaku"]).get("/admin/posts/post/recover/").content.decode()
    everyone = editors.get("/admin/posts/post/recover/").content.decode()

    assert "kakuの下書き" in own and "tsuzuruの下書き" not in own
    assert "kakuの下書き" in everyone and "tsuzuruの下書き" in everyone
