"""The product registry through the API: products that boxes show (a post's boxes are
part of the post: `boxes` in POST /posts, or PUT /posts/{id}/boxes)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router
from ninja.decorators import decorate_view
from ninja.responses import Status

from ..models import MediaImage, Product
from ..slugs import urlize
from . import schemas
from .auth import require_scope
from .posts import ERRORS, WRITE
from .recording import idempotent, note

router = Router(tags=["products"])


def product(item):
    return {
        "id": item.pk,
        "name": item.name,
        "slug": item.slug,
        "keyword": item.keyword,
        "reason": item.reason,
        "image_url": item.image.file.url if item.image else None,
        "image_alt": item.image_alt,
        "asin": item.asin,
        "rakuten_url": item.rakuten_url,
        "yahoo_url": item.yahoo_url,
    }


def _save(request, item, values, permission):
    require_scope(request, "products:write")
    if not request.auth.user.has_perm(permission):
        raise PermissionDenied(_("This token's role may not add or change products."))
    if "image_media_id" in values:
        media_id = values.pop("image_media_id")
        item.image = MediaImage.objects.filter(pk=media_id).first() if media_id is not None else None
        if media_id is not None and item.image is None:
            raise ValidationError({"image_media_id": [_("No image has the id %(id)s.") % {"id": media_id}]})
    for name, value in values.items():
        if value is not None:
            setattr(item, name, value.strip() if isinstance(value, str) else value)
    if not item.slug:
        item.slug = urlize(item.name)  # as save() would, so that full_clean checks it is free
    item.full_clean()
    with transaction.atomic():
        item.save()
    return note(request, item)


@router.get("", response={200: list[schemas.Product], **ERRORS}, summary="List products")
def list_products(request):
    require_scope(request, "read")
    return [product(item) for item in Product.objects.select_related("image")]


@router.get("/{slug}", response={200: schemas.Product, **ERRORS}, summary="Read a product")
def get_product(request, slug: str):
    require_scope(request, "read")
    return product(get_object_or_404(Product.objects.select_related("image"), slug=slug))


@router.post("", response={201: schemas.Product, **ERRORS}, summary="Add a product", **WRITE)
@decorate_view(idempotent)
def create_product(request, data: schemas.ProductIn):
    """Editor tokens: a product for `{{< product slug >}}` and boxes."""
    values = data.model_dump()
    item = Product(slug=values.pop("slug").strip())
    return Status(201, product(_save(request, item, values, "posts.add_product")))


@router.patch("/{slug}", response={200: schemas.Product, **ERRORS}, summary="Change a product", **WRITE)
@decorate_view(idempotent)
def update_product(request, slug: str, data: schemas.ProductPatch):
    item = get_object_or_404(Product, slug=slug)
    return product(_save(request, item, data.model_dump(exclude_unset=True), "posts.change_product"))
