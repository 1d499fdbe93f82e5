"""The one image pipeline: every image a person or a file supplies (an editor's upload,
a cover, an imported or fetched cover) is checked and saved again for the web here
before anything keeps it, and listed in the media library.
"""

import hashlib
import logging
import uuid
from io import BytesIO
from typing import NamedTuple

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError, features

from .models import MediaImage
from .tasks import make_library_copies

logger = logging.getLogger(__name__)

# Formats an upload may be, with the extension it is stored under; AVIF when this
# Pillow was built with it.
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
if features.check("avif"):
    ALLOWED_FORMATS["AVIF"] = "avif"
# How uploads are saved again: a little better than the renditions made from them.
UPLOAD_SAVE_OPTIONS = {
    "JPEG": {"quality": 88, "optimize": True, "progressive": True},
    # zlib level 6, not optimize (level 9): half the time for files about 10 % larger.
    "PNG": {"compress_level": 6},
    "GIF": {"optimize": True},
    "WEBP": {"quality": 85, "method": 4},
    "AVIF": {"quality": 80},
}
# Saving an animation again holds all its frames in memory (Pillow's WebP and AVIF
# writers list them first), so all frames together may have this many times
# KIJI_MAX_IMAGE_PIXELS: 120 million by default, e.g. 100 frames of 1280×720.
ANIMATION_PIXELS_FACTOR = 3
# What the start of an SVG drawing holds, which Pillow cannot open.
SVG_SIGNS = (b"<svg", b"<!doctype svg")
SRGB = ImageCms.createProfile("sRGB")


class ImageInfo(NamedTuple):
    format: str
    width: int
    height: int
    frames: int = 1

    @property
    def extension(self):
        return ALLOWED_FORMATS[self.format]


def format_names():
    """The formats an upload may be, for messages."""
    if "AVIF" in ALLOWED_FORMATS:
        return _("JPEG, PNG, GIF, WebP or AVIF")
    return _("JPEG, PNG, GIF or WebP")


def validate_image(upload):
    """The format, size and frame count of `upload`; ValidationError unless it is an
    image of ALLOWED_FORMATS within the limits of the KIJI_MAX_UPLOAD_BYTES,
    KIJI_MAX_IMAGE_PIXELS and KIJI_MAX_IMAGE_FRAMES settings. Reads headers only."""
    name = getattr(upload, "name", "") or _("the file")
    size = getattr(upload, "size", None)
    if size is not None and size > settings.KIJI_MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("%(name)s is %(size)s; images may be at most %(limit)s. Make it smaller and upload it again.")
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
            info = ImageInfo(image.format, *image.size, getattr(image, "n_frames", 1))
            # Nothing more of a refused format is read: some parsers are rarely used.
            if info.format in ALLOWED_FORMATS:
                _check_limits(name, info)
                image.verify()
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        # Pillow refuses to open images far over its own limit; they are over ours too.
        raise ValidationError(
            _(
                "%(name)s has far more pixels than the limit of %(limit)s million. "
                "Make it smaller and upload it again."
            )
            % {"name": name, "limit": _millions(settings.KIJI_MAX_IMAGE_PIXELS)},
            code="too_many_pixels",
        )
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        upload.seek(0)
        head = upload.read(4096).lower()
        if any(sign in head for sign in SVG_SIGNS) or name.lower().endswith((".svg", ".svgz")):
            raise ValidationError(
                _(
                    "%(name)s is an SVG drawing, which can carry scripts, so it is not accepted. "
                    "Export it as a %(formats)s image and upload that."
                )
                % {"name": name, "formats": format_names()},
                code="svg",
            )
        raise ValidationError(
            _("%(name)s is not an image that can be read. Upload a %(formats)s file.")
            % {"name": name, "formats": format_names()},
            code="not_an_image",
        )
    finally:
        upload.seek(0)
    if info.format not in ALLOWED_FORMATS:
        raise ValidationError(
            _("%(name)s is a %(format)s image. Upload a %(formats)s file.")
            % {"name": name, "format": info.format, "formats": format_names()},
            code="unsupported_format",
        )
    return info


def _millions(pixels):
    return f"{pixels / 1_000_000:g}"


def _check_limits(name, info):
    if info.width * info.height > settings.KIJI_MAX_IMAGE_PIXELS:
        raise ValidationError(
            _(
                "%(name)s is %(width)s×%(height)s pixels; the limit is %(limit)s million pixels. "
                "Make it smaller and upload it again."
            )
            % {
                "name": name,
                "width": info.width,
                "height": info.height,
                "limit": _millions(settings.KIJI_MAX_IMAGE_PIXELS),
            },
            code="too_many_pixels",
        )
    if info.frames > settings.KIJI_MAX_IMAGE_FRAMES:
        raise ValidationError(
            _(
                "%(name)s is an animation of %(frames)s frames; the limit is %(limit)s. "
                "Cut frames or lower its frame rate and upload it again."
            )
            % {"name": name, "frames": info.frames, "limit": settings.KIJI_MAX_IMAGE_FRAMES},
            code="too_many_frames",
        )
    limit = settings.KIJI_MAX_IMAGE_PIXELS * ANIMATION_PIXELS_FACTOR
    if info.frames > 1 and info.width * info.height * info.frames > limit:
        raise ValidationError(
            _(
                "%(name)s is an animation of %(frames)s frames of %(width)s×%(height)s pixels; "
                "all frames together may have at most %(limit)s million pixels. Make it "
                "smaller or shorter and upload it again."
            )
            % {
                "name": name,
                "frames": info.frames,
                "width": info.width,
                "height": info.height,
                "limit": _millions(limit),
            },
            code="too_many_pixels",
        )


