"""The guardrails on posts a program sends, each rule off, flagging the post for review
or refusing it, answered with a machine-readable list of problems."""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from posts.api.guardrails import removed_by_sanitizer
from posts.models import ApiPolicy, ApiProblem, Category, MediaImage, Post, Redirect
from tests.conftest import image_bytes, logged_in, make_post, member
from tests.test_api import api_client, good_post, make_token, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor():
    return api_client(make_token("editor")[1])


def policy(**rules):
    current = ApiPolicy.load()
    for name, value in rules.items():
        setattr(current, name, value)
    current.save()
    return current


def rules(response):
    return [(problem["rule"], problem["action"]) for problem in response.json()["problems"]]


def test_a_slug_another_post_has_is_refused_with_its_url(editor):
    make_post(slug="local-llm", title="以前の記事")
    response = send(editor, "post", "/api/v1/posts", good_post(slug="local-llm", status="published"))
    assert response.status_code == 409
    assert response.json()["url"] == "/posts/local-llm/"
    assert rules(response) == [("slug_taken", "refuse")]
    assert response.json()["problems"][0]["field"] == "slug"
    assert Post.objects.count() == 1


def test_flagged_a_taken_slug_gets_a_new_one_and_the_post_goes_to_review(editor):
    policy(slug_taken="flag")
    make_post(slug="local-llm", title="以前の記事")
    response = send(editor, "post", "/api/v1/posts", good_post(slug="local-llm", status="published"))
    assert response.status_code == 201
    post = response.json()
    assert post["slug"] != "local-llm" and post["status"] == "review"
    assert rules(response) == [("slug_taken", "flag")]
    assert ApiProblem.objects.get(post_id=post["id"]).rule == "slug_taken"


def test_a_title_near_identical_to_a_recent_post_is_flagged(editor):
    make_post(title="ローカルLLMで社内文書を検索する方法", published_at=timezone.now() - timedelta(days=2))
    response = send(editor, "post", "/api/v1/posts", good_post(title="ローカルLLMで社内文書を検索する", status="published"))
    assert response.json()["status"] == "review"
    [problem] = response.json()["problems"]
    assert problem["rule"] == "similar_title" and problem["detail"]["similarity"] >= 0.8


def test_titles_are_compared_with_the_last_n_days_and_the_threshold_set(editor):
    make_post(title="ローカルLLMで社内文書を検索する方法", published_at=timezone.now() - timedelta(days=20))
    assert send(editor, "post", "/api/v1/posts", good_post(status="published")).json()["status"] == "published"
    make_post(title="ローカルLLMで社内の文書を探す", published_at=timezone.now() - timedelta(days=1))
    policy(similar_title_threshold=0.99)
    response = send(editor, "post", "/api/v1/posts", good_post(title="ローカルLLMで社内文書を探す", status="published"))
    assert response.json()["status"] == "published"


def test_a_missing_description_is_flagged_or_refused(editor):
    flagged = send(editor, "post", "/api/v1/posts", good_post(description="", status="published"))
    assert flagged.json()["status"] == "review" and rules(flagged) == [("description", "flag")]
    policy(description="refuse")
    refused = send(editor, "post", "/api/v1/posts", good_post(title="短い説明の記事", description="短い。"))
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["detail"] == {"length": 3, "minimum": 50}


def test_a_generic_or_missing_cover_alt_is_flagged(editor):
    cover = editor.post("/api/v1/media", {"file": _png()}).json()
    generic = send(editor, "post", "/api/v1/posts", good_post(cover_media_id=cover["id"], cover_alt="AI generated thumbnail", status="published"))
    assert rules(generic) == [("cover_alt", "flag")] and generic.json()["status"] == "review"
    missing = send(editor, "post", "/api/v1/posts", good_post(title="二つ目の記事", cover_media_id=cover["id"]))
    assert rules(missing) == [("cover_alt", "flag")]


def _png():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("cover.png", image_bytes("PNG", (40, 30)))


