"""Images through the API: uploaded through the one image pipeline (posts/uploads.py,
as the editor's uploads are) into the media library, for covers, bodies and products."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import File, Router
from ninja.decorators import decorate_view
from ninja.files import UploadedFile
from ninja.responses import Status

from .. import uploads
from ..models import MediaImage
from . import schemas
from .auth import require_scope
from .posts import ERRORS, WRITE
from .recording import idempotent, note

router = Router(tags=["media"])


def media(image):
    return {
        "id": image.pk,
        "url": image.file.url,
        "width": image.width,
        "height": image.height,
        "size": image.size,
        "markdown": f"![]({image.file.url})",
    }


@router.post("", response={201: schemas.Media, **ERRORS}, summary="Upload an image", **WRITE)
@decorate_view(idempotent)
def upload(request, file: File[UploadedFile]):
    """JPEG, PNG, GIF, WebP or AVIF; checked, turned upright, stripped of metadata and
    saved again, as in the editor. Use its `id` as a post's `cover_media_id`."""
    require_scope(request, "media:write")
    user = request.auth.user
    if not user.has_perm("posts.add_mediaimage"):
        raise PermissionDenied(_("This token's role may not upload images."))
    image = uploads.add_to_library(
        uploads.prepare_upload(file), original_name=file.name or "", user=user, digest=uploads.source_digest(file)
    )
    note(request, image)
    return Status(201, media(image))


@router.get("/{media_id}", response={200: schemas.Media, **ERRORS}, summary="Read an image")
def get_media(request, media_id: schemas.Id):
    require_scope(request, "read")
    return media(get_object_or_404(MediaImage, pk=media_id))
