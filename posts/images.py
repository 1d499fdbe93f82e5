"""Checking uploaded images and saving them again for the web before anything keeps
them; the media library's bookkeeping; resizing covers for pages."""

import hashlib
import logging
from io import BytesIO
from pathlib import PurePath
from typing import NamedTuple

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError, features

from .models import MediaImage, Post

logger = logging.getLogger(__name__)

# Formats an upload may be, with the extension it is stored under; AVIF when this
# Pillow was built with it.
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
if features.check("avif"):
    ALLOWED_FORMATS["AVIF"] = "avif"
# How uploads are saved again: a little better than the renditions made from them.
UPLOAD_SAVE_OPTIONS = {
    "JPEG": {"quality": 88, "optimize": True, "progressive": True},
    "PNG": {"optimize": True},
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
    frames, durations and looping. A ContentFile named like the upload, with the
    extension of its format."""
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
    stem = PurePath(getattr(upload, "name", "") or "image").stem or "image"
    return ContentFile(buffer.getvalue(), name=f"{stem}.{info.extension}")


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


def store_upload(upload, user=None):
    """Keep an editor upload, prepared for the web, in the media library; return its URL."""
    prepared = prepare_upload(upload)
    image = MediaImage.objects.create(
        file=prepared, size=prepared.size, original_name=upload.name, uploaded_by=user
    )
    return image.file.url


def add_cover_to_library(post, original_name, user=None):
    """List `post`'s newly uploaded cover in the media library, as the same stored file."""
    return MediaImage.objects.create(
        file=post.cover.name,
        width=post.cover_width or 0,
        height=post.cover_height or 0,
        size=post.cover.size,
        original_name=original_name,
        uploaded_by=user,
    )


def posts_using(media_images):
    """{image pk: [posts]} of the posts whose body holds each image's URL or stored name
    (which outlasts a change of MEDIA_URL) or whose cover is its file, in one query for
    all of `media_images`."""
    media_images = list(media_images)
    usage = {image.pk: [] for image in media_images}
    if not media_images:
        return usage
    marks = {image.pk: {image.file.name, image.file.url} for image in media_images}
    match = Q(cover__in=[image.file.name for image in media_images])
    for mark in set().union(*marks.values()):
        match |= Q(body__contains=mark)
    # The candidates' bodies are read to tell which image each post holds (and
    # because SQLite's LIKE ignores case); a cover's size, or Django reads it per post.
    candidates = Post.objects.filter(match).only("title", "body", "cover", "cover_width", "cover_height")
    for post in candidates.order_by("title"):
        for image in media_images:
            if post.cover.name == image.file.name or any(mark in post.body for mark in marks[image.pk]):
                usage[image.pk].append(post)
    return usage


# Widths of the resized covers, up to the largest a page shows (a 736px article
# column at 1.5x); smaller covers are never enlarged.
RENDITION_WIDTHS = (480, 800, 1200)
RENDITIONS_DIR = "renditions"
# The browsers that skip the WebP <source> get the cover's own format; GIF as PNG.
FALLBACK_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "GIF": "PNG"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
SAVE_OPTIONS = {
    "WEBP": {"quality": 80, "method": 4},
    "JPEG": {"quality": 82, "optimize": True, "progressive": True},
    "PNG": {},
}
# EXIF orientations that turn the picture a quarter, so width and height swap.
QUARTER_TURNS = {5, 6, 7, 8}


def rendition_widths(width):
    """The widths to make of an image `width` pixels wide: the standard ones it
    can fill, and its own width when that is below the largest."""
    widths = [w for w in RENDITION_WIDTHS if w <= width]
    if width < RENDITION_WIDTHS[-1] and width not in widths:
        widths.append(width)
    return widths


def renditions(field_file):
    """Make, once, WebP and fallback copies of a stored image at `rendition_widths`.

    Returns {"source", "width", "height", "webp": [[name, width], ...],
    "fallback": [[name, width], ...]}, with storage names rather than URLs so that
    MEDIA_URL may change; {} (and a logged warning) when the image cannot be read.
    Files are named by the source's name and size, so a cover shared by many posts
    is resized once, and files that already exist are not made again."""
    name = field_file.name
    if not name:
        return {}
    try:
        return _make_renditions(field_file.storage, name)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as error:
        logger.warning(
            "%s: cannot make resized copies (%s); pages show the image as it is.", name, error
        )
        return {}


def _make_renditions(storage, name):
    key = hashlib.sha1(f"{name}\0{storage.size(name)}".encode()).hexdigest()
    folder = f"{RENDITIONS_DIR}/{key[:2]}/{key}"
    with storage.open(name, "rb") as source, Image.open(source) as image:
        # Pillow decodes a whole PNG to look for EXIF after the pixels; the rare PNG
        # that keeps its orientation there is left as it is stored.
        has_exif = image.format != "PNG" or "exif" in image.info
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1) if has_exif else 1
        width, height = image.size
        if orientation in QUARTER_TURNS:
            width, height = height, width
        fallback_format = FALLBACK_FORMATS.get(
            image.format, "PNG" if image.has_transparency_data else "JPEG"
        )
        widths = rendition_widths(width)
        # An upright JPEG or PNG at its own width is its own fallback: no copy to make.
        own_width = width if image.format == fallback_format and orientation == 1 else None
        webp = [(f"{folder}/{w}.webp", w, "WEBP") for w in widths]
        extension = EXTENSIONS[fallback_format]
        fallback = [
            (name, w, None) if w == own_width else (f"{folder}/{w}.{extension}", w, fallback_format)
            for w in widths
        ]
        missing = [
            target for target in webp + fallback if target[2] and not storage.exists(target[0])
        ]
        if missing:
            largest = max(w for _name, w, _format in missing)
            picture, options = _prepare(image, orientation, width, largest)
            copies = {picture.width: picture}  # by width: WebP and fallback share one resize
            for target, w, image_format in missing:
                if w not in copies:
                    size = (w, max(1, round(height * w / width)))
                    copies[w] = picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
                copy = copies[w]
                buffer = BytesIO()
                copy.save(buffer, format=image_format, **SAVE_OPTIONS[image_format], **options)
                saved = storage.save(target, ContentFile(buffer.getvalue()))
                if saved != target:  # another process made it meanwhile; keep one
                    storage.delete(saved)
    return {
        "source": name,
        "width": width,
        "height": height,
        "webp": [[target, w] for target, w, _format in webp],
        "fallback": [[target, w] for target, w, _format in fallback],
    }