@pytest.fixture
def image_server():
    """A loopback server with a PNG at /cover.png and nothing elsewhere."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/cover.png":
                body = image_bytes("PNG", (48, 36))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
            else:
                body = b"gone"
                self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_remote_cover_is_downloaded_through_the_safe_fetcher_and_flagged(editor, image_server, settings):
    settings.KIJI_FETCH_ALLOW_PRIVATE = True  # the test's server is on loopback
    url = f"{image_server}/cover.png"
    response = send(editor, "post", "/api/v1/posts", good_post(cover_url=url, cover_alt="検索画面のスクリーンショット", status="published"))
    assert response.status_code == 201
    assert rules(response) == [("remote_cover", "flag")]
    post = Post.objects.get(pk=response.json()["id"])
    assert (post.cover_width, post.cover_height) == (48, 36)
    assert MediaImage.objects.get(file=post.cover.name).source == url
    again = send(editor, "post", "/api/v1/posts", good_post(title="同じ画像の別記事", cover_url=url, cover_alt="検索画面"))
    assert MediaImage.objects.count() == 1 and again.status_code == 201  # reused, not fetched again


def test_a_remote_cover_that_cannot_be_fetched_or_is_refused_saves_nothing(editor, image_server, settings):
    settings.KIJI_FETCH_ALLOW_PRIVATE = True
    missing = send(editor, "post", "/api/v1/posts", good_post(cover_url=f"{image_server}/nothing.png", cover_alt="画像"))
    assert missing.status_code == 422 and rules(missing)[-1] == ("remote_cover", "refuse")
    assert "404" in missing.json()["problems"][-1]["message"]
    settings.KIJI_FETCH_ALLOW_PRIVATE = False
    private = send(editor, "post", "/api/v1/posts", good_post(cover_url=f"{image_server}/cover.png", cover_alt="画面"))
    assert private.status_code == 422 and "private address" in private.json()["problems"][-1]["message"]
    policy(remote_cover="refuse")
    refused = send(editor, "post", "/api/v1/posts", good_post(cover_url="https://example.com/a.png", cover_alt="画面"))
    assert refused.status_code == 422 and rules(refused) == [("remote_cover", "refuse")]
    assert Post.objects.count() == 0 and MediaImage.objects.count() == 0


def test_internal_links_are_checked_and_redirected_ones_repaired(editor):
    make_post(slug="existing")
    Redirect.add("/posts/2024-01-01-old-file-name/", "/posts/existing/")
    body = (
        "## 本文\n\n[ある](/posts/existing/) [古い](/posts/2024-01-01-old-file-name/) "
        "[ない](/posts/never-existed/) [絶対](http://localhost/tags/nothing/) [外](https://example.com/posts/x/)\n"
    )
    response = send(editor, "post", "/api/v1/posts", good_post(body=body, status="published"))
    assert response.status_code == 201
    problems = response.json()["problems"]
    assert [(p["rule"], p["action"], p["detail"]["url"]) for p in problems] == [
        ("internal_links", "fixed", "/posts/2024-01-01-old-file-name/"),
        ("internal_links", "flag", "/posts/never-existed/"),
        ("internal_links", "flag", "http://localhost/tags/nothing/"),
    ]
    body = response.json()["body"]
    assert "[古い](/posts/existing/)" in body and "2024-01-01-old-file-name" not in body
    assert response.json()["status"] == "review"


def test_an_unknown_category_is_refused_unless_allowed(editor):
    Category.objects.create(name="AI Guide")
    refused = send(editor, "post", "/api/v1/posts", good_post(categories=["GUIDE"]))
    assert refused.status_code == 422 and rules(refused) == [("unknown_category", "refuse")]
    assert refused.json()["problems"][0]["detail"]["known"] == ["AI Guide"]
    matched = send(editor, "post", "/api/v1/posts", good_post(categories=["ai guide"]))
    assert [c["name"] for c in matched.json()["categories"]] == ["AI Guide"]
    policy(unknown_category="flag")
    flagged = send(editor, "post", "/api/v1/posts", good_post(title="別の記事です", categories=["GUIDE"], status="published"))
    assert flagged.json()["categories"] == [] and flagged.json()["status"] == "review"
    policy(allow_new_categories=True)
    created = send(editor, "post", "/api/v1/posts", good_post(title="三つ目の記事", categories=["GUIDE"], status="published"))
    assert [c["name"] for c in created.json()["categories"]] == ["GUIDE"] and created.json()["status"] == "published"


def test_a_body_the_sanitizer_changed_is_stored_sanitized_and_flagged(editor):
    body = '## 本文\n\n<div onclick="steal()">箱</div>\n\n<script>alert(1)</script>\n\n`<script>` in code is fine.\n'
    response = send(editor, "post", "/api/v1/posts", good_post(body=body, status="published"))
    [problem] = response.json()["problems"]
    assert problem["rule"] == "sanitized_body" and problem["detail"]["removed"] == ["div onclick", "script"]
    html = Post.objects.get(pk=response.json()["id"]).body_html
    assert "onclick" not in html and "alert(1)" not in html


def test_the_sanitizer_check_sees_only_what_it_removes():
    assert removed_by_sanitizer('<a href="https://amazon.co.jp/dp/X">買う</a> <span style="color:red">赤</span>') == []
    assert removed_by_sanitizer('<a href="javascript:alert(1)">x</a>') == ["a href"]
    assert removed_by_sanitizer("```html\n<script>x</script>\n```\n") == []
    assert removed_by_sanitizer('{{< rawhtml >}}<iframe src="x"></iframe>{{< /rawhtml >}}') == ["iframe", "iframe src"]


def test_the_daily_quota_per_category_and_the_site_cap(editor):
    policy(category_daily_quota=1)
    Category.objects.create(name="AI Guide")
    first = send(editor, "post", "/api/v1/posts", good_post(categories=["AI Guide"], status="published"))
    assert first.status_code == 201
    second = send(editor, "post", "/api/v1/posts", good_post(title="今日二つ目の記事", categories=["AI Guide"], status="published"))
    assert second.status_code == 422 and rules(second) == [("category_quota", "refuse")]
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    later = send(editor, "post", "/api/v1/posts", good_post(title="明日の記事です", categories=["AI Guide"], status="published", published_at=tomorrow))
    assert later.status_code == 201 and later.json()["publication"] == "scheduled"
    draft = send(editor, "post", "/api/v1/posts", good_post(title="下書きは数えない", categories=["AI Guide"]))
    assert draft.status_code == 201
    policy(category_daily_quota=0, daily_cap_posts=1)
    capped = send(editor, "post", "/api/v1/posts", good_post(title="上限を超える記事"))
    assert capped.status_code == 201  # a draft
    capped = send(editor, "patch", f"/api/v1/posts/{capped.json()['id']}", {"status": "published"})
    assert capped.status_code == 422 and rules(capped) == [("daily_cap", "refuse")]


def test_a_rule_that_is_off_says_nothing(editor):
    policy(description="off")
    response = send(editor, "post", "/api/v1/posts", good_post(description="", status="published"))
    assert response.json()["problems"] == [] and response.json()["status"] == "published"


def test_flagged_posts_wait_in_review_with_their_problems_for_an_editor(editor):
    flagged = send(editor, "post", "/api/v1/posts", good_post(description="", status="published")).json()
    assert editor.get(f"/api/v1/posts/{flagged['id']}").json()["problems"][0]["rule"] == "description"
    refused = send(editor, "post", f"/api/v1/posts/{flagged['id']}/publish", {})
    assert refused.status_code == 422 and rules(refused) == [("description", "refuse")]
    person = logged_in(member("Editor", "desk-editor"))
    page = person.get("/admin/posts/apiproblem/").content.decode()
    assert flagged["title"] in page and "description" in page
    form = person.get(f"/admin/posts/post/{flagged['id']}/change/").content.decode()
    [problem] = ApiProblem.objects.filter(post_id=flagged["id"])
    assert problem.message in form, "the post form shows the editor what the guardrails found"
    fixed = send(editor, "patch", f"/api/v1/posts/{flagged['id']}", {"description": good_post()["description"], "status": "published"})
    assert fixed.json()["status"] == "published" and fixed.json()["problems"] == []
    assert ApiProblem.objects.get().resolved_at is not None
