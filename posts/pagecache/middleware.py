"""Whole readers' pages from the cache, answered before sessions, authentication and
messages run, in one cache round trip.

An entry holds the page compressed once (gzip), its headers, its ETag, when it was
made and the versions of the tags it depends on (see versions.py). A hit whose versions
are current is sent as it is: compressed to clients that accept it, with Cache-Control,
ETag and Last-Modified, and 304 to a conditional GET. A stale entry is still sent to
everyone but the one request that takes a short lock and makes the page again, so a
publish or an import never sends every reader to the database at once.

Readers' pages are GET and HEAD requests without a session cookie, outside /admin/.
Everyone else gets pages made for them, marked `private, no-store`.
"""

import gzip
import hashlib

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date, parse_http_date_safe

from . import store, versions

KEY = "kiji:page:{host}:{path}"
LOCK = "kiji:page-lock:{host}:{path}"
# Long enough for a slow page, short enough that a worker killed while making it holds
# no one up for long.
LOCK_SECONDS = 10
# Headers that are the cache's to set on each answer, never stored with the page.
OWN_HEADERS = {"content-length", "content-encoding", "etag", "last-modified", "cache-control", "vary", "date"}
TAG_HEADERS = ("Surrogate-Key", "Cache-Tag")


def depends_on(request, *tags):
    """Say that the page being made for `request` shows what `tags` stand for."""
    if hasattr(request, "_kiji_tags"):
        request._kiji_tags.update(tags)


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
        and not response.has_header("Content-Encoding")
        and "private" not in response.get("Cache-Control", "")
        and "no-cache" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
    )


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _cacheable_request(request):
            response = self.get_response(request)
            if request.method in ("GET", "HEAD") and not response.has_header("Cache-Control"):
                response["Cache-Control"] = "private, no-store"
            return response
        if not settings.KIJI_PAGE_CACHE_SECONDS:
            request._kiji_tags = set()
            return self._fresh(request, None, versions.current().versions, _now(), keep=False)
        snapshot = versions.current()
        seen = snapshot.versions  # this request's view, whatever later refreshes bring
        now = _now()
        host, path = request.get_host(), request.get_full_path()
        key = KEY.format(host=host, path=path)
        entry = store.recent.get(key)
        if entry is None or snapshot.stale(entry["versions"], entry["at"], now):
            entry = store.get(key)
            if entry is not None and not snapshot.stale(entry["versions"], entry["at"], now):
                store.recent.put(key, entry)
        if entry is not None and not snapshot.stale(entry["versions"], entry["at"], now):
            return _answer(request, entry, "HIT")
        lock = LOCK.format(host=host, path=path)
        if entry is not None and not store.add(lock, 1, LOCK_SECONDS):
            return _answer(request, entry, "STALE")  # another request is making it
        request._kiji_tags = set()
        try:
            return self._fresh(request, key, seen, now, keep=True)
        finally:
            if entry is not None:
                store.delete(lock)

    def _fresh(self, request, key, seen, now, keep):
        """Make the page; keep it when it may be kept, forget a kept one that is gone."""
        response = self.get_response(request)
        if not _cacheable_response(response):
            if keep:
                store.delete(key)  # unpublished or moved: nobody may be sent the old page
                store.recent.drop(key)
            return response
        tags = {versions.SITE, *request._kiji_tags} if request._kiji_tags else {versions.SITE, versions.LIST}
        # A page kept is compressed well once; one made for a single answer (the cache
        # off) quickly, as nginx does by default: level 6 cost a third of such a page.
        entry = _entry(response, {tag: seen.get(tag, 0) for tag in tags}, now, level=6 if keep else 1)
        if keep and not _newer(store.get(key), entry):
            store.set(key, entry, settings.KIJI_PAGE_CACHE_SECONDS)
            store.recent.put(key, entry)
        return _answer(request, entry, "MISS" if keep else None)


def _newer(kept, entry):
    """Whether `kept` was made after every change `entry` saw. A request that began
    before a change and ended after another request had kept the page made since must
    not put its older page back: readers would get it, stale, until it was made again."""
    if kept is None:
        return False
    return kept["at"] >= entry["at"] and all(
        kept["versions"].get(tag, 0) >= version for tag, version in entry["versions"].items()
    )


def _now():
    # Django's clock, as the publication rule reads it: scheduled times compare to it.
    return timezone.now().timestamp()


def _entry(response, tag_versions, now, level):
    body = response.content
    return {
        "body": gzip.compress(body, compresslevel=level, mtime=0),
        "etag": hashlib.blake2b(body, digest_size=12).hexdigest(),
        "status": response.status_code,
        "headers": [(name, value) for name, value in response.items() if name.lower() not in OWN_HEADERS],
        "versions": tag_versions,
        "at": now,
    }


def _answer(request, entry, outcome):
    """The response for `entry`: 304 to a matching conditional GET, else the page,
    compressed when the client accepts gzip."""
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    etag = f'"{entry["etag"]}{"-gz" if gzipped else ""}"'
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(entry["at"]),
        "Cache-Control": (
            f"public, max-age={settings.KIJI_BROWSER_MAX_AGE}, s-maxage={settings.KIJI_CDN_MAX_AGE}, "
            f"stale-while-revalidate={settings.KIJI_STALE_WHILE_REVALIDATE}"
        ),
    }
    tags = " ".join(sorted(entry["versions"]))
    if _not_modified(request, entry, etag):
        response = HttpResponseNotModified()
    else:
        body = entry["body"] if gzipped else gzip.decompress(entry["body"])
        response = HttpResponse(b"" if request.method == "HEAD" else body, status=entry["status"])
        for name, value in entry["headers"]:
            response[name] = value
        if gzipped:
            response["Content-Encoding"] = "gzip"
        response["Content-Length"] = str(len(body))
    for name, value in headers.items():
        response[name] = value
    for name in TAG_HEADERS:
        response[name] = tags
    patch_vary_headers(response, ["Accept-Encoding"])
    if outcome:
        response["X-Kiji-Cache"] = outcome
    return response


def _not_modified(request, entry, etag):
    wanted = request.headers.get("If-None-Match")
    if wanted is not None:
        plain = f'"{entry["etag"]}"'
        return any(tag.strip().removeprefix("W/") in (etag, plain) for tag in wanted.split(",")) or wanted.strip() == "*"
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and int(entry["at"]) <= since
