"""Resized WebP and fallback copies of covers, for `<picture>` on readers' pages.

Copies are made once per stored image (named by the image's name and size, so posts
that share a cover share its copies), on the task queue when a cover changes, and
never while a reader waits: a page whose cover has no copies yet shows the image as
it is, with its width and height, until the task has made them.
"""

import hashlib
import logging
from io import BytesIO

from django.core.files.base import ContentFile
from django.db import transaction
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
    # libwebp's method 2 of 0-6: half the time of method 4 for files a few per cent
    # larger at the same quality, on 1024×576 covers (benchmarks/renditions.py).
    "WEBP": {"quality": 80, "method": 2},
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
    """`make` for a stored file field's image."""
    return make(field_file.name, field_file.storage) if field_file.name else {}


def make(name, storage):
    """Make, once, WebP and fallback copies of the image `name` in `storage` at
    `rendition_widths`.

    Returns {"source", "width", "height", "webp": [[name, width], ...],
    "fallback": [[name, width], ...]}, with storage names rather than URLs so that
    MEDIA_URL may change; {} (and a logged warning) when the image cannot be read.
    Files are named by the source's name and size, so a cover shared by many posts
    is resized once, and files that already exist are not made again."""
    try:
        return _make_renditions(storage, name)
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
            # Largest first, each copy resized from the smallest one already made that
            # is at least 1.5 times its width (or the picture): far less for LANCZOS to
            # read, for copies that cannot be told apart from ones made from the picture.
            for target, w, image_format in sorted(missing, key=lambda item: -item[1]):
                if w not in copies:
                    size = (w, max(1, round(height * w / width)))
                    base = min((c for c in copies.values() if c.width * 2 >= w * 3), key=lambda c: c.width, default=picture)
                    copies[w] = base.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
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


def current(post):
    """The renditions stored for `post`'s cover if they are of that cover, else {}."""
    stored = post.cover_renditions or {}
    return stored if post.cover and stored.get("source") == post.cover.name else {}


def store(name):
    """Make the copies of the stored image `name` and record them on every post whose
    cover it is; the ids of those posts. The images are made before the transaction
    that records them, so that no lock is held while they are resized (on SQLite a
    write lock would stop every other writer)."""
    from django.core.files.storage import default_storage

    from .models import Post
    from .pagecache import bump, post_tag

    made = make(name, default_storage)
    if not made:
        return []
    with transaction.atomic():
        posts = Post.objects.filter(cover=name).exclude(cover_renditions=made)
        ids = list(posts.values_list("pk", flat=True))
        Post.objects.filter(pk__in=ids).update(cover_renditions=made)
        bump({post_tag(pk) for pk in ids})
    return ids
