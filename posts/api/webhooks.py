"""Webhooks: each event a signed JSON POST to every active webhook that wants it, sent
by a task and retried with exponential backoff; every delivery and its attempts are
kept (WebhookDelivery, the admin's delivery log).

The receiver checks `X-Kiji-Signature: sha256=<hex>`, the HMAC-SHA256 of
`<X-Kiji-Timestamp>.<body>` with the webhook's secret (docs/api.md has the code), and may
refuse old timestamps, so that a captured request cannot be replayed later.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import default_task_backend, task

from ..models import Post, Webhook, WebhookDelivery
from . import events

USER_AGENT = "Kiji-Webhooks/1"


def _settings():
    return {
        "attempts": settings.KIJI_WEBHOOK_ATTEMPTS,
        "backoff": settings.KIJI_WEBHOOK_BACKOFF,
        "timeout": settings.KIJI_WEBHOOK_TIMEOUT,
    }


def site_url(path):
    """`path` as an absolute URL on KIJI_SITE_URL (the path alone when it is unset)."""
    return settings.KIJI_SITE_URL.rstrip("/") + path


def payload(event, post):
    return {
        "event": event,
        "post": {
            "id": post.pk,
            "title": post.title,
            "slug": post.slug,
            "path": post.get_absolute_url(),
            "url": site_url(post.get_absolute_url()),
            "status": post.status,
            "publication": post.publication.value,
            "published_at": post.published_at.isoformat(),
            "updated_at": post.updated_at.isoformat(),
            "description": post.description,
            "summary": post.summary,
            "cover_url": site_url(post.cover.url) if post.cover and post.cover.url.startswith("/") else (post.cover.url if post.cover else None),
            "categories": [category.name for category in post.categories.all()],
            "tags": [tag.name for tag in post.tags.all()],
        },
    }


def queue(event, post_id):
    """A delivery of `event` for the post to each active webhook that wants it, sent by
    the task queue; a scheduled post's `post.published` waits for its time."""
    post = Post.objects.filter(pk=post_id).first()
    if post is None:
        return []
    hooks = [hook for hook in Webhook.objects.filter(is_active=True) if not hook.events or event in hook.events]
    deliveries = []
    for hook in hooks:
        delivery = WebhookDelivery.objects.create(webhook=hook, event=event, post=post, payload=payload(event, post))
        at = post.published_at if event == events.PUBLISHED and post.is_scheduled else None
        _enqueue(delivery, at)
        deliveries.append(delivery)
    return deliveries


def _enqueue(delivery, at=None):
    if at is not None and default_task_backend.supports_defer:
        delivery.next_attempt_at = at
        delivery.save(update_fields=["next_attempt_at"])
        transaction.on_commit(lambda: deliver.using(run_after=at).enqueue(delivery.pk))
    else:
        transaction.on_commit(lambda: deliver.enqueue(delivery.pk))


def send_again(delivery):
    """Send a delivery again from its first attempt (the admin's action)."""
    delivery.status, delivery.attempts, delivery.next_attempt_at = WebhookDelivery.Status.PENDING, 0, None
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    _enqueue(delivery)


def signature(secret, timestamp, body):
    """The X-Kiji-Signature value for `body` (bytes) sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET elsewhere: it counts as a failure.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def attempt(delivery):
    """Send `delivery` once; on failure, queue the next attempt after a backoff that
    doubles each time, until KIJI_WEBHOOK_ATTEMPTS have failed. The delivery, saved."""
    options = _settings()
    post = delivery.post
    if delivery.event == events.PUBLISHED and post is not None and post.status != Post.Status.PUBLISHED:
        delivery.status, delivery.last_error = WebhookDelivery.Status.FAILED, "not sent: the post is no longer published"
        delivery.save(update_fields=["status", "last_error"])
        return delivery
    body = json.dumps({**delivery.payload, "delivery": delivery.pk}, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        delivery.webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Kiji-Event": delivery.event,
            "X-Kiji-Delivery": str(delivery.pk),
            "X-Kiji-Timestamp": timestamp,
            "X-Kiji-Signature": signature(delivery.webhook.secret, timestamp, body),
        },
    )
    delivery.attempts += 1
    error, code = "", None
    try:
        with _opener.open(request, timeout=options["timeout"]) as response:
            code = response.status
    except urllib.error.HTTPError as failure:
        code, error = failure.code, f"the receiver answered {failure.code}"
    except (urllib.error.URLError, OSError, ValueError) as failure:
        error = f"could not be sent: {getattr(failure, 'reason', failure)}"
    delivery.last_status_code, delivery.last_error = code, error
    if not error and code is not None and 200 <= code < 300:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = WebhookDelivery.Status.DELIVERED, timezone.now(), None
    elif delivery.attempts >= options["attempts"]:
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
    else:
        delivery.status = WebhookDelivery.Status.RETRYING
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=options["backoff"] * 2 ** (delivery.attempts - 1))
    delivery.save()
    if delivery.status == WebhookDelivery.Status.RETRYING:
        if default_task_backend.supports_defer:
            deliver.using(run_after=delivery.next_attempt_at).enqueue(delivery.pk)
        else:
            # A queue that cannot wait (TASKS_BACKEND=immediate) tries again at once.
            deliver.enqueue(delivery.pk)
    return delivery


@task()
def deliver(delivery_id):
    """Send one webhook delivery (see `attempt`)."""
    delivery = WebhookDelivery.objects.select_related("webhook", "post").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in (WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.FAILED):
        return None
    return attempt(delivery).status
