"""The media library: every image an editor uploaded or an import brought."""

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _media_path(instance, filename):
    return f"uploads/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{Path(filename).suffix.lower()}"


class MediaImage(models.Model):
    """An image uploaded in the editor or as a cover: the media library lists them."""

    file = models.ImageField(
        _("file"), upload_to=_media_path, width_field="width", height_field="height", max_length=300
    )
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    size = models.PositiveIntegerField(_("size in bytes"), editable=False, default=0)
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    # Where the image came from (a Hugo site path or a web address) and the SHA-256 of
    # the bytes as they came, so that importing again reuses it instead of a copy.
    source = models.TextField(_("source"), blank=True, editable=False)
    source_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("image")
        verbose_name_plural = _("media library")

    def __str__(self):
        return self.original_name or self.file.name
