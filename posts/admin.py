from functools import partial

import reversion
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from markdownx.admin import MarkdownxModelAdmin
from reversion.admin import VersionAdmin
from reversion.models import Version

from . import terms, uploads, views, workflow
from .models import AffiliateBox, AffiliateSettings, Category, MediaImage, Post, SiteSettings, Tag
from .rendering import preview_html


class WriterStatusField(forms.ChoiceField):
    """A writer's status menu: it offers draft and review only, yet takes any status,
    so that `PostAdminForm.clean_status` can say why publishing is refused."""

    def __init__(self, **kwargs):
        offered = [choice for choice in Post.Status.choices if choice[0] in Post.WRITER_STATUSES]
        super().__init__(choices=offered, **kwargs)

    def valid_value(self, value):
        return value in Post.Status.values


class PostAdminForm(forms.ModelForm):
    # The post's edit token when the form was opened (see workflow.find_conflict).
    opened_token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Post
        fields = "__all__"
        # Django's ImageField would refuse bad files with one general message before
        # clean_cover could say what is wrong.
        field_classes = {"cover": forms.FileField}

    user = None  # set by PostAdmin.get_form
    conflict = None
    cover_upload_name = None  # the name of a cover uploaded with the form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["opened_token"].initial = self.instance.edit_token
        if "status" in self.fields and not workflow.can_publish(self.user):
            self.fields["status"] = WriterStatusField(
                label=self.fields["status"].label, initial=self.fields["status"].initial
            )

    def clean_cover(self):
        cover = self.cleaned_data.get("cover")
        if isinstance(cover, UploadedFile):
            self.cover_upload_name = cover.name
            return uploads.prepare_upload(cover)
        return cover

    def clean_status(self):
        status = self.cleaned_data["status"]
        if status not in Post.WRITER_STATUSES and not workflow.can_publish(self.user):
            raise ValidationError(
                _("Only editors publish and unpublish. Choose “In review” to ask an editor to publish it.")
            )
        return status

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not self.errors:
            self.conflict = workflow.find_conflict(self.instance.pk, cleaned.get("opened_token"), cleaned)
            if self.conflict:
                # The form is shown again with the writer's text; saving it once more,
                # after reading the difference, is a deliberate overwrite.
                self.data = self.data.copy()
                self.data[self.add_prefix("opened_token")] = str(self.conflict.token)
                raise ValidationError(self.conflict.message, code="conflict")
        return cleaned


class AffiliateBoxInline(admin.TabularInline):
    model = AffiliateBox
    fields = ["keyword", "product_name", "reason", "placement", "position"]
    extra = 0


class PublicationFilter(admin.SimpleListFilter):
    """Where posts stand for readers, by the one publication rule (PostQuerySet)."""

    title = _("publication")
    parameter_name = "publication"

    def lookups(self, request, model_admin):
        return Post.Publication.choices

    def queryset(self, request, queryset):
        by_time = {
            Post.Publication.LIVE: queryset.published,
            Post.Publication.SCHEDULED: queryset.scheduled,
            Post.Publication.EXPIRED: queryset.expired,
        }
        if self.value() in by_time:
            return by_time[self.value()]()
        if self.value() in Post.Publication.values:
            return queryset.filter(status=self.value())
        return queryset


