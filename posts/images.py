"""Checking uploaded images before anything keeps them."""

import uuid
from typing import NamedTuple

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}


class ImageInfo(NamedTuple):
    format: str
    width: int
    height: int

    @property
    def extension(self):
        return ALLOWED_FORMATS[self.format]


def validate_image(upload):
    """The format and size of `upload`; ValidationError unless it is a JPEG, PNG,
    GIF or WebP within the limits."""
    name = getattr(upload, "name", "") or _("the file")
    size = getattr(upload, "size", None)
    if size is not None and size > settings.KIJI_MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("%(name)s is %(size)s; images may be at most %(limit)s.")
            % {
                "name": name,
                "size": filesizeformat(size),
                "limit": filesizeformat(settings.KIJI_MAX_UPLOAD_BYTES),
            },
            code="too_large",
        )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            width, height = image.size
            if width * height > settings.KIJI_MAX_IMAGE_PIXELS:
                raise ValidationError(
                    _("%(name)s is %(width)s×%(height)s pixels; the limit is %(limit)s million pixels.")
                    % {
                        "name": name,
                        "width": width,
                        "height": height,
                        "limit": settings.KIJI_MAX_IMAGE_PIXELS // 1_000_000,
                    },
                    code="too_many_pixels",
                )
            image.verify()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            _("%(name)s is not an image that can be read. Upload a JPEG, PNG, GIF or WebP file.")
            % {"name": name},
            code="not_an_image",
        )
    finally:
        upload.seek(0)
    if image_format not in ALLOWED_FORMATS:
        raise ValidationError(
            _("%(name)s is a %(format)s image. Upload a JPEG, PNG, GIF or WebP file.")
            % {"name": name, "format": image_format},
            code="unsupported_format",
        )
    return ImageInfo(image_format, width, height)


def store_upload(upload):
    """Keep a validated editor upload under a unique name; return its URL."""
    info = validate_image(upload)
    name = default_storage.save(
        f"{settings.MARKDOWNX_MEDIA_PATH}{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{info.extension}",
        upload,
    )
    return default_storage.url(name)
