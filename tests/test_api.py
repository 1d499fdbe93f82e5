"""The write API through HTTP: posts (create, read, update, list, publish, unpublish,
upsert by external id), terms, media, products and boxes, the schedule, idempotent
retries, revisions, and the OpenAPI document with its docs page.

The helpers here are shared by the other tests/test_api_*.py files."""

import json
import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.translation import gettext as _
from reversion.models import Version

from posts.api import auth
from posts.models import ApiExternalId, ApiWrite, Category, MediaImage, Post, Product, Tag
from tests.conftest import image_bytes, scripts

pytestmark = pytest.mark.django_db

DESCRIPTION = "社内の文書をローカルLLMで検索する仕組みを、必要な機材の準備からインデックスの作り方、日々の運用まで、手順を追って説明します。"


def make_token(role="writer", name="generator", **fields):
    """A token and its secret."""
    return auth.create_token(name=name, role=role, **fields)


def api_client(secret):
    """A client that sends `secret` as its bearer token (none: no header)."""
    return Client(headers={"Authorization": f"Bearer {secret}"}) if secret else Client()


def send(client, method, url, data=None, **headers):
    """A JSON request; `headers` as Django's test client takes them."""
    body = json.dumps(data) if data is not None else ""
    return getattr(client, method)(url, data=body, content_type="application/json", headers=headers)


def good_post(**overrides):
    """A post every default guardrail lets through."""
    return {
        "title": "ローカルLLMで社内文書を検索する",
        "body": "## 3行要約\n\n- 一つ目。\n- 二つ目。\n\n## 本文\n\n本文です。\n",
        "description": DESCRIPTION,
        **overrides,
    }


def upload(client, content=None, name="cover.png"):
    content = image_bytes("PNG", (64, 48)) if content is None else content
    return client.post("/api/v1/media", {"file": SimpleUploadedFile(name, content)})


@pytest.fixture
def writer():
    return api_client(make_token("writer")[1])


@pytest.fixture
def editor():
    return api_client(make_token("editor", name="desk")[1])


def test_an_editor_publishes_a_whole_post_with_cover_terms_and_boxes(editor):
    Category.objects.create(name="AI Guide")
    Tag.objects.create(name="LLM")
    Product.objects.create(name="RTX 4090", slug="rtx-4090", keyword="RTX 4090")
    cover = upload(editor).json()
    response = send(
        editor,
        "post",
        "/api/v1/posts",
        good_post(
            status="published",
            categories=["AI Guide"],
            tags=["llm", "RAG"],
            cover_media_id=cover["id"],
            cover_alt="社内文書を検索する画面",
            boxes=[{"product": "rtx-4090"}, {"keyword": "RAG 入門 本", "placement": "end"}],
        ),
    )
    assert response.status_code == 201, response.json()
    post = response.json()
    assert post["status"] == "published" and post["publication"] == "live"
    # Nothing flagged; the tag written in another case is the existing one.
    assert [(problem["rule"], problem["action"]) for problem in post["problems"]] == [("tags", "fixed")]
    assert [term["name"] for term in post["categories"]] == ["AI Guide"]
    assert sorted(term["name"] for term in post["tags"]) == ["LLM", "RAG"]
    assert post["cover"]["url"] == cover["url"] and post["cover"]["width"] == 64
    assert [(box["product"], box["keyword"], box["placement"]) for box in post["boxes"]] == [
        ("rtx-4090", "", "summary"),
        (None, "RAG 入門 本", "end"),
    ]
    page = Client().get(post["url"])
    assert page.status_code == 200 and "ローカルLLMで社内文書を検索する" in page.content.decode()
    assert editor.get(f"/api/v1/posts/{post['id']}").json() == {**post, "problems": []}  # none open


