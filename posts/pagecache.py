"""Whole public pages kept in the cache for readers, so that most requests cost no query.

A reader's page (GET or HEAD, no session cookie, not under /admin/) is stored under the
site's current *generation*. Any committed change to posts, terms, boxes, settings or
redirects starts a new generation, so the next reader gets a fresh page: editors see
their changes at once. A page is also never kept past the next scheduled publication or
expiry, so scheduled posts still appear on time without a job. Entries otherwise live
KIJI_PAGE_CACHE_SECONDS (0 turns this off).

With several processes the cache must be shared (Redis) for a change in one process to
reach the others; a per-process cache only bounds staleness by that timeout.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min, Q
from django.http import HttpResponse
from django.utils import timezone

from .models import Post

GENERATION_KEY = "kiji:pages:generation"
NEXT_CHANGE_KEY = "kiji:pages:next-change:{}"


def invalidate(**_signal_arguments):
    """Start a new generation once the current transaction commits (a signal receiver)."""
    transaction.on_commit(_bump)


def _bump():
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not in the cache yet
        cache.set(GENERATION_KEY, 1, None)


def _generation():
    """The current generation, moved on when a scheduled post's time has come."""
    generation = cache.get_or_set(GENERATION_KEY, 1, None)
    next_change = cache.get(NEXT_CHANGE_KEY.format(generation))
    if next_change is None:
        next_change = _next_change()
        cache.set(NEXT_CHANGE_KEY.format(generation), next_change, None)
    if next_change and next_change <= timezone.now():
        _bump()
        return _generation()
    return generation


def _next_change():
    """When the published set next changes by itself: a scheduled post's publish time or
    a post's expiry; 0 (falsy, but cacheable) when nothing is pending."""
    now = timezone.now()
    times = Post.objects.filter(status=Post.Status.PUBLISHED).aggregate(
        publish=Min("published_at", filter=Q(published_at__gt=now)),
        expire=Min("expires_at", filter=Q(expires_at__gt=now)),
    )
    pending = [moment for moment in times.values() if moment]
    return min(pending) if pending else 0


def _cacheable_request(request):
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and not request.path.startswith("/admin/")
    )


def _cacheable_response(response):
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and "private" not in response.get("Cache-Control", "")
        and "no-cache" not in response.get("Cache-Control", "")
    )


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = settings.KIJI_PAGE_CACHE_SECONDS
        if not seconds or not _cacheable_request(request):
            return self.get_response(request)
        generation = _generation()
        key = f"kiji:page:{generation}:{request.get_host()}:{request.get_full_path()}"
        stored = cache.get(key)
        if stored is not None:
            content, headers = stored
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            return response
        response = self.get_response(request)
        if _cacheable_response(response):
            next_change = cache.get(NEXT_CHANGE_KEY.format(generation))
            timeout = seconds
            if next_change:
                timeout = max(1, min(seconds, int((next_change - timezone.now()).total_seconds())))
            cache.set(key, (response.content, list(response.items())), timeout)
        return response
