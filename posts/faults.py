"""What readers get when something behind Kiji fails: a database that restarts gets one
retry where that is safe, then Kiji's own "come back shortly" page with Retry-After
(503, not a bare 500); a server error gets Kiji's own page; and /healthz tells a load
balancer whether this process can serve.
"""

import logging
import sys
import time

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache

from .pagecache import store

logger = logging.getLogger(__name__)

RETRY_AFTER = 5  # seconds: a PostgreSQL restart or failover takes about this long
# The errors of a database that is away (restarting, unreachable, out of connections),
# as opposed to a query that is wrong.
UNAVAILABLE = (OperationalError, InterfaceError)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class DatabaseRetryMiddleware:
    """A view that fails because the database went away is run once more, with new
    connections, if the request changes nothing (GET or HEAD); else, or if it fails
    again, the answer is 503 with Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, UNAVAILABLE):
            return None
        _drop_connections()
        if request.method in SAFE_METHODS and not getattr(request, "_kiji_retried", False):
            request._kiji_retried = True
            match = request.resolver_match
            logger.warning("%s %s: the database failed (%s); trying once more", request.method, request.path, exception)
            try:
                return match.func(request, *match.args, **match.kwargs)
            except UNAVAILABLE as again:
                _drop_connections()
                logger.warning("%s %s: the database failed again (%s)", request.method, request.path, again)
        return unavailable(request)


def _drop_connections():
    """Close every connection, so that the next query opens a new one."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DatabaseError:
            pass


def unavailable(request=None):
    """Kiji's 503 page: the site is back in a few seconds."""
    response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request):
    """handler500: a 503 when the cause is a database that went away (in a middleware,
    say, where no retry can run); Kiji's own page otherwise. Neither reads the database."""
    error = sys.exc_info()[1]
    if isinstance(error, UNAVAILABLE):
        _drop_connections()
        return unavailable(request)
    response = HttpResponse(loader.render_to_string("500.html"), status=500)
    response["Cache-Control"] = "no-store"
    return response


@never_cache
def healthz(request):
    """{"status", "database", "cache"} for load balancers: 200 while the database
    answers, 503 when it does not; a cache that is down is reported, not fatal."""
    database = _check_database()
    cache = _check_cache()
    healthy = database["ok"]
    body = {"status": "ok" if healthy else "unavailable", "database": database, "cache": cache}
    response = JsonResponse(body, status=200 if healthy else 503)
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER)
    return response


def _check_database():
    started = time.perf_counter()
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        _drop_connections()
        return {"ok": False, "error": str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}
    return {"ok": True, "milliseconds": round((time.perf_counter() - started) * 1000, 1)}


def _check_cache():
    from django.conf import settings

    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    if not store.available():
        return {"ok": False, "backend": backend, "error": "unreachable: pages are made for each request"}
    started = time.perf_counter()
    store.set("kiji:healthz", 1, 10)
    if store.get("kiji:healthz") != 1:
        return {"ok": False, "backend": backend, "error": "unreachable: pages are made for each request"}
    return {"ok": True, "backend": backend, "milliseconds": round((time.perf_counter() - started) * 1000, 1)}