def test_every_api_save_is_a_revision_by_the_token(editor):
    created = send(editor, "post", "/api/v1/posts", good_post(tags=["LLM"])).json()
    send(editor, "patch", f"/api/v1/posts/{created['id']}", {"title": "新しい見出しの記事"})
    versions = Version.objects.get_for_object(Post.objects.get(pk=created["id"])).select_related("revision__user")
    assert len(versions) == 2
    assert {version.revision.user.username for version in versions} == {"api+desk"}
    assert all("desk" in version.revision.comment for version in versions)
    assert versions[1].field_dict["tags"] == [Tag.objects.get(name="LLM").pk]  # the terms as saved


def test_patch_changes_only_the_fields_sent(writer):
    created = send(writer, "post", "/api/v1/posts", good_post(tags=["LLM"])).json()
    response = send(writer, "patch", f"/api/v1/posts/{created['id']}", {"body": "## 新しい本文\n\nです。\n"})
    assert response.status_code == 200
    post = response.json()
    assert post["title"] == created["title"] and post["slug"] == created["slug"]
    assert [tag["name"] for tag in post["tags"]] == ["LLM"]
    assert "新しい本文" in post["body"]


def test_posts_are_listed_newest_first_with_filters(editor):
    Category.objects.create(name="AI Guide")
    first = send(editor, "post", "/api/v1/posts", good_post(title="最初の記事です", categories=["AI Guide"], status="published")).json()
    second = send(editor, "post", "/api/v1/posts", good_post(title="二番目の下書き", tags=["LLM"], external_id="gen-2")).json()
    def ids(query=""):
        return [item["id"] for item in editor.get(f"/api/v1/posts{query}").json()["items"]]

    assert ids() == [second["id"], first["id"]]
    assert ids("?status=published") == [first["id"]]
    assert ids("?category=ai-guide") == [first["id"]]
    assert ids("?tag=llm") == [second["id"]]
    assert ids("?external_id=gen-2") == [second["id"]]
    assert ids("?limit=1&offset=1") == [first["id"]]
    assert editor.get("/api/v1/posts?limit=1").json()["count"] == 2
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    assert ids(f"?published_after={later.replace('+', '%2B')}") == []
    assert editor.get("/api/v1/posts?limit=1000").status_code == 422


def test_a_post_is_scheduled_and_shows_in_the_schedule(editor):
    at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    created = send(editor, "post", "/api/v1/posts", good_post()).json()
    response = send(editor, "post", f"/api/v1/posts/{created['id']}/publish", {"at": at.isoformat()})
    assert response.status_code == 200 and response.json()["publication"] == "scheduled"
    assert Client().get(created["url"]).status_code == 404
    schedule = editor.get("/api/v1/schedule?days=3").json()
    assert [item["id"] for item in schedule["scheduled"]] == [created["id"]]
    tomorrow = timezone.localdate(at).isoformat()
    assert {day["date"]: day["posts"] for day in schedule["days"]}[tomorrow] == 1


def test_a_publish_time_in_the_past_is_refused(editor):
    created = send(editor, "post", "/api/v1/posts", good_post()).json()
    past = (timezone.now() - timedelta(days=2)).isoformat()
    response = send(editor, "post", f"/api/v1/posts/{created['id']}/publish", {"at": past})
    assert response.status_code == 422 and response.json()["errors"]


def test_invalid_requests_get_422_with_the_fields(writer):
    response = send(writer, "post", "/api/v1/posts", {"title": "", "status": "gone"})
    assert response.status_code == 422
    fields = {error["loc"][-1] for error in response.json()["errors"]}
    assert {"title", "status"} <= fields
    assert send(writer, "post", "/api/v1/posts", good_post(slug="a b")).status_code == 422
    assert writer.get("/api/v1/posts/999999").status_code == 404


