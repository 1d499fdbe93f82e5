"""The API at /api/v1/ (cms/urls.py includes this): django-ninja, with Kiji's tokens,
errors as JSON a program can read, and every operation wrapped by recording.py."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.http import JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.renderers import JSONRenderer
from ninja.errors import ValidationError as RequestInvalid

from . import affiliate, docs, guardrails, media, posts, schemas, terms
from .auth import RateLimited, TokenAuth, rate_limit
from .recording import recorded

class Renderer(JSONRenderer):
    # Japanese as it is, not as \u escapes: a third of the size, and readable in a log.
    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="Kiji API",
    version="1",
    description=(
        "Write posts, terms, images and products as a program. Send `Authorization: Bearer <token>` "
        "(an admin makes tokens); retry writes safely with `Idempotency-Key`. Guide: docs/api.md."
    ),
    urls_namespace="api-v1",
    auth=TokenAuth(),
    docs=docs.Docs(),
    renderer=Renderer(),
)
api.add_decorator(recorded, mode="view")


def _answer(request, status, detail, **extra):
    return api.create_response(request, {"detail": detail, "problems": [], "errors": [], **extra}, status=status)


@api.exception_handler(guardrails.Refused)
def refused(request, exc):
    return _answer(
        request,
        exc.status,
        _("The post was not saved: %(problems)s") % {"problems": str(exc)},
        problems=[problem.as_dict() for problem in exc.problems],
        url=exc.url,
    )


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return _answer(request, 403, str(exc) or _("This token may not do that."))


@api.exception_handler(ValidationError)
def invalid(request, exc):
    if hasattr(exc, "error_dict"):
        errors = [{"loc": ["body", name], "msg": " ".join(messages)} for name, messages in exc.message_dict.items()]
    else:
        errors = [{"loc": ["body"], "msg": message} for message in exc.messages]
    return _answer(request, 422, " ".join(error["msg"] for error in errors), errors=errors)


@api.exception_handler(RequestInvalid)
def request_invalid(request, exc):
    return _answer(request, 422, _("The request is not valid: see errors."), errors=exc.errors)


@api.exception_handler(SuspiciousOperation)
def too_big_or_bad(request, exc):
    return _answer(request, 400, str(exc) or _("The request cannot be read."))


@api.exception_handler(RateLimited)
def rate_limited(request, exc):
    response = _answer(request, 429, exc.message)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.get("/me", response={200: schemas.Me, **posts.ERRORS}, tags=["tokens"], summary="This token")
def me(request):
    """The token's name, role, scopes, expiry and rate limit."""
    token = request.auth
    return {
        "name": token.name,
        "role": token.role,
        "scopes": token.scopes,
        "expires_at": token.expires_at,
        "rate_per_minute": rate_limit(token),
    }


api.add_router("/posts", posts.router)
api.add_router("/schedule", posts.schedule_router)
api.add_router("", terms.router)
api.add_router("/media", media.router)
api.add_router("/products", affiliate.router)



def not_found(request, rest):
    """Any other path under /api/v1/: a JSON 404, as every answer here is JSON."""
    return JsonResponse({"detail": _("No such API path: see /api/v1/docs."), "problems": [], "errors": []}, status=404, json_dumps_params={"ensure_ascii": False})


app_name = api.urls_namespace
urlpatterns = [
    *api.urls[0],
    path("docs/assets/<str:name>", docs.asset, name="docs-asset"),
    path("<path:rest>", not_found),
]
