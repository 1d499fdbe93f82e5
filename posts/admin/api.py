"""The write API in the admin: tokens (the secret shown once, on the page after
adding one), the record of writes, the guardrail policy, the problems it flagged,
webhooks with their delivery log, and the weekly digest's runs."""

from django import forms
from django.contrib import admin, messages
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..api import auth
from ..models import ApiExternalId, ApiPolicy, ApiProblem, ApiToken, ApiWrite, DigestRun, Webhook, WebhookDelivery
from .site import SingletonAdmin

# The page after adding a token: the only time its secret is shown. Rendered here, not
# passed in a message, which would keep the secret in a cookie or the session.
SECRET_PAGE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}{% load i18n %}
{% block content %}<div id="content-main">
<p>{% blocktranslate with name=token.name %}The token “{{ name }}” is made. Copy its secret now: it is shown only this once, and Kiji keeps only a hash of it.{% endblocktranslate %}</p>
<p><code id="api-token-secret">{{ secret }}</code></p>
<p>{% translate "The program sends it as" %} <code>Authorization: Bearer {{ secret }}</code></p>
<p><a href="{{ change_url }}">{% translate "Go to the token" %}</a></p>
</div>{% endblock %}"""
)


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=ApiToken.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=ApiToken.Scope.values,
        required=False,
    )

    class Meta:
        model = ApiToken
        fields = ["name", "role", "scopes", "rate_per_minute", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "role", "state", "prefix", "last_used_at", "expires_at", "created_at"]
    list_filter = ["role"]
    search_fields = ["name"]
    readonly_fields = ["prefix", "last_used_at", "revoked_at", "created_at", "created_by"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # The name is the token's user's name too; it is set once.
        return [*self.readonly_fields, "name"] if obj else self.readonly_fields

    @admin.display(description=_("state"))
    def state(self, token):
        if token.revoked_at:
            return _("Revoked")
        if not token.is_active:
            return _("Expired")
        return _("Active")

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            auth.sync_user(obj)
            return
        obj.created_by = request.user
        request._kiji_secret = auth.issue(obj)

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "title": _("Token made"),
            "token": obj,
            "secret": request._kiji_secret,
            "change_url": reverse("admin:posts_apitoken_change", args=[obj.pk]),
        }
        response = TemplateResponse(request, SECRET_PAGE, context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            auth.revoke(token)
        self.message_user(request, _("Revoked %(count)s tokens.") % {"count": queryset.count()}, messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log: looked at, never written in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _post_link(post):
    if post is None:
        return "—"
    return format_html('<a href="{}">{}</a>', reverse("admin:posts_post_change", args=[post.pk]), post.title)


@admin.register(ApiWrite)
class ApiWriteAdmin(ReadOnlyAdmin):
    list_display = ["at", "token_name", "method", "path", "status", "object_repr", "replayed"]
    list_filter = ["token_name", "method", "status", "replayed"]
    search_fields = ["path", "object_repr", "idempotency_key"]
    date_hierarchy = "at"


@admin.register(ApiExternalId)
class ApiExternalIdAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "post_link", "token", "created_at"]
    search_fields = ["external_id", "post__title"]
    list_select_related = ["post", "token"]

    @admin.display(description=_("post"))
    def post_link(self, record):
        return _post_link(record.post)


@admin.register(ApiPolicy)
class ApiPolicyAdmin(SingletonAdmin):
    fieldsets = [
        (
            _("Rules"),
            {
                "fields": [
                    "slug_taken", "similar_title", "description", "cover_alt", "remote_cover", "internal_links",
                    "unknown_category", "sanitized_body", "category_quota", "daily_cap",
                ],
                "description": _("Each rule is off, accepts the post and sends it to review with the problem shown, or refuses it."),
            },
        ),
        (
            _("Limits"),
            {
                "fields": [
                    "similar_title_days", "similar_title_threshold", "description_min_length", "generic_alt_texts",
                    "allow_new_categories", "category_daily_quota", "daily_cap_posts",
                ]
            },
        ),
    ]  # fmt: skip


@admin.register(ApiProblem)
class ApiProblemAdmin(ReadOnlyAdmin):
    """What the guardrails flagged, post by post: the review list for editors."""

    list_display = ["post_link", "post_status", "rule", "message", "created_at", "is_open"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter), "rule"]
    search_fields = ["post__title", "message"]
    list_select_related = ["post"]

    @admin.display(description=_("post"))
    def post_link(self, problem):
        return _post_link(problem.post)

    @admin.display(description=_("status"))
    def post_status(self, problem):
        return problem.post.get_status_display()

    @admin.display(description=_("open"), boolean=True)
    def is_open(self, problem):
        return problem.resolved_at is None


class ApiProblemInline(admin.TabularInline):
    """The open problems of a post, for PostAdmin.inlines (posts/admin/posts.py)."""

    model = ApiProblem
    fields = ["rule", "message", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("Problems the API's guardrails found")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(resolved_at=None)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WebhookForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=1000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=Webhook.Event.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=Webhook.Event.values,
        required=False,
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "events", "is_active", "secret"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ["name", "url", "is_active", "last_delivery"]
    list_filter = ["is_active"]

    @admin.display(description=_("last delivery"))
    def last_delivery(self, webhook):
        delivery = webhook.deliveries.first()
        return f"{timezone.localtime(delivery.created_at):%Y-%m-%d %H:%M} {delivery.get_status_display()}" if delivery else "—"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: every event sent, its attempts and the receiver's last answer."""

    list_display = ["created_at", "webhook", "event", "post_link", "status", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["status", "event", "webhook"]
    list_select_related = ["webhook", "post"]
    readonly_fields = ["webhook", "event", "post", "payload", "status", "attempts", "last_status_code", "last_error", "next_attempt_at", "delivered_at", "created_at"]
    actions = ["send_again"]

    @admin.display(description=_("post"))
    def post_link(self, delivery):
        return _post_link(delivery.post)

    @admin.action(description=_("Send the selected deliveries again"), permissions=["view"])
    def send_again(self, request, queryset):
        from ..api import webhooks

        for delivery in queryset:
            webhooks.send_again(delivery)
        self.message_user(request, _("Queued %(count)s deliveries.") % {"count": queryset.count()}, messages.SUCCESS)


@admin.register(DigestRun)
class DigestRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "period_start", "period_end", "status", "post_count", "post_link", "message"]
    list_filter = ["status"]
    list_select_related = ["post"]

    @admin.display(description=_("digest post"))
    def post_link(self, run):
        return _post_link(run.post)
