"""API tokens: made by the command and in the admin, stored hashed and shown once,
roles as the Writer and Editor rules, scopes, expiry, revocation, rate limits, and
the record of every write."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import gettext as _

from posts.api import auth
from posts.models import ApiToken, ApiWrite, Post
from tests.conftest import logged_in, member, run_command, run_failing_command
from tests.test_api import api_client, good_post, make_token, send

pytestmark = pytest.mark.django_db


def test_the_command_prints_the_secret_once_and_keeps_only_its_hash():
    output = run_command("api_token", "create", "--name", "generator", "--role", "writer")
    [secret] = re.findall(r"^kiji_[\w-]{43}$", output, re.M)
    token = ApiToken.objects.get(name="generator")
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(list(ApiToken.objects.values()))
    assert token.role == "writer" and token.user.groups.get().name == "Writer"
    assert not token.user.has_usable_password() and not token.user.is_staff
    assert api_client(secret).get("/api/v1/me").json()["name"] == "generator"
    listing = run_command("api_token", "list")
    assert "generator: writer, active" in listing and secret not in listing


def test_the_command_refuses_a_name_twice_and_revokes_by_name():
    run_command("api_token", "create", "--name", "generator")
    _output, error = run_failing_command("api_token", "create", "--name", "generator")
    assert "generator: a token has this name already" in error
    assert "revoked" in run_command("api_token", "revoke", "generator")
    assert ApiToken.objects.get(name="generator").revoked_at is not None
    _output, error = run_failing_command("api_token", "revoke", "nobody")
    assert "nobody: no token has this name" in error


def test_requests_without_a_known_token_are_refused():
    assert send(api_client(None), "get", "/api/v1/posts").status_code == 401
    response = api_client("kiji_not-a-token").get("/api/v1/posts")
    assert response.status_code == 401
    assert response.json()["detail"] == _("This token is not known: check it, or ask an admin for a new one.")


def test_a_revoked_token_stops_working_at_once():
    token, secret = make_token("writer")
    client = api_client(secret)
    assert client.get("/api/v1/me").status_code == 200
    auth.revoke(token)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["detail"] == _("This token was revoked: ask an admin for a new one.")


def test_an_expired_token_is_refused():
    _token, secret = make_token("writer", expires_at=timezone.now() - timedelta(minutes=1))
    response = api_client(secret).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["detail"] == _("This token has expired: ask an admin for a new one.")


def test_the_last_use_is_recorded():
    token, secret = make_token("writer")
    assert token.last_used_at is None
    api_client(secret).get("/api/v1/me")
    token.refresh_from_db()
    assert timezone.now() - token.last_used_at < timedelta(seconds=10)


def test_a_writer_token_writes_and_asks_for_review_but_cannot_publish():
    _token, secret = make_token("writer")
    client = api_client(secret)
    review = send(client, "post", "/api/v1/posts", good_post(status="review"))
    assert review.status_code == 201 and review.json()["status"] == "review"
    published = send(client, "post", "/api/v1/posts", good_post(title="公開したい記事", status="published"))
    assert published.status_code == 403
    assert "editors publish" in published.json()["detail"].lower() or "編集者" in published.json()["detail"]
    post_id = review.json()["id"]
    assert send(client, "post", f"/api/v1/posts/{post_id}/publish", {}).status_code == 403
    assert Post.objects.get(pk=post_id).status == "review"


def test_a_writer_token_sees_only_its_own_posts():
    _writer, secret = make_token("writer")
    _editor, editor_secret = make_token("editor", name="desk")
    mine = send(api_client(secret), "post", "/api/v1/posts", good_post()).json()
    theirs = send(api_client(editor_secret), "post", "/api/v1/posts", good_post(title="別の記事の見出し")).json()
    listed = api_client(secret).get("/api/v1/posts").json()
    assert [item["id"] for item in listed["items"]] == [mine["id"]]
    assert api_client(secret).get(f"/api/v1/posts/{theirs['id']}").status_code == 404
    assert {item["id"] for item in api_client(editor_secret).get("/api/v1/posts").json()["items"]} == {mine["id"], theirs["id"]}


def test_an_editor_token_publishes_and_unpublishes():
    _token, secret = make_token("editor")
    client = api_client(secret)
    created = send(client, "post", "/api/v1/posts", good_post(status="published")).json()
    assert created["status"] == "published" and created["publication"] == "live"
    gone = send(client, "post", f"/api/v1/posts/{created['id']}/unpublish")
    assert gone.status_code == 200 and gone.json()["status"] == "unpublished"
    assert client.get(created["url"]).status_code == 404


def test_a_token_without_the_scope_is_refused():
    _token, secret = make_token("editor", scopes=["read"])
    response = send(api_client(secret), "post", "/api/v1/posts", good_post())
    assert response.status_code == 403 and "posts:write" in response.json()["detail"]
    assert api_client(secret).get("/api/v1/posts").status_code == 200


def test_requests_over_the_rate_limit_get_429_with_retry_after():
    _token, secret = make_token("writer", rate_per_minute=3)
    client = api_client(secret)
    answers = [client.get("/api/v1/me") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[1]["RateLimit-Remaining"] == "1"
    assert 1 <= int(answers[3]["Retry-After"]) <= 60
    _other, other_secret = make_token("writer", name="other")
    assert api_client(other_secret).get("/api/v1/me").status_code == 200  # per token


def test_with_the_cache_down_the_api_still_answers_and_counts_nothing(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}}
    _token, secret = make_token("writer", rate_per_minute=1)
    client = api_client(secret)
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    assert send(client, "post", "/api/v1/posts", good_post()).status_code == 201


def test_the_rate_window_ends_after_a_minute():
    token, _secret = make_token("writer", rate_per_minute=1)
    start = 1_000_000 * 60.0
    auth.check_rate(token, now=start)
    with pytest.raises(auth.RateLimited) as raised:
        auth.check_rate(token, now=start + 59)
    assert raised.value.retry_after == 1
    auth.check_rate(token, now=start + 60)


def test_every_write_is_recorded_with_who_what_and_the_answer():
    _token, secret = make_token("writer")
    client = api_client(secret)
    created = send(client, "post", "/api/v1/posts", good_post()).json()
    send(client, "post", "/api/v1/posts", good_post(title="公開", status="published"))
    client.get("/api/v1/posts")
    writes = list(ApiWrite.objects.order_by("at", "id"))
    assert [(w.token_name, w.method, w.path, w.status) for w in writes] == [
        ("generator", "POST", "/api/v1/posts", 201),
        ("generator", "POST", "/api/v1/posts", 403),
    ]
    assert (writes[0].object_type, writes[0].object_id) == ("post", str(created["id"]))


def test_api_answers_are_never_cached():
    _token, secret = make_token("writer")
    assert api_client(secret).get("/api/v1/posts")["Cache-Control"] == "private, no-store"


def test_admins_make_a_token_in_the_admin_and_see_its_secret_once(client):
    admin = logged_in(member("Admin", "boss"))
    response = admin.post(
        "/admin/posts/apitoken/add/",
        {"name": "generator", "role": "editor", "scopes": ["read", "posts:write"], "rate_per_minute": "", "expires_at_0": "", "expires_at_1": ""},
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    [secret] = re.findall(r'<code id="api-token-secret">(kiji_[\w-]+)</code>', response.content.decode())
    token = ApiToken.objects.get(name="generator")
    assert token.role == "editor" and token.scopes == ["read", "posts:write"] and token.user.groups.get().name == "Editor"
    assert api_client(secret).get("/api/v1/me").json()["role"] == "editor"
    page = admin.get(f"/admin/posts/apitoken/{token.pk}/change/").content.decode()
    assert secret not in page and token.prefix in page
    admin.post("/admin/posts/apitoken/", {"action": "revoke", "_selected_action": [token.pk], "index": "0"})
    assert api_client(secret).get("/api/v1/me").status_code == 401


def test_writers_and_editors_cannot_make_tokens():
    for group in ("Writer", "Editor"):
        person = logged_in(member(group, group.lower()))
        assert person.get("/admin/posts/apitoken/add/").status_code == 403
