"""The media library: every image an editor uploaded or an import brought, and the rule
that an image something still shows is not deleted."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def _media_path(instance, filename):
    return f"uploads/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{Path(filename).suffix.lower()}"


class ImageInUse(ValidationError):
    """Images were not deleted because posts or products show them; `usage` says which."""

    def __init__(self, message, usage):
        super().__init__(message, code="in_use")
        self.usage = usage


class MediaImageQuerySet(models.QuerySet):
    def usage(self):
        """{image pk: Usage} of the posts and products that show each image."""
        return usage(self)

    def delete(self):
        """Delete the images, or none of them when any is in use (ImageInUse)."""
        MediaImage.check_unused(self)
        return super().delete()


class MediaImage(models.Model):
    """An image uploaded in the editor or as a cover: the media library lists them."""

    file = models.ImageField(
        gettext_lazy("file"), upload_to=_media_path, width_field="width", height_field="height", max_length=300
    )
    alt = models.CharField(
        gettext_lazy("alt text"),
        max_length=300,
        blank=True,
        help_text=gettext_lazy(
            "What the image shows, for readers who cannot see it; the Markdown to put it in "
            "a post carries it. Leave it blank only for an image that is decoration."
        ),
    )
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    size = models.PositiveIntegerField(gettext_lazy("size in bytes"), editable=False, default=0)
    original_name = models.CharField(gettext_lazy("original file name"), max_length=255, blank=True)
    # Where the image came from (a Hugo site path or a web address) and the SHA-256 of
    # the bytes as they came, so that importing again reuses it instead of a copy.
    source = models.TextField(gettext_lazy("source"), blank=True, editable=False)
    source_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    # Resized copies (posts/renditions.py), made by a task after the upload: the admin's
    # lists show the smallest; {} until they are made.
    renditions = models.JSONField(editable=False, default=dict)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("uploaded by"),
    )
    uploaded_at = models.DateTimeField(gettext_lazy("uploaded"), auto_now_add=True, db_index=True)

    objects = MediaImageQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = gettext_lazy("image")
        verbose_name_plural = gettext_lazy("media library")

    def __str__(self):
        return self.original_name or self.file.name

    @property
    def markdown(self):
        """The Markdown that puts the image in a post, with its alt text."""
        return markdown_image(self.alt, self.file.url)

    def current_renditions(self):
        """The resized copies if they are of the stored file, else {}."""
        stored = self.renditions or {}
        return stored if self.file and stored.get("source") == self.file.name else {}

    def make_renditions(self):
        """Make the resized copies and record them (a task does this, never a request)."""
        from .. import renditions

        made = renditions.renditions(self.file)
        if made:
            MediaImage.objects.filter(pk=self.pk, file=self.file.name).update(renditions=made)
            self.renditions = made
        return made

    def delete(self, *args, **kwargs):
        """Delete the image's row, unless a post or product shows it (ImageInUse)."""
        MediaImage.check_unused([self])
        return super().delete(*args, **kwargs)

    @staticmethod
    def check_unused(images):
        """Raise ImageInUse, saying which and where, if posts or products show any of `images`."""
        found = usage(images)
        used = [image for image in images if found[image.pk]]
        if used:
            raise ImageInUse(" ".join(found[image.pk].refusal(image) for image in used), found)


class Usage:
    """The posts (body or cover) and products that show one image."""

    def __init__(self):
        self.posts = []
        self.products = []

    def __bool__(self):
        return bool(self.posts or self.products)

    def refusal(self, image):
        """Why `image` is not deleted, and what to do instead."""
        posts = [f"“{post.title}”" for post in self.posts]
        if not self.products:
            return _("“%(name)s” is used in %(posts)s, so it was not deleted. Take it out of those posts first.") % {
                "name": image,
                "posts": ", ".join(posts),
            }
        products = [_("the product “%(name)s”") % {"name": product.name} for product in self.products]
        return _("“%(name)s” is used in %(where)s, so it was not deleted. Take it out of them first.") % {
            "name": image,
            "where": ", ".join(posts + products),
        }


def usage(images):
    """{image pk: Usage} for `images`: the posts whose body holds the image's URL or
    stored name (which outlasts a change of MEDIA_URL) or whose cover is its file, and
    the products it is the image of; in two queries for all of them."""
    from .affiliate import Product
    from .posts import Post

    images = list(images)
    found = {image.pk: Usage() for image in images}
    if not images:
        return found
    marks = {image.pk: {image.file.name, image.file.url} for image in images}
    match = Q(cover__in=[image.file.name for image in images])
    for mark in set().union(*marks.values()):
        match |= Q(body__contains=mark)
    # The candidates' bodies are read to tell which image each post holds (and
    # because SQLite's LIKE ignores case); a cover's size, or Django reads it per post.
    candidates = Post.objects.filter(match).only("title", "body", "cover", "cover_width", "cover_height")
    for post in candidates.order_by("title"):
        for image in images:
            if post.cover.name == image.file.name or any(mark in post.body for mark in marks[image.pk]):
                found[image.pk].posts.append(post)
    products = Product.objects.filter(image__in=[image.pk for image in images]).only("name", "image").order_by("name")
    for product in products:
        found[product.image_id].products.append(product)
    return found


def markdown_image(alt, url):
    """`![alt](url)`, with what would end the alt text or the link escaped."""
    alt = " ".join(alt.split()).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    url = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"![{alt}]({url})"