def test_terms_are_read_by_everyone_and_added_as_the_roles_allow(writer, editor):
    Category.objects.create(name="AI Guide")
    assert [term["slug"] for term in writer.get("/api/v1/categories").json()] == ["ai-guide"]
    assert writer.get("/api/v1/categories/ai-guide").json()["name"] == "AI Guide"
    # Categories are an admin's (docs/roles.md); writers add tags while writing.
    assert send(writer, "post", "/api/v1/categories", {"name": "Guides"}).status_code == 403
    assert send(editor, "post", "/api/v1/categories", {"name": "Guides"}).status_code == 403
    admin = api_client(make_token("admin", name="boss")[1])
    assert send(admin, "post", "/api/v1/categories", {"name": "Guides"}).status_code == 201
    created = send(writer, "post", "/api/v1/tags", {"name": "AI"})
    assert created.status_code == 201 and created.json()["slug"] == "ai"
    twin = send(writer, "post", "/api/v1/tags", {"name": "ＡＩ"})
    assert twin.status_code == 409 and twin.json()["url"] == "/tags/ai/"
    assert [tag["name"] for tag in writer.get("/api/v1/tags").json()] == ["AI"]


def test_images_go_through_the_editors_pipeline(writer):
    response = upload(writer)
    assert response.status_code == 201
    image = MediaImage.objects.get(pk=response.json()["id"])
    assert (image.width, image.height) == (64, 48) and image.uploaded_by.username == "api+generator"
    assert response.json()["markdown"] == f"![]({image.file.url})"
    assert writer.get(f"/api/v1/media/{image.pk}").json()["url"] == image.file.url
    svg = upload(writer, b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg")
    assert svg.status_code == 422 and "SVG" in svg.json()["detail"]


def test_products_are_added_by_editors_and_boxes_replaced_on_a_post(writer, editor):
    product = {"name": "RTX 4090 24GB", "keyword": "RTX 4090"}
    assert send(writer, "post", "/api/v1/products", product).status_code == 403
    created = send(editor, "post", "/api/v1/products", product)
    assert created.status_code == 201 and created.json()["slug"] == "rtx-4090-24gb"
    changed = send(editor, "patch", "/api/v1/products/rtx-4090-24gb", {"reason": "24GBで大きなモデルも動く"})
    assert changed.json()["reason"] == "24GBで大きなモデルも動く"
    assert [item["slug"] for item in writer.get("/api/v1/products").json()] == ["rtx-4090-24gb"]
    post = send(writer, "post", "/api/v1/posts", good_post(boxes=[{"keyword": "GPU"}])).json()
    response = send(writer, "put", f"/api/v1/posts/{post['id']}/boxes", [{"product": "rtx-4090-24gb", "placement": "end"}])
    assert [(box["product"], box["placement"]) for box in response.json()["boxes"]] == [("rtx-4090-24gb", "end")]
    missing = send(writer, "put", f"/api/v1/posts/{post['id']}/boxes", [{"product": "nothing"}])
    assert missing.status_code == 422 and "nothing" in missing.json()["detail"]


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(writer):
    first = send(writer, "post", "/api/v1/posts", good_post(), **{"Idempotency-Key": "run-1"})
    again = send(writer, "post", "/api/v1/posts", good_post(), **{"Idempotency-Key": "run-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Post.objects.count() == 1
    assert list(ApiWrite.objects.order_by("id").values_list("replayed", flat=True)) == [False, True]
    other = send(writer, "post", "/api/v1/posts", good_post(title="別の記事"), **{"Idempotency-Key": "run-1"})
    assert other.status_code == 422
    assert other.json()["detail"] == _("This Idempotency-Key was sent with another request: use a new key for a new request.")


def test_a_failed_request_is_not_kept_so_its_retry_runs(writer):
    failed = send(writer, "post", "/api/v1/posts", good_post(slug="bad slug"), **{"Idempotency-Key": "run-2"})
    assert failed.status_code == 422
    fixed = send(writer, "post", "/api/v1/posts", good_post(slug="bad slug"), **{"Idempotency-Key": "run-2"})
    assert fixed.status_code == 422 and "Idempotent-Replayed" not in fixed


def test_an_external_id_makes_a_retried_create_return_the_first_post(writer):
    first = send(writer, "post", "/api/v1/posts", good_post(external_id="news-123"))
    again = send(writer, "post", "/api/v1/posts", good_post(external_id="news-123", title="再送"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["title"] == first.json()["title"]
    assert Post.objects.count() == 1 and ApiExternalId.objects.get().post_id == first.json()["id"]
    assert writer.get("/api/v1/posts/by-external-id/news-123").json()["id"] == first.json()["id"]


def test_put_by_external_id_creates_then_updates(writer):
    made = send(writer, "put", "/api/v1/posts/by-external-id/news-9", good_post())
    assert made.status_code == 201 and made.json()["external_id"] == "news-9"
    updated = send(writer, "put", "/api/v1/posts/by-external-id/news-9", good_post(title="見出しを直した記事"))
    assert updated.status_code == 200 and updated.json()["id"] == made.json()["id"]
    assert Post.objects.get().title == "見出しを直した記事"
    assert updated.json()["slug"] == made.json()["slug"]  # the URL stays


def test_the_openapi_document_and_its_docs_page(writer):
    document = Client().get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/posts", "/api/v1/posts/by-external-id/{external_id}", "/api/v1/media", "/api/v1/schedule"} <= set(document["paths"])
    assert any(parameter["name"] == "Idempotency-Key" for parameter in document["paths"]["/api/v1/posts"]["post"]["parameters"])
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    inline = [text for attrs, text in scripts(html) if text.strip() and attrs.get("type") != "application/json"]
    assert inline == [] and "cdn" not in html
    assert "Content-Security-Policy" in page
    for attrs, _text in scripts(html):
        if attrs.get("src"):
            assert Client().get(attrs["src"]).status_code == 200


def test_the_client_in_the_docs_publishes_a_post_with_a_cover_and_a_box(live_server, editorial_groups, tmp_path, monkeypatch):
    docs = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    [client_code] = [block for block in re.findall(r"```python\n(.*?)```", docs, re.S) if "def publish(" in block]
    monkeypatch.setenv("KIJI_API", f"{live_server.url}/api/v1")
    monkeypatch.setenv("KIJI_TOKEN", make_token("editor")[1])
    Category.objects.create(name="AI Guide")
    cover = tmp_path / "cover.png"
    cover.write_bytes(image_bytes("PNG", (64, 48)))
    client = {}
    exec(client_code, client)
    article = ("2026-06-01-local-rag", "ローカルRAGの作り方", "## 3行要約\n\n- 要点。\n\n## 本文\n\n本文。\n", DESCRIPTION, str(cover), "検索画面", "RTX 4090")
    post = client["publish"](*article)
    assert post["status"] == "published" and post["cover"]["width"] == 64
    assert [box["keyword"] for box in post["boxes"]] == ["RTX 4090"]
    assert client["publish"](*article)["id"] == post["id"]  # run again: the same post, the same cover
    assert Post.objects.count() == 1 and MediaImage.objects.count() == 1
    assert Client().get(post["url"]).status_code == 200


def test_times_with_offsets_the_database_cannot_hold_are_moved_to_utc_or_refused():
    client = api_client(make_token("editor")[1])
    # ISO 8601 allows offsets PostgreSQL refuses; in UTC they are ordinary times.
    listed = client.get("/api/v1/posts", {"published_before": "0236-01-10T21:00:40-19:38"})
    assert listed.status_code == 200 and listed.json()["count"] == 0
    scheduled = send(client, "post", "/api/v1/posts", good_post(status="published", published_at="2099-01-01T09:00:00+14:30"))
    assert scheduled.status_code == 201
    assert Post.objects.get().published_at == datetime(2098, 12, 31, 18, 30, tzinfo=dt_timezone.utc)
    # A year that leaves the calendar once moved to UTC is a request's mistake, not a 500.
    assert client.get("/api/v1/posts", {"published_after": "0001-01-01T00:00:00+05:00"}).status_code == 422