@admin.register(Post)
class PostAdmin(VersionAdmin, MarkdownxModelAdmin):
    form = PostAdminForm
    list_display = ["thumbnail", "title", "publication", "published_at", "category_names", "author"]
    list_display_links = ["thumbnail", "title"]
    list_filter = [PublicationFilter, "status", "categories", "author"]
    search_fields = ["title", "slug", "description"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["categories", "tags"]
    inlines = [AffiliateBoxInline]
    readonly_fields = ["preview_link", "updated_at", "updated_by", "word_count", "reading_time"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "body", "opened_token"]}),
        (
            _("Publication"),
            {"fields": ["status", "published_at", "expires_at", "author", "preview_link", "updated_at", "updated_by"]},
        ),
        (_("Listing and SEO"), {"fields": ["description", "cover", "cover_alt", "categories", "tags"]}),
        (_("Statistics"), {"fields": ["word_count", "reading_time"], "classes": ["collapse"]}),
    ]
    actions = ["submit_for_review", "publish_now", "unpublish"]
    list_per_page = 50
    change_form_template = "admin/posts/post/change_form.html"
    object_history_template = "admin/posts/post/object_history.html"
    history_latest_first = True

    # Who may do what (the rules are in workflow.py)

    def _reversion_order_version_queryset(self, request, queryset):
        """Deleted posts to recover: a writer sees only their own."""
        versions = super()._reversion_order_version_queryset(request, queryset)
        if workflow.can_publish(request.user):
            return versions
        # A version keeps a foreign key under its column name.
        return [version for version in versions if version.field_dict.get("author_id") == request.user.pk]

    def get_queryset(self, request):
        posts = super().get_queryset(request).defer(*Post.HEAVY_FIELDS).prefetch_related("categories")
        if not workflow.can_publish(request.user):
            posts = posts.filter(author=request.user)
        return posts

    def get_object(self, request, object_id, from_field=None):
        # Any post, not only get_queryset's: another writer's post then answers 403
        # through the permission checks instead of pretending not to exist.
        try:
            return Post.objects.get(pk=Post._meta.pk.to_python(object_id))
        except (Post.DoesNotExist, ValidationError):
            return None

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and workflow.can_see(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and workflow.can_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and workflow.can_edit(request.user, obj)

    def has_publish_permission(self, request):
        return workflow.can_publish(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if workflow.can_publish(request.user) else [*fields, "author"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.user = request.user
        return form

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        if obj.author_id is None:
            obj.author = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
        if "cover" in form.changed_data and form.cover_upload_name and obj.cover:
            uploads.add_cover_to_library(obj, form.cover_upload_name, request.user)

    def view_on_site(self, obj):
        return obj.get_absolute_url() if obj.is_published else reverse("admin:posts_post_preview", args=[obj.pk])

    # Actions

    @admin.action(description=_("Submit the selected drafts for review"))
    def submit_for_review(self, request, queryset):
        self._change_status(request, queryset.filter(status=Post.Status.DRAFT), Post.Status.REVIEW)

    @admin.action(description=_("Publish the selected posts now"), permissions=["publish"])
    def publish_now(self, request, queryset):
        self._change_status(request, queryset, Post.Status.PUBLISHED, published_at=timezone.now())

    @admin.action(description=_("Unpublish the selected posts"), permissions=["publish"])
    def unpublish(self, request, queryset):
        self._change_status(request, queryset.filter(status=Post.Status.PUBLISHED), Post.Status.UNPUBLISHED)

    def _change_status(self, request, queryset, status, **fields):
        changed = 0
        for post in queryset:
            if not self.has_change_permission(request, post):
                continue
            with reversion.create_revision():
                post.status = status
                for name, value in fields.items():
                    setattr(post, name, value)
                post.updated_by = request.user
                post.save()
                reversion.set_user(request.user)
                reversion.set_comment(_("Status changed to “%(status)s”.") % {"status": post.get_status_display()})
            changed += 1
        self.message_user(
            request,
            ngettext("%(count)d post is now “%(status)s”.", "%(count)d posts are now “%(status)s”.", changed)
            % {"count": changed, "status": Post.Status(status).label},
            messages.SUCCESS if changed else messages.WARNING,
        )

    # Columns

    @admin.display(description="")
    def thumbnail(self, obj):
        if not obj.cover:
            return ""
        return format_html('<img src="{}" alt="" class="kiji-thumb" loading="lazy">', obj.cover.url)

    @admin.display(description=_("status"), ordering="status")
    def publication(self, obj):
        publication = obj.publication
        return format_html('<span class="kiji-status kiji-status--{}">{}</span>', publication.value, publication.label)

    @admin.display(description=_("categories"))
    def category_names(self, obj):
        return ", ".join(category.name for category in obj.categories.all())

    @admin.display(description=_("preview"))
    def preview_link(self, obj):
        if obj.pk is None:
            return _("Save the post to preview it.")
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("admin:posts_post_preview", args=[obj.pk]),
            _("Open the preview"),
        )

    # Views

    def get_urls(self):
        def view(function, post_only=False):
            return self.admin_site.admin_view(require_POST(function) if post_only else function)

        own = [
            path("<int:pk>/preview/", view(self.preview_view), name="posts_post_preview"),
            path("<int:pk>/preview-changes/", view(self.preview_changes_view, True), name="posts_post_preview_changes"),
            path(
                "<int:pk>/history/<int:version_id>/compare/",
                view(self.compare_view),
                name="posts_post_compare",
            ),
            path("markdownify/", view(self.markdownify_view, True), name="posts_post_markdownify"),
            path("upload-image/", view(self.upload_image_view, True), name="posts_post_upload_image"),
        ]
        return own + super().get_urls()

    def _post_or_404(self, request, pk, check):
        post = get_object_or_404(Post, pk=pk)
        if not check(request, post):
            raise PermissionDenied
        return post

    def preview_view(self, request, pk):
        self._post_or_404(request, pk, self.has_view_or_change_permission)
        return views.preview(request, pk)

    def preview_changes_view(self, request, pk):
        """The post as it would look with the form's unsaved changes (nothing is saved)."""
        post = self._post_or_404(request, pk, self.has_change_permission)
        for name in ("title", "body", "description", "cover_alt"):
            if name in request.POST:
                setattr(post, name, request.POST[name])
        post.render()
        post.summary = post.description.strip() or post.summary
        boxes = AffiliateBoxInline(Post, self.admin_site).get_formset(request, post)(
            request.POST, instance=post, prefix="affiliate_boxes"
        )
        # Shown through the prefetch cache, so that the public template reads them
        # as it reads a saved post's.
        boxes.is_valid()  # a box with errors is left out of the preview
        post._prefetched_objects_cache = {
            "categories": Category.objects.filter(pk__in=request.POST.getlist("categories")),
            "tags": Tag.objects.filter(pk__in=request.POST.getlist("tags")),
            "affiliate_boxes": sorted(
                (
                    form.instance
                    for form in boxes.forms
                    if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE")
                ),
                key=lambda box: box.position,
            ),
        }
        return views.render_preview(request, post)

    def compare_view(self, request, pk, version_id):
        """A version of the post side by side with the one saved before it."""
        post = self._post_or_404(request, pk, self.has_view_or_change_permission)
        versions = list(Version.objects.get_for_object(post).select_related("revision__user"))
        version = get_object_or_404(Version, pk=version_id, object_id=str(post.pk))
        older = [other for other in versions if other.pk < version.pk]
        previous = max(older, key=lambda other: other.pk) if older else None
        rows = workflow.diff(
            workflow.version_snapshot(previous) if previous else {},
            workflow.version_snapshot(version),
            _("Before"),
            _("This version"),
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": Post._meta,
            "original": post,
            "title": _("Changes in this version of “%(title)s”") % {"title": post.title},
            "version": version,
            "previous": previous,
            "rows": rows,
            "revert_url": reverse("admin:posts_post_revision", args=[post.pk, version.pk]),
        }
        return TemplateResponse(request, "admin/posts/post/compare.html", context)

    def _require_edit_permission(self, request):
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied

    def markdownify_view(self, request):
        self._require_edit_permission(request)
        return HttpResponse(preview_html(request.POST.get("content", "")))

    def upload_image_view(self, request):
        self._require_edit_permission(request)
        upload = request.FILES.get("image")
        if upload is None:
            return JsonResponse({"error": str(_("No file was sent."))}, status=400)
        try:
            url = uploads.store_upload(upload, request.user)
        except ValidationError as error:
            return JsonResponse({"error": " ".join(error.messages)}, status=400)
        return JsonResponse({"image_code": f"![]({url})"})

    class Media:
        css = {"all": ["kiji/admin.css"]}
        js = ["kiji/admin.js"]


class PostCountFilter(admin.SimpleListFilter):
    title = _("post count")
    parameter_name = "posts"
    RANGES = {"0": {"post_count": 0}, "1": {"post_count": 1}, "2-9": {"post_count__range": (2, 9)}, "10-": {"post_count__gte": 10}}  # fmt: skip

    def lookups(self, request, model_admin):
        return [("0", _("Unused")), ("1", _("Used once")), ("2-9", _("2–9 posts")), ("10-", _("10 posts or more"))]

    def queryset(self, request, queryset):
        return queryset.filter(**self.RANGES[self.value()]) if self.value() in self.RANGES else queryset


class MergeForm(forms.Form):
    """Which of `merging` (terms with `post_count`) survives a merge, and its name."""

    survivor = forms.TypedChoiceField(coerce=int)
    name = forms.CharField(
        label=_("New name"),
        max_length=200,
        required=False,
        help_text=_("Optional. Left blank, the chosen term keeps its name."),
    )

    def __init__(self, data, merging):
        super().__init__(data)
        self.merging = sorted(merging, key=lambda term: (-term.post_count, term.name))
        self.fields["survivor"].choices = [(term.pk, term.name) for term in self.merging]
        self.fields["survivor"].initial = self.merging[0].pk if self.merging else None

    def merge(self):
        """Merge as chosen; the survivor, or None with the form's errors set."""
        if len(self.merging) < 2:
            self.add_error(None, _("Choose two or more terms to merge."))
        if not self.is_valid():
            return None
        survivor = next(term for term in self.merging if term.pk == self.cleaned_data["survivor"])
        try:
            return terms.merge(survivor, self.merging, self.cleaned_data["name"])
        except ValidationError as error:  # Term.clean's, on the name
            self.add_error(None, error)
            return None


class TermAdmin(admin.ModelAdmin):
    """Categories and tags, with post counts and tools to tidy them (see terms.py)."""

    list_display = ["name", "slug", "post_count"]
    list_filter = [PostCountFilter]
    search_fields = ["name", "slug"]
    actions = ["merge_selected", "delete_unused"]
    change_list_template = "admin/posts/term/change_list.html"

    def get_queryset(self, request):
        return terms.counted(super().get_queryset(request))

    @admin.display(description=_("post count"), ordering="post_count")
    def post_count(self, obj):
        return obj.post_count

    def changelist_view(self, request, extra_context=None):
        extra_context = {"can_tidy": self.has_change_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_duplicates"
        return [path("duplicates/", self.admin_site.admin_view(self.duplicates_view), name=name), *super().get_urls()]

    @admin.action(description=_("Merge selected into one…"), permissions=["change"])
    def merge_selected(self, request, queryset):
        form = MergeForm(request.POST if "survivor" in request.POST else None, queryset)
        if form.is_bound and self._merged(request, form):
            return None
        if len(form.merging) < 2:
            self.message_user(request, _("Choose two or more terms to merge."), messages.WARNING)
            return None
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form, "title": _("Merge into one")}
        return TemplateResponse(request, "admin/posts/term/merge.html", context)

    @admin.action(description=_("Delete selected terms that have no posts"), permissions=["delete"])
    def delete_unused(self, request, queryset):
        deleted, kept = terms.delete_unused(queryset)
        self.log_deletions(request, deleted)
        count = len(deleted)
        message = ngettext("Deleted %(count)d unused term.", "Deleted %(count)d unused terms.", count) % {"count": count}
        if kept:
            message += " " + ngettext(
                "Kept %(count)d term that posts carry.", "Kept %(count)d terms that posts carry.", kept
            ) % {"count": kept}
        self.message_user(request, message, messages.SUCCESS if count else messages.WARNING)

    def duplicates_view(self, request):
        """Terms whose names differ only in case, width, spaces, hyphens or underscores."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            chosen = [pk for pk in request.POST.getlist("merging") if pk.isdigit()]
            merging = self.get_queryset(request).filter(pk__in=chosen)
            form = MergeForm(request.POST, merging)
            if not self._merged(request, form):
                errors = [str(error) for field_errors in form.errors.values() for error in field_errors]
                self.message_user(request, " ".join(errors), messages.ERROR)
            return redirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Possible duplicates"),
            "groups": [MergeForm(None, group) for group in terms.duplicate_groups(self.model)],
        }
        return TemplateResponse(request, "admin/posts/term/duplicates.html", context)

    def _merged(self, request, form):
        survivor = form.merge()
        if survivor is not None:
            others = [term for term in form.merging if term.pk != survivor.pk]
            message = ngettext(
                "Merged %(count)d term into “%(name)s”.", "Merged %(count)d terms into “%(name)s”.", len(others)
            ) % {"count": len(others), "name": survivor.name}
            self.log_deletions(request, others)
            self.log_change(request, survivor, message)
            self.message_user(request, message, messages.SUCCESS)
        return survivor


admin.site.register(Category, TermAdmin)
admin.site.register(Tag, TermAdmin)


class SingletonAdmin(admin.ModelAdmin):
    """Straight to the one record's form; nothing to add or delete."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        obj, _created = self.model.objects.get_or_create(pk=1)
        return redirect(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]))


