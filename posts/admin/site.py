"""The site-wide settings: one record each, edited straight away."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..models import AffiliateSettings, SiteSettings


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
    fieldsets = [
        (None, {"fields": ["enabled", "amazon_tag", "rakuten_id", "valuecommerce_sid", "valuecommerce_pid"]}),
        (_("Labelling (景品表示法)"), {"fields": ["pr_notice", "pr_notice_scope", "disclosure", "associate_statement"]}),
    ]


@admin.register(SiteSettings)
class SiteSettingsAdmin(SingletonAdmin):
    fieldsets = [
        (None, {"fields": ["title", "tagline", "description", "author_name", "social_links"]}),
        (_("Sharing and search engines"), {"fields": ["default_share_image", "logo", "feed_full_content"]}),
        (_("Advertising"), {"fields": ["adsense_client", "ad_slot_top", "ad_slot_bottom"]}),
    ]
