"""What wraps every API operation: answers never cached, every write recorded
(ApiWrite), and writes sent with an `Idempotency-Key` done once (ApiIdempotency).

Both are django-ninja "view" decorators: they see the request before the operation
runs and the HTTP response it made."""

import hashlib
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import HttpError

from ..models import ApiIdempotency, ApiWrite
from .auth import token_for

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 200
# A first request that has not finished after this long died with its process: a
# retry then runs again (the external id, if any, still keeps it from duplicating).
ABANDONED_AFTER = timedelta(minutes=5)

IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Any unique string (a UUID) per write: a retry with the same key and the same request "
    "gets the first answer again, marked Idempotent-Replayed: true, instead of a second write.",
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
}


def note(request, obj):
    """Name `obj` as what this request wrote, for its ApiWrite record."""
    request._kiji_object = obj
    return obj


def recorded(run):
    """Mark the answer private and uncacheable (the page cache keeps only what may be
    shared), and record every write a token made."""

    @wraps(run)
    def wrapper(request, *args, **kwargs):
        response = run(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        remaining = getattr(request, "kiji_rate_remaining", None)
        if remaining is not None:
            response["RateLimit-Remaining"] = str(remaining)
        token = getattr(request, "_kiji_token", None)
        if request.method in WRITE_METHODS and token is not None:
            obj = getattr(request, "_kiji_object", None)
            ApiWrite.objects.create(
                token=token,
                token_name=token.name,
                method=request.method,
                path=request.get_full_path()[:500],
                status=response.status_code,
                object_type=obj._meta.model_name if obj is not None else "",
                object_id=str(obj.pk or "") if obj is not None else "",
                object_repr=str(obj)[:300] if obj is not None else "",
                idempotency_key=request.headers.get("Idempotency-Key", "")[:MAX_KEY_LENGTH],
                replayed=getattr(request, "_kiji_replayed", False),
            )
        return response

    return wrapper


def _digest(request):
    """What makes two requests the same request: method, path and body (for an upload,
    which may be too big to hold, its length)."""
    head = f"{request.method} {request.get_full_path()}\n".encode()
    if request.content_type == "multipart/form-data":
        return hashlib.sha256(head + request.headers.get("Content-Length", "").encode()).hexdigest()
    return hashlib.sha256(head + request.body).hexdigest()


def _error(status, message, **headers):
    response = JsonResponse({"detail": message, "problems": [], "errors": []}, status=status, json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name] = value
    return response


def idempotent(run):
    """Do a write sent with an `Idempotency-Key` once per token and key: a retry of the
    same request gets the stored answer of a successful first one; a retry while the
    first still runs gets 409; the key with another request, 422. Answers other than
    2xx are not kept, so a request that failed can be retried as it is."""

    @wraps(run)
    def wrapper(request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or request.method not in WRITE_METHODS:
            return run(request, *args, **kwargs)
        try:
            token = token_for(request)
        except HttpError:
            token = None
        if token is None:
            return run(request, *args, **kwargs)  # which answers 401
        if len(key) > MAX_KEY_LENGTH:
            return _error(422, _("An Idempotency-Key may be at most %(count)s characters.") % {"count": MAX_KEY_LENGTH})
        now = timezone.now()
        hours = settings.KIJI_API_IDEMPOTENCY_HOURS
        ApiIdempotency.objects.filter(created_at__lt=now - timedelta(hours=hours)).delete()
        ApiIdempotency.objects.filter(status=None, created_at__lt=now - ABANDONED_AFTER).delete()
        digest = _digest(request)
        try:
            with transaction.atomic():
                record = ApiIdempotency.objects.create(
                    token=token, key=key, method=request.method, path=request.get_full_path()[:500], request_digest=digest
                )
        except IntegrityError:
            record = ApiIdempotency.objects.filter(token=token, key=key).first()
            if record is None:  # expired in between
                return run(request, *args, **kwargs)
            if record.request_digest != digest:
                return _error(
                    422,
                    _("This Idempotency-Key was sent with another request: use a new key for a new request."),
                )
            if record.status is None:
                return _error(409, _("The first request with this Idempotency-Key is still running: retry in a moment."), **{"Retry-After": "1"})
            request._kiji_replayed = True
            response = JsonResponse({}, status=record.status)
            response.content = record.body.encode()
            response["Content-Type"] = record.content_type
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            record.delete()
            raise
        if 200 <= response.status_code < 300 and not response.streaming:
            record.status = response.status_code
            record.content_type = response.get("Content-Type", "application/json")
            record.body = response.content.decode()
            record.save(update_fields=["status", "content_type", "body"])
        else:
            record.delete()
        return response

    return wrapper