def prepare_upload(upload):
    """`upload`, checked by validate_image, saved again for the web: turned upright by
    its EXIF orientation, in sRGB with 8 bits a channel, and without metadata (EXIF
    and its GPS position, XMP, comments, colour profiles); animations keep their
    frames, durations and looping. A ContentFile with a new short, unique name and the
    extension of its format: a name a file brings (`x.html`, 200 characters) is never kept."""
    info = validate_image(upload)
    name = getattr(upload, "name", "") or _("the file")
    buffer = BytesIO()
    try:
        with Image.open(upload, formats=[info.format]) as image:
            options = UPLOAD_SAVE_OPTIONS[info.format]
            if info.frames == 1:
                _for_web(image).save(buffer, format=info.format, **options)
            else:
                _save_animation(image, info.format, buffer, options)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as error:
        logger.warning("%s: cannot be read to the end (%s)", name, error)
        raise ValidationError(
            _(
                "%(name)s is damaged or incomplete, so it cannot be read to the end. "
                "Save or export it again and upload the new file."
            )
            % {"name": name},
            code="damaged",
        )
    finally:
        upload.seek(0)
    return ContentFile(buffer.getvalue(), name=f"{uuid.uuid4().hex}.{info.extension}")


def _save_animation(image, image_format, buffer, options):
    frames = (_for_web(frame) for frame in ImageSequence.Iterator(image))
    loop = {"loop": image.info["loop"]} if "loop" in image.info else {}  # absent: play once
    first = next(frames)
    if image_format == "GIF":
        # Frames come whole, so each must replace the last where it is transparent.
        disposal = {"disposal": 2} if first.has_transparency_data else {}
        # Pillow's GIF writer reads each frame's duration from it, one at a time.
        first.save(buffer, format="GIF", save_all=True, append_images=frames, **loop, **disposal, **options)
    else:
        rest = list(frames)
        durations = [frame.info.get("duration", 0) for frame in [first, *rest]]
        first.save(
            buffer,
            format=image_format,
            save_all=True,
            append_images=rest,
            duration=durations,
            **loop,
            **options,
        )


def _for_web(frame):
    """A copy of `frame` (loaded) upright, in sRGB and 8 bits a channel, with nothing
    in its `info` but its transparency and duration."""
    frame.load()  # WebP and AVIF set a frame's duration as they read it
    kept = {key: frame.info[key] for key in ("transparency", "duration") if key in frame.info}
    profile = frame.info.get("icc_profile")
    frame = ImageOps.exif_transpose(frame)
    if frame.mode in ("I", "F") or frame.mode.startswith("I;16"):
        # Pillow would clip 16-bit grey to 255 rather than scale it.
        frame = frame.convert("I").point(lambda value: value / 257).convert("L")
        kept.pop("transparency", None)
    if profile and frame.mode in ("RGB", "RGBA", "CMYK"):
        try:
            frame = ImageCms.profileToProfile(
                frame,
                ImageCms.ImageCmsProfile(BytesIO(profile)),
                SRGB,
                outputMode="RGBA" if frame.mode == "RGBA" else "RGB",
            )
        except (ImageCms.PyCMSError, OSError):
            pass  # an unreadable profile: the colours as they are stored
    if frame.mode == "CMYK":
        frame = frame.convert("RGB")
    elif frame.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        frame = frame.convert("RGBA" if frame.has_transparency_data else "RGB")
    frame.info = kept
    return frame


def source_digest(upload):
    """SHA-256 of the bytes as they came, so that the same source is recognised again."""
    upload.seek(0)
    try:
        return hashlib.file_digest(upload, "sha256").hexdigest()
    finally:
        upload.seek(0)


def add_to_library(prepared, *, original_name="", user=None, digest="", source="", alt=""):
    """Keep a file made by `prepare_upload` in the media library, with its alt text;
    the new MediaImage. Its resized copies are made on the task queue."""
    image = MediaImage.objects.create(
        file=prepared,
        size=prepared.size,
        original_name=_fit(original_name, "original_name"),
        alt=_fit(" ".join(alt.split()), "alt"),
        uploaded_by=user,
        source_digest=digest,
        source=source,
    )
    make_copies_after_commit(image)
    return image


def store_upload(upload, user=None, alt=""):
    """Keep an editor upload, prepared for the web, in the media library with its alt
    text; return its URL."""
    image = add_to_library(
        prepare_upload(upload), original_name=upload.name, user=user, digest=source_digest(upload), alt=alt
    )
    return image.file.url


def add_cover_to_library(post, original_name, user=None):
    """List `post`'s newly uploaded cover in the media library, as the same stored file,
    with the cover's alt text."""
    image = MediaImage.objects.create(
        file=post.cover.name,
        width=post.cover_width or 0,
        height=post.cover_height or 0,
        size=post.cover.size,
        original_name=_fit(original_name, "original_name"),
        alt=_fit(" ".join(post.cover_alt.split()), "alt"),
        uploaded_by=user,
    )
    make_copies_after_commit(image)
    return image


def _fit(text, field):
    return (text or "")[: MediaImage._meta.get_field(field).max_length]


def make_copies_after_commit(image):
    """Queue the resized copies of a library image, for once it is committed."""
    transaction.on_commit(lambda: make_library_copies.enqueue(image.pk))