def _prepare(image, orientation, width, largest):
    """`image` turned upright by its EXIF `orientation`, in RGB or RGBA (sRGB when it
    was CMYK), decoded no larger than `largest` needs, and the colour profile to save
    with its copies."""
    if image.format == "JPEG" and largest * 2 <= width:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale, which is far faster for big photos;
        # the size asked for is in the file's own orientation, before any EXIF turn.
        image.draft(None, tuple(-(-side * largest // width) for side in image.size))
    if orientation != 1:
        image = ImageOps.exif_transpose(image)
    profile = image.info.get("icc_profile")
    if image.mode == "CMYK":
        if profile:
            try:
                image = ImageCms.profileToProfile(
                    image,
                    ImageCms.ImageCmsProfile(BytesIO(profile)),
                    ImageCms.createProfile("sRGB"),
                    outputMode="RGB",
                )
            except ImageCms.PyCMSError:
                image = image.convert("RGB")
        return image.convert("RGB"), {}
    image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    return image, {"icc_profile": profile} if profile else {}


def cover_renditions(post):
    """The renditions of `post`'s cover, made and stored on the post (in one UPDATE)
    the first time they are asked for, and again once the cover is another file."""
    stored = post.cover_renditions or {}
    if not post.cover:
        return {}
    if stored.get("source") == post.cover.name:
        return stored
    made = renditions(post.cover)
    if made and made != stored:
        type(post).objects.filter(pk=post.pk).update(cover_renditions=made)
        post.cover_renditions = made
    return made