@admin.register(AffiliateSettings)
class AffiliateSettingsAdmin(SingletonAdmin):
    fields = ["enabled", "amazon_tag", "rakuten_id", "disclosure"]


@admin.register(SiteSettings)
class SiteSettingsAdmin(SingletonAdmin):
    fieldsets = [
        (None, {"fields": ["title", "tagline", "description", "author_name", "social_links"]}),
        (_("Sharing and search engines"), {"fields": ["default_share_image", "logo", "feed_full_content"]}),
        (_("Advertising"), {"fields": ["adsense_client", "ad_slot_top", "ad_slot_bottom"]}),
    ]


class MediaImageForm(forms.ModelForm):
    """An image added to the library: checked and saved again for the web like any upload."""

    class Meta:
        model = MediaImage
        fields = ["file"]
        # As for covers: clean_file says what is wrong, not Django's general message.
        field_classes = {"file": forms.FileField}

    original_name = ""

    def clean_file(self):
        upload = self.cleaned_data["file"]
        self.original_name = upload.name
        return uploads.prepare_upload(upload)


class MediaChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # The posts using each image of the page, in one query for all of them.
        usage = uploads.posts_using(self.result_list)
        for image in self.result_list:
            image.used_in = usage[image.pk]


@admin.register(MediaImage)
class MediaImageAdmin(admin.ModelAdmin):
    """The media library: uploaded images, the posts that use them, and the Markdown to
    reuse one. Writers see their own uploads, editors everyone's; images are not
    edited, and only editors delete them, once no post uses them."""

    form = MediaImageForm
    list_display = [
        "thumbnail", "original_name", "pixel_size", "file_size", "uploaded_by", "uploaded_at",
        "used_in", "markdown",
    ]  # fmt: skip
    list_display_links = ["thumbnail", "original_name"]
    search_fields = ["original_name"]
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
        return ["file"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and (
            obj is None or workflow.can_publish(request.user) or obj.uploaded_by_id == request.user.pk
        )

    def has_change_permission(self, request, obj=None):
        return False  # an image is replaced by uploading another, never edited

    def has_delete_permission(self, request, obj=None):
        return workflow.can_publish(request.user)

    def save_model(self, request, obj, form, change):
        obj.original_name = form.original_name
        obj.size = obj.file.size
        obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)

    def delete_view(self, request, object_id, extra_context=None):
        image = self.get_object(request, unquote(object_id))
        if image is not None and self.has_delete_permission(request, image):
            usage = uploads.posts_using([image])
            if usage[image.pk]:
                self.message_user(request, self._in_use_message([image], usage), messages.ERROR)
                return redirect(reverse("admin:posts_mediaimage_change", args=[image.pk]))
        return super().delete_view(request, object_id, extra_context)

    @admin.action(description=_("Delete the selected images that no post uses"), permissions=["delete"])
    def delete_selected(self, request, queryset):
        selected = list(queryset)
        usage = uploads.posts_using(selected)
        used = [image for image in selected if usage[image.pk]]
        if used:
            self.message_user(request, self._in_use_message(used, usage), messages.WARNING)
        if len(used) < len(selected):
            # Django's own confirmation page, for the images that may go.
            unused = queryset.exclude(pk__in=[image.pk for image in used])
            return admin_actions.delete_selected(self, request, unused)
        return None

    def _in_use_message(self, used, usage):
        return " ".join(
            _("“%(name)s” is used in %(posts)s, so it was not deleted. Take it out of those posts first.")
            % {"name": image, "posts": ", ".join(f"“{post.title}”" for post in usage[image.pk])}
            for image in used
        )

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
        return format_html('<img src="{}" alt="" class="kiji-thumb" loading="lazy">', obj.file.url)

    @admin.display(description=_("image"))
    def preview(self, obj):
        return format_html('<img src="{}" alt="" class="kiji-media-preview">', obj.file.url)

    @admin.display(description=_("pixels"))
    def pixel_size(self, obj):
        return f"{obj.width}×{obj.height}"

    @admin.display(description=_("file size"), ordering="size")
    def file_size(self, obj):
        return filesizeformat(obj.size)

    @admin.display(description=_("used in"))
    def used_in(self, obj):
        posts = obj.used_in if hasattr(obj, "used_in") else uploads.posts_using([obj])[obj.pk]
        if not posts:
            return _("No post")
        links = ((reverse("admin:posts_post_change", args=[post.pk]), post.title) for post in posts)
        return format_html_join(", ", '<a href="{}">{}</a>', links)

    @admin.display(description=_("Markdown"))
    def markdown(self, obj):
        return format_html(
            '<span class="kiji-copy"><input type="text" readonly value="{}" class="kiji-copy__code" aria-label="{}">'
            '<button type="button" class="button kiji-copy__button" data-copied="{}">{}</button></span>',
            f"![]({obj.file.url})",
            _("Markdown to put the image in a post"),
            _("Copied"),
            _("Copy"),
        )

    class Media:
        css = {"all": ["kiji/admin.css"]}
        js = ["kiji/admin.js"]
