import reversion
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from markdownx.admin import MarkdownxModelAdmin
from reversion.admin import VersionAdmin
from reversion.models import Version

from . import images, views, workflow
from .models import AffiliateBox, AffiliateSettings, Category, Post, SiteSettings, Tag
from .rendering import preview_html


class PostAdminForm(forms.ModelForm):
    # The post's edit token when the form was opened (see workflow.find_conflict).
    opened_token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Post
        fields = "__all__"

    user = None  # set by PostAdmin.get_form
    conflict = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["opened_token"].initial = self.instance.edit_token
        if "status" in self.fields and not workflow.can_publish(self.user):
            self.fields["status"].choices = [
                choice for choice in Post.Status.choices if choice[0] in Post.WRITER_STATUSES
            ]

    def clean_cover(self):
        cover = self.cleaned_data.get("cover")
        if isinstance(cover, UploadedFile):
            images.validate_image(cover)
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
    title = _("publication")
    parameter_name = "publication"

    def lookups(self, request, model_admin):
        return [
            ("live", _("Live")),
            ("scheduled", _("Scheduled")),
            ("review", _("In review")),
            ("draft", _("Draft")),
            ("unpublished", _("Unpublished")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        published = queryset.filter(status=Post.Status.PUBLISHED)
        if self.value() == "live":
            return published.filter(published_at__lte=now)
        if self.value() == "scheduled":
            return published.filter(published_at__gt=now)
        if self.value() in ("review", "draft", "unpublished"):
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

    def get_queryset(self, request):
        posts = super().get_queryset(request).defer(*Post.HEAVY_FIELDS).prefetch_related("categories")
        if not workflow.can_publish(request.user):
            posts = posts.filter(author=request.user)
        return posts

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
        if "cover" in form.changed_data:
            images.cover_renditions(obj)

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
        if obj.is_scheduled:
            return format_html('<span class="kiji-status kiji-status--scheduled">{}</span>', _("Scheduled"))
        return format_html(
            '<span class="kiji-status kiji-status--{}">{}</span>', obj.status, obj.get_status_display()
        )

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
            url = images.store_upload(upload)
        except ValidationError as error:
            return JsonResponse({"error": " ".join(error.messages)}, status=400)
        return JsonResponse({"image_code": f"![]({url})"})

    class Media:
        css = {"all": ["kiji/admin.css"]}
        js = ["kiji/admin.js"]


class TermAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "post_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(post_count=Count("posts"))

    @admin.display(description=_("post count"), ordering="post_count")
    def post_count(self, obj):
        return obj.post_count


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
