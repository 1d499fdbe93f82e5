"""Categories and tags through the API: read them, add one (with the same checks as
the admin: a name that differs only in case, width or spacing is the existing term)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router
from ninja.decorators import decorate_view
from ninja.responses import Status

from .. import terms
from ..models import Category, Tag
from . import guardrails, schemas
from .auth import require_scope
from .posts import ERRORS, WRITE, _term
from .recording import idempotent, note

router = Router()


def _create(request, model, data):
    require_scope(request, "terms:write")
    label = model._meta.model_name
    if not request.auth.user.has_perm(f"posts.add_{label}"):
        raise PermissionDenied(_("This token's role may not add a %(kind)s.") % {"kind": model._meta.verbose_name})
    name = " ".join(data.name.split())
    key = terms.duplicate_key(name)
    existing = next((term for term in model.objects.all() if terms.duplicate_key(term.name) == key and key), None)
    if existing is not None:
        raise guardrails.Refused(
            [
                guardrails.Problem(
                    "duplicate_term",
                    "refuse",
                    _("“%(name)s” is the existing %(kind)s “%(other)s”.") % {"name": name, "kind": model._meta.verbose_name, "other": existing.name},
                    "name",
                    {"url": existing.get_absolute_url(), "slug": existing.slug},
                )
            ],
            status=409,
            url=existing.get_absolute_url(),
        )
    term = model(name=name, slug=data.slug.strip(), description=data.description)
    term.full_clean()
    term.save()
    note(request, term)
    return Status(201, _term(term))


def _routes(model, plural):
    @router.get(f"/{plural}", response={200: list[schemas.Term], **ERRORS}, tags=[plural], summary=f"List {plural}", operation_id=f"list_{plural}")
    def list_terms(request):
        require_scope(request, "read")
        return [_term(term) for term in model.objects.all()]

    @router.get(f"/{plural}/{{slug}}", response={200: schemas.Term, **ERRORS}, tags=[plural], summary=f"Read a {model._meta.model_name}", operation_id=f"get_{model._meta.model_name}")
    def get_term(request, slug: str):
        require_scope(request, "read")
        return _term(get_object_or_404(model, slug=slug))

    @router.post(f"/{plural}", response={201: schemas.Term, **ERRORS}, tags=[plural], summary=f"Add a {model._meta.model_name}", operation_id=f"create_{model._meta.model_name}", **WRITE)
    @decorate_view(idempotent)
    def create_term(request, data: schemas.TermIn):
        return _create(request, model, data)


_routes(Category, "categories")
_routes(Tag, "tags")
