"""Webhooks on publish, unpublish and update: signed with HMAC-SHA256, sent by the task
queue to a receiver started here on loopback, retried with backoff after a failure,
and logged."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from django_tasks import default_task_backend

from posts.api import webhooks
from posts.models import Post, Webhook, WebhookDelivery
from tests.conftest import logged_in, make_post, member
from tests.test_api import api_client, good_post, make_token, send

pytestmark = pytest.mark.django_db

SECRET = "receiver-shared-secret"


class Receiver:
    """A webhook receiver on loopback that answers with `statuses` in turn (then 200)
    and keeps what it was sent."""

    def __init__(self, statuses=()):
        self.statuses, self.requests = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self):
        return [json.loads(body)["event"] for _headers, body in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def verified(headers, body, secret=SECRET):
    """What a receiver checks: the signature of timestamp.body, and a recent timestamp."""
    expected = "sha256=" + hmac.new(secret.encode(), headers["X-Kiji-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Kiji-Signature"]) and abs(time.time() - int(headers["X-Kiji-Timestamp"])) < 300


@pytest.fixture
def receiver():
    made = []

    def start(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield start
    for server in made:
        server.close()


@pytest.fixture
def editor():
    return api_client(make_token("editor")[1])


def test_a_publish_is_sent_signed_and_retried_after_a_failure(receiver, editor, django_capture_on_commit_callbacks, settings):
    settings.KIJI_SITE_URL = "https://blog.example.com"
    server = receiver([500])
    Webhook.objects.create(name="X queue", url=server.url, secret=SECRET, events=["post.published"])
    with django_capture_on_commit_callbacks(execute=True):
        created = send(editor, "post", "/api/v1/posts", good_post(status="published", tags=["LLM"])).json()
    assert len(server.requests) == 2  # the first answered 500, the retry 200
    for headers, body in server.requests:
        assert verified(headers, body) and headers["X-Kiji-Event"] == "post.published"
    sent = json.loads(server.requests[1][1])
    assert sent["post"]["url"] == f"https://blog.example.com/posts/{created['slug']}/"
    assert sent["post"]["tags"] == ["LLM"] and sent["post"]["publication"] == "live"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert not verified(server.requests[0][0], server.requests[0][1], secret="another secret")


def test_unpublish_and_update_are_events_and_drafts_are_not(receiver, editor, django_capture_on_commit_callbacks):
    server = receiver()
    Webhook.objects.create(name="deploy", url=server.url, secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        draft = send(editor, "post", "/api/v1/posts", good_post()).json()
        send(editor, "patch", f"/api/v1/posts/{draft['id']}", {"body": "## 直した本文\n"})
    assert server.events() == []
    for method, url, data in [
        ("post", f"/api/v1/posts/{draft['id']}/publish", {}),
        ("patch", f"/api/v1/posts/{draft['id']}", {"title": "直した見出しの記事"}),
        ("post", f"/api/v1/posts/{draft['id']}/unpublish", None),
    ]:
        with django_capture_on_commit_callbacks(execute=True):  # each request commits on its own
            assert send(editor, method, url, data).status_code == 200
    assert server.events() == ["post.published", "post.updated", "post.unpublished"]


def test_saves_in_the_admin_and_elsewhere_are_heard_too(receiver, django_capture_on_commit_callbacks):
    server = receiver()
    Webhook.objects.create(name="deploy", url=server.url, secret=SECRET, events=["post.published"])
    make_post(title="シェルから公開")  # which runs what its commit sets off
    assert server.events() == ["post.published"]


def test_failed_attempts_wait_longer_each_time_then_stop(receiver, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    settings.KIJI_WEBHOOK_ATTEMPTS, settings.KIJI_WEBHOOK_BACKOFF = 3, 30
    server = receiver([503, 503, 503])
    hook = Webhook.objects.create(name="deploy", url=server.url, secret=SECRET)
    post = make_post()
    delivery = WebhookDelivery.objects.create(webhook=hook, event="post.updated", post=post, payload=webhooks.payload("post.updated", post))
    waits = []
    for _ in range(3):
        before = timezone.now()
        webhooks.attempt(delivery)
        if delivery.next_attempt_at:
            waits.append(round((delivery.next_attempt_at - before).total_seconds()))
            assert default_task_backend.results[-1].task.run_after == delivery.next_attempt_at
    assert waits == [30, 60]
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 503)
    assert len(server.requests) == 3


def test_a_scheduled_posts_publish_waits_for_its_time(receiver, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    server = receiver()
    Webhook.objects.create(name="X queue", url=server.url, secret=SECRET)
    at = timezone.now() + timedelta(hours=3)
    post = make_post(published_at=at)
    [delivery] = webhooks.queue("post.published", post.pk)
    assert delivery.next_attempt_at == at
    Post.objects.filter(pk=post.pk).update(status=Post.Status.UNPUBLISHED)
    delivery.refresh_from_db()
    webhooks.attempt(delivery)
    assert delivery.status == "failed" and "no longer published" in delivery.last_error
    assert server.requests == []


def test_the_delivery_log_is_in_the_admin(receiver):
    server = receiver()
    hook = Webhook.objects.create(name="deploy", url=server.url, secret=SECRET)
    post = make_post(title="記録される記事")
    WebhookDelivery.objects.create(webhook=hook, event="post.published", post=post, status="failed", attempts=6, last_status_code=500)
    admin = logged_in(member("Admin", "boss"))
    page = admin.get("/admin/posts/webhookdelivery/").content.decode()
    assert "記録される記事" in page and "post.published" in page
    assert admin.get(f"/admin/posts/webhook/{hook.pk}/change/").status_code == 200
