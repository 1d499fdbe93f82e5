"""What earns the site: the product registry, with where each product is shown, and the
click dashboard (clicks per day, top posts and products, stores, clicks per 1,000 views)."""

import csv
from datetime import timedelta

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.db.models import Sum
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .. import affiliate, uploads
from ..models import ClickCount, Post, Product, ViewCount
from . import charts
from .media import thumbnail_html


def _https_by_default(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")  # Django 6's default, already
    return field.formfield(**kwargs)


class ProductForm(forms.ModelForm):
    """A product, with an image chosen from the media library or uploaded here (through
    the same pipeline as every upload)."""

    upload = forms.FileField(
        label=_("Upload an image"),
        required=False,
        help_text=_("Optional: a new image for the library, used instead of the one chosen above."),
    )

    class Meta:
        model = Product
        fields = ["name", "slug", "keyword", "reason", "image", "upload", "image_alt", "asin", "rakuten_url", "yahoo_url"]
        formfield_callback = _https_by_default

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if not upload:
            return None
        self.original_name = upload.name
        self.digest = uploads.source_digest(upload)
        return uploads.prepare_upload(upload)

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("image") or cleaned.get("upload")) and not (cleaned.get("image_alt") or "").strip():
            self.add_error("image_alt", _("Say what the image shows, for readers who cannot see it."))
        return cleaned


class ProductChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # Where each product of the page is shown, and its clicks, in three queries.
        usage = affiliate.product_usage(self.result_list)
        since = timezone.localdate() - timedelta(days=29)
        clicks = dict(
            ClickCount.objects.filter(product__in=self.result_list, day__gte=since)
            .values_list("product")
            .annotate(total=Sum("count"))
        )
        for product in self.result_list:
            product.used_on = usage[product.pk]
            product.recent_clicks = clicks.get(product.pk, 0)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Products named once and shown by any number of boxes, as Rinker and Pochipp keep
    them: each with the posts that show it (使用ページ) and those that name it without
    a box."""

    form = ProductForm
    list_display = ["thumbnail", "name", "slug", "keyword", "asin", "used_on", "clicks"]
    list_display_links = ["thumbnail", "name"]
    search_fields = ["name", "slug", "keyword", "asin"]
    autocomplete_fields = ["image"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["marker", "used_on", "mentions"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_per_page = 50

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["name", "slug", "keyword", "reason"]}),
            (_("Image"), {"fields": ["image", "upload", "image_alt"]}),
            (_("Direct links"), {"fields": ["asin", "rakuten_url", "yahoo_url"]}),
        ]
        if obj is not None:
            fieldsets.insert(1, (_("Where it is shown"), {"fields": ["marker", "used_on", "mentions"]}))
        return fieldsets

    def get_changelist(self, request, **kwargs):
        return ProductChangeList

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("image")

    def save_model(self, request, obj, form, change):
        prepared = form.cleaned_data.get("upload")
        if prepared:
            obj.image = uploads.add_to_library(
                prepared,
                original_name=form.original_name,
                user=request.user,
                digest=form.digest,
                alt=form.cleaned_data["image_alt"],
            )
        super().save_model(request, obj, form, change)

    # Columns and read-only fields

    @admin.display(description="")
    def thumbnail(self, obj):
        return thumbnail_html(obj.image.file, obj.image.current_renditions()) if obj.image else ""

    @admin.display(description=_("marker"))
    def marker(self, obj):
        return format_html(
            '<span class="kiji-copy"><input type="text" readonly value="{}" class="kiji-copy__code" aria-label="{}">'
            '<button type="button" class="button kiji-copy__button" data-copied="{}">{}</button></span>',
            f"{{{{< product {obj.slug} >}}}}",
            _("The marker that shows this product in a post"),
            _("Copied"),
            _("Copy"),
        )

    @admin.display(description=_("used on"))
    def used_on(self, obj):
        posts = obj.used_on if hasattr(obj, "used_on") else affiliate.product_usage([obj])[obj.pk]
        if not posts:
            return _("No post")
        return format_html(
            '<span class="kiji-count">{}</span> {}',
            len(posts),
            format_html_join(
                ", ", '<a href="{}">{}</a>', ((reverse("admin:posts_post_change", args=[post.pk]), post.title) for post in posts[:5])
            ),
        )

    @admin.display(description=_("clicks, 30 days"))
    def clicks(self, obj):
        return getattr(obj, "recent_clicks", 0)

    @admin.display(description=_("named without a box"))
    def mentions(self, obj):
        posts = affiliate.mentions_without_box(obj)
        if not posts:
            return _("No post names it without showing it.")
        links = ((reverse("admin:posts_post_change", args=[post.pk]), post.title) for post in posts)
        return format_html('<ul class="kiji-plain-list">{}</ul>', format_html_join("", '<li><a href="{}">{}</a></li>', links))

    class Media:
        css = {"all": ["kiji/admin.css"]}
        js = ["kiji/admin.js"]


# --- The click dashboard -----------------------------------------------------------------

PERIODS = (7, 30, 90, 365)


@admin.register(ClickCount)
class ClickDashboard(admin.ModelAdmin):
    """Clicks on store buttons and views of articles, counted per day (clicks.py), as a
    page that says what earns; the counts themselves are not edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        days = int(request.GET.get("days", 30)) if request.GET.get("days", "30").isdigit() else 30
        days = days if days in PERIODS else 30
        until = timezone.localdate()
        since = until - timedelta(days=days - 1)
        clicks = ClickCount.objects.filter(day__range=(since, until))
        views = ViewCount.objects.filter(day__range=(since, until))
        export = request.GET.get("export")
        if export in ("clicks", "views"):
            return _csv(export, clicks if export == "clicks" else views, since, until)

        per_day = {}
        for day, store, total in clicks.values_list("day", "store").annotate(total=Sum("count")).order_by():
            per_day.setdefault(day, {})[store] = total
        stores = dict(clicks.values_list("store").annotate(total=Sum("count")).order_by())
        all_clicks = sum(stores.values())
        all_views = views.aggregate(total=Sum("count"))["total"] or 0
        top_posts = list(clicks.values_list("post").annotate(total=Sum("count")).order_by("-total", "post")[:20])
        post_views = dict(views.filter(post__in=[pk for pk, _total in top_posts]).values_list("post").annotate(total=Sum("count")).order_by())
        titles = dict(Post.objects.filter(pk__in=[pk for pk, _total in top_posts]).values_list("pk", "title"))
        top_products = list(
            clicks.filter(product__isnull=False).values_list("product").annotate(total=Sum("count")).order_by("-total", "product")[:20]
        )
        names = dict(Product.objects.filter(pk__in=[pk for pk, _total in top_products]).values_list("pk", "name"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Clicks and views"),
            "opts": self.model._meta,
            "days": days,
            "periods": PERIODS,
            "since": since,
            "until": until,
            "chart": charts.stacked_bars(
                [since + timedelta(days=n) for n in range(days)],
                per_day,
                [(store, label) for store, label in ClickCount.Store.choices],
            ),
            "all_clicks": all_clicks,
            "all_views": all_views,
            "per_thousand": _per_thousand(all_clicks, all_views),
            "stores": [
                (label, stores.get(store, 0), round(100 * stores.get(store, 0) / all_clicks) if all_clicks else 0, store)
                for store, label in ClickCount.Store.choices
            ],
            "top_posts": [
                (pk, titles.get(pk, pk), total, post_views.get(pk, 0), _per_thousand(total, post_views.get(pk, 0)))
                for pk, total in top_posts
            ],
            "top_products": [(pk, names.get(pk, pk), total) for pk, total in top_products],
        }
        return TemplateResponse(request, "admin/posts/clickcount/dashboard.html", context)


def _per_thousand(clicks, views):
    return f"{1000 * clicks / views:.1f}" if views else "–"


def _csv(kind, rows, since, until):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kiji-{kind}-{since}-{until}.csv"'
    response.write("\ufeff")  # so that Excel reads the Japanese titles as UTF-8
    writer = csv.writer(response)
    if kind == "clicks":
        writer.writerow(["day", "post_id", "post_slug", "post_title", "box", "product", "store", "clicks"])
        for row in rows.select_related("post", "product").order_by("day", "post_id", "box", "store"):
            writer.writerow([row.day, row.post_id, row.post.slug, row.post.title, row.box, row.product.slug if row.product else "", row.store, row.count])
    else:
        writer.writerow(["day", "post_id", "post_slug", "post_title", "views"])
        for row in rows.select_related("post").order_by("day", "post_id"):
            writer.writerow([row.day, row.post_id, row.post.slug, row.post.title, row.count])
    return response
