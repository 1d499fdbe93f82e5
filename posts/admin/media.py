"""The media library: uploaded and imported images, what each shows (its alt text) and
where it is used; and the thumbnails every admin list shows."""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.db import transaction
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .. import uploads, workflow
from ..models import MediaImage
from ..models.media import usage

# The size .kiji-thumb shows (static/kiji/admin.css).
THUMB_SIZE = (64, 36)
# The width the image page's preview shows at most (.kiji-media-preview), at 1.5x.
PREVIEW_WIDTH = 720


def thumbnail_html(field_file, found):
    """A list's thumbnail of a stored image: the smallest of its resized copies `found`
    (renditions.make's answer), or, until the task queue has made them, the image
    itself at the thumbnail's size. Showing a list never makes copies."""
    if not field_file:
        return ""
    copies = (found or {}).get("webp") or []
    src = field_file.storage.url(min(copies, key=lambda copy: copy[1])[0]) if copies else field_file.url
    return format_html(
        '<img src="{}" alt="" class="kiji-thumb" width="{}" height="{}" loading="lazy" decoding="async">',
        src,
        *THUMB_SIZE,
    )


class MediaImageForm(forms.ModelForm):
    """An image added to the library, with what it shows: checked and saved again for
    the web like any upload."""

    class Meta:
        model = MediaImage
        fields = ["file", "alt"]
        # As for covers: clean_file says what is wrong, not Django's general message.
        field_classes = {"file": forms.FileField}
        widgets = {"alt": forms.TextInput(attrs={"class": "vTextField"})}

    original_name = ""

    def clean_file(self):
        upload = self.cleaned_data["file"]
        self.original_name = upload.name
        return uploads.prepare_upload(upload)


class MediaChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # What uses each image of the page, in two queries for all of them.
        found = usage(self.result_list)
        for image in self.result_list:
            image.used_in = found[image.pk]


@admin.register(MediaImage)
class MediaImageAdmin(admin.ModelAdmin):
    """The media library: uploaded images, what each shows, where it is used, and the
    Markdown to reuse one. Writers see their own uploads, editors everyone's; an image
    is not replaced, only its alt text changed (by editors), and it is deleted only
    once nothing uses it (MediaImage.check_unused)."""

    form = MediaImageForm
    list_display = [
        "thumbnail", "original_name", "alt_text", "pixel_size", "file_size", "uploaded_by", "uploaded_at",
        "used_in", "markdown",
    ]  # fmt: skip
    list_display_links = ["thumbnail", "original_name"]
    search_fields = ["original_name", "alt"]
    readonly_fields = [
        "preview", "markdown", "original_name", "pixel_size", "file_size", "uploaded_by",
        "uploaded_at", "used_in",
    ]  # fmt: skip
    actions = ["delete_selected"]
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return MediaChangeList

    def get_queryset(self, request):
        media = super().get_queryset(request).select_related("uploaded_by")
        if not workflow.can_publish(request.user):
            media = media.filter(uploaded_by=request.user)
        return media

    def get_list_filter(self, request):
        if workflow.can_publish(request.user):
            return [("uploaded_by", admin.RelatedOnlyFieldListFilter)]
        return []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["file", "alt"]
        return ["preview", "alt", *self.readonly_fields[1:]]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and (
            obj is None or workflow.can_publish(request.user) or obj.uploaded_by_id == request.user.pk
        )

    def has_change_permission(self, request, obj=None):
        # Only the alt text changes: an image is replaced by uploading another.
        return super().has_change_permission(request, obj) and workflow.can_publish(request.user)

    def has_delete_permission(self, request, obj=None):
        return workflow.can_publish(request.user)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.original_name = form.original_name
            obj.size = obj.file.size
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)
        if not change:
            uploads.make_copies_after_commit(obj)

    # Deleting: what MediaImage.check_unused refuses is said before Django asks to confirm.

    def delete_view(self, request, object_id, extra_context=None):
        image = self.get_object(request, unquote(object_id))
        if image is not None and self.has_delete_permission(request, image):
            found = usage([image])
            if found[image.pk]:
                self.message_user(request, found[image.pk].refusal(image), messages.ERROR)
                return redirect(reverse("admin:posts_mediaimage_change", args=[image.pk]))
        return super().delete_view(request, object_id, extra_context)

    @admin.action(description=_("Delete the selected images that no post uses"), permissions=["delete"])
    def delete_selected(self, request, queryset):
        selected = list(queryset)
        found = usage(selected)
        used = [image for image in selected if found[image.pk]]
        if used:
            self.message_user(request, " ".join(found[image.pk].refusal(image) for image in used), messages.WARNING)
        if len(used) < len(selected):
            # Django's own confirmation page, for the images that may go.
            unused = queryset.exclude(pk__in=[image.pk for image in used])
            return admin_actions.delete_selected(self, request, unused)
        return None

    # The files go too, once their rows are gone for good.

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        transaction.on_commit(partial(obj.file.delete, save=False))

    def delete_queryset(self, request, queryset):
        files = [image.file for image in queryset]
        super().delete_queryset(request, queryset)
        for file in files:
            transaction.on_commit(partial(file.delete, save=False))

    # Columns

    @admin.display(description="")
    def thumbnail(self, obj):
        return thumbnail_html(obj.file, obj.current_renditions())

    @admin.display(description=_("image"))
    def preview(self, obj):
        copies = obj.current_renditions().get("webp") or []
        large = [copy for copy in copies if copy[1] >= PREVIEW_WIDTH] or copies[-1:]
        src = obj.file.storage.url(min(large, key=lambda copy: copy[1])[0]) if large else obj.file.url
        return format_html(
            '<img src="{}" alt="{}" class="kiji-media-preview" width="{}" height="{}">', src, obj.alt, obj.width, obj.height
        )

    @admin.display(description=_("alt text"), ordering="alt")
    def alt_text(self, obj):
        return obj.alt or format_html('<span class="kiji-missing">{}</span>', _("No alt text"))

    @admin.display(description=_("pixels"))
    def pixel_size(self, obj):
        return f"{obj.width}×{obj.height}"

    @admin.display(description=_("file size"), ordering="size")
    def file_size(self, obj):
        return filesizeformat(obj.size)

    @admin.display(description=_("used in"))
    def used_in(self, obj):
        found = obj.used_in if hasattr(obj, "used_in") else usage([obj])[obj.pk]
        if not found:
            return _("No post")
        links = [(reverse("admin:posts_post_change", args=[post.pk]), post.title) for post in found.posts]
        links += [(reverse("admin:posts_product_change", args=[product.pk]), product.name) for product in found.products]
        return format_html_join(", ", '<a href="{}">{}</a>', links)

    @admin.display(description=_("Markdown"))
    def markdown(self, obj):
        return format_html(
            '<span class="kiji-copy"><input type="text" readonly value="{}" class="kiji-copy__code" aria-label="{}">'
            '<button type="button" class="button kiji-copy__button" data-copied="{}">{}</button></span>',
            obj.markdown,
            _("Markdown to put the image in a post"),
            _("Copied"),
            _("Copy"),
        )

    class Media:
        css = {"all": ["kiji/admin.css"]}
        js = ["kiji/admin.js"]
