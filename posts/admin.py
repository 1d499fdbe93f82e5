from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from markdownx.admin import MarkdownxModelAdmin

from . import images, views
from .models import AffiliateBox, AffiliateSettings, Category, Post, SiteSettings, Tag
from .rendering import preview_html


class PostAdminForm(forms.ModelForm):
    class Meta:
        model = Post
        fields = "__all__"

    def clean_cover(self):
        cover = self.cleaned_data.get("cover")
        if isinstance(cover, UploadedFile):
            images.validate_image(cover)
        return cover


class AffiliateBoxInline(admin.TabularInline):
    model = AffiliateBox
    fields = ["keyword", "product_name", "reason", "placement", "position"]
    extra = 0


class PublicationFilter(admin.SimpleListFilter):
    title = _("publication")
    parameter_name = "publication"

    def lookups(self, request, model_admin):
        return [("live", _("Live")), ("scheduled", _("Scheduled")), ("draft", _("Draft"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        published = queryset.filter(status=Post.Status.PUBLISHED)
        if self.value() == "live":
            return published.filter(published_at__lte=now)
        if self.value() == "scheduled":
            return published.filter(published_at__gt=now)
        if self.value() == "draft":
            return queryset.exclude(status=Post.Status.PUBLISHED)
        return queryset


@admin.register(Post)
class PostAdmin(MarkdownxModelAdmin):
    form = PostAdminForm
    list_display = ["thumbnail", "title", "publication", "published_at", "category_names", "author"]
    list_display_links = ["thumbnail", "title"]
    list_filter = [PublicationFilter, "status", "categories", "author"]
    search_fields = ["title", "slug", "description"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["categories", "tags"]
    inlines = [AffiliateBoxInline]
    readonly_fields = ["preview_link", "updated_at", "word_count", "reading_time"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "body"]}),
        (_("Publication"), {"fields": ["status", "published_at", "author", "preview_link", "updated_at"]}),
        (_("Listing and SEO"), {"fields": ["description", "cover", "cover_alt", "categories", "tags"]}),
        (_("Statistics"), {"fields": ["word_count", "reading_time"], "classes": ["collapse"]}),
    ]
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*Post.HEAVY_FIELDS).prefetch_related("categories")

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        if obj.author_id is None:
            obj.author = request.user
        super().save_model(request, obj, form, change)
        if "cover" in form.changed_data:
            images.cover_renditions(obj)

    def view_on_site(self, obj):
        return obj.get_absolute_url() if obj.is_published else reverse("admin:posts_post_preview", args=[obj.pk])

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

    def get_urls(self):
        own = [
            path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_view), name="posts_post_preview"),
            path("markdownify/", self.admin_site.admin_view(require_POST(self.markdownify_view)), name="posts_post_markdownify"),
            path("upload-image/", self.admin_site.admin_view(require_POST(self.upload_image_view)), name="posts_post_upload_image"),
        ]
        return own + super().get_urls()

    def _require_edit_permission(self, request):
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied

    def preview_view(self, request, pk):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return views.preview(request, pk)

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
