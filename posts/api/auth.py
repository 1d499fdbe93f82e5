"""Tokens for programs: made (by the admin or `manage.py api_token`), checked on every
request, limited in rate, revoked.

A token's secret is `kiji_` and 43 random characters (secrets.token_urlsafe(32)); only
its SHA-256 is stored, so the database never holds a usable key and the secret is
shown once. Each token acts through a user of its own (`api+NAME`, no password, not
staff) in the group of its role, so that `posts/workflow.py` answers for a token as it
does for a person: a Writer token writes and asks for review, an Editor token publishes.
"""

import hashlib
import math
import secrets
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer

from ..models import ApiToken
from ..pagecache import store

SECRET_PREFIX = "kiji_"
# last_used_at is written when it is older than this, so that reads do not each write a row.
LAST_USED_PRECISION = 60


class RateLimited(HttpError):
    def __init__(self, retry_after):
        self.retry_after = retry_after
        super().__init__(429, _("Too many requests for this token: try again in %(seconds)s s.") % {"seconds": retry_after})


def hash_secret(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(*, name, role=ApiToken.Role.WRITER, scopes=None, expires_at=None, rate_per_minute=None, created_by=None):
    """A new token and its secret, which is not kept: show it once."""
    token = ApiToken(
        name=name,
        role=role,
        scopes=list(ApiToken.Scope.values if scopes is None else scopes),
        expires_at=expires_at,
        rate_per_minute=rate_per_minute,
        created_by=created_by,
    )
    return token, issue(token)


def issue(token):
    """Save the unsaved `token` with a new secret and a user of its own; the secret."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        # No password: nobody signs in as it.
        user = get_user_model().objects.create_user(f"api+{token.name}", first_name=token.name[:150], last_name="(API)")
        token.user = user
        token.prefix = secret[: len(SECRET_PREFIX) + 6]
        token.secret_hash = hash_secret(secret)
        token.save()
        sync_user(token)
    return secret


def sync_user(token):
    """Give the token's user the group of its role, and no login while it is revoked."""
    user = token.user
    user.groups.set(Group.objects.filter(name=ApiToken.GROUPS[token.role]))
    user.is_active = token.revoked_at is None
    user.save(update_fields=["is_active"])


def revoke(token):
    """Stop `token` working, at once and for good."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        sync_user(token)
    return token


def token_for(request):
    """The token the request's `Authorization: Bearer` header carries, checked, once
    per request; AuthenticationError for a revoked, expired or unknown one."""
    if hasattr(request, "_kiji_token"):
        return request._kiji_token
    request._kiji_token = None
    scheme, _space, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    token = ApiToken.objects.select_related("user").filter(secret_hash=hash_secret(secret.strip())).first()
    if token is None:
        raise AuthenticationError(message=_("This token is not known: check it, or ask an admin for a new one."))
    if token.revoked_at is not None:
        raise AuthenticationError(message=_("This token was revoked: ask an admin for a new one."))
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise AuthenticationError(message=_("This token has expired: ask an admin for a new one."))
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_PRECISION:
        # update(), not save(): no signals, and only the one column.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    request._kiji_token = token
    return token


def rate_limit(token):
    """The token's requests a minute (its own, or KIJI_API_RATE's)."""
    return token.rate_per_minute or settings.KIJI_API_RATE


def check_rate(token, now=None):
    """Count a request for `token` in this minute; RateLimited past its limit. Counted in
    the cache (shared by every process when it is Redis): a fixed one-minute window.
    With the cache down nothing is counted and nothing refused: a program's writes
    matter more than its pace, and the guardrails' daily quotas are in the database."""
    now = time.time() if now is None else now
    window = int(now // 60)
    count = store.incr(f"kiji:api-rate:{token.pk}:{window}", 90)
    limit = rate_limit(token)
    if count is not None and count > limit:
        raise RateLimited(retry_after=max(1, math.ceil((window + 1) * 60 - now)))
    return limit - (count or 0)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer kiji_…`: the token, checked and counted."""

    def __call__(self, request):
        token = token_for(request)
        if token is None:
            return None
        request.kiji_rate_remaining = check_rate(token)
        return token

    def authenticate(self, request, token):  # HttpBearer's hook; __call__ does the work
        return token_for(request)


def require_scope(request, scope):
    """HttpError 403 unless the request's token has `scope`."""
    if not request.auth.has_scope(scope):
        raise HttpError(403, _("This token lacks the scope “%(scope)s”: an admin can add it.") % {"scope": scope})
