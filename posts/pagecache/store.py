"""The cache, as readers' pages use it: a cache server that is down or slow (a Redis
restart) makes pages be made for each request, never an error.

After a failure the cache is left alone for DOWN_SECONDS, so that requests do not each
wait for a connection that will not come; then it is tried again, and caching resumes
by itself. A failure is logged once a minute, not once a request.
"""

import logging
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

DOWN_SECONDS = 5
_down_until = 0.0
_last_warning = 0.0


class _Recent:
    """The pages this process sent last, kept in its own memory in front of a shared
    cache: whether a page may be sent is decided by the page versions, not by where it
    came from, so a page this process already holds needs no round trip at all."""

    def __init__(self):
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key, entry):
        size = settings.KIJI_RECENT_PAGES
        if not size or _is_local():
            return
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > size:
                self._entries.popitem(last=False)

    def drop(self, key):
        with self._lock:
            self._entries.pop(key, None)

    def clear(self):
        with self._lock:
            self._entries.clear()


recent = _Recent()


def _is_local():
    """Whether the configured cache already lives in this process (locmem)."""
    return settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def get(key):
    return _call("get", key)


def set(key, value, timeout):  # noqa: A001 (the cache API's own name)
    _call("set", key, value, timeout)


def add(key, value, timeout):
    """Whether `key` was added; True when the cache is down (the caller goes ahead)."""
    result = _call("add", key, value, timeout)
    return True if result is None else result


def delete(key):
    _call("delete", key)


def incr(key, timeout):
    """`key`'s counter plus one (starting at one, kept `timeout` seconds); None when the
    cache is down."""
    if not available():
        return None
    try:
        cache.add(key, 0, timeout)
        return cache.incr(key)
    except ValueError:  # the key expired between add() and incr(): a new count
        _call("set", key, 1, timeout)
        return 1 if available() else None
    except Exception as error:  # every backend's own errors: redis, memcached, …
        _failed(error)
        return None


def forget():
    """Use the cache again at once, and warn again, as a new process would (for tests)."""
    global _down_until, _last_warning
    _down_until = _last_warning = 0.0


def available():
    """Whether the cache is being used (not left alone after a failure)."""
    return time.monotonic() >= _down_until


def _call(method, *args):
    if not available():
        return None
    try:
        return getattr(cache, method)(*args)
    except Exception as error:  # every backend's own errors: redis, memcached, …
        _failed(error)
        return None


def _failed(error):
    """Leave the cache alone a while after `error`, and say so (once an interval)."""
    global _down_until
    _down_until = time.monotonic() + DOWN_SECONDS
    _warn(error)


def _warn(error):
    global _last_warning
    if time.monotonic() - _last_warning > 60:
        _last_warning = time.monotonic()
        logger.warning(
            "the cache is unreachable (%s); pages are made for each request, and the cache is tried again every %s s",
            error,
            DOWN_SECONDS,
        )
