"""Resized WebP and fallback copies of covers, for `<picture>` on readers' pages.

Copies are made once per stored image (named by the image's name and size, so posts
that share a cover share its copies) and never while a reader waits.
"""

import hashlib
import logging
from io import BytesIO

from django.core.files.base import ContentFile
from PIL import ExifTags, Image, ImageCms, ImageOps

logger = logging.getLogger(__name__)

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
