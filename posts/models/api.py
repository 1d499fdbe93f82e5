"""What the write API keeps: tokens for programs, a record of every write, stored
answers for retried requests, external ids, the guardrail policy and the problems it
found, webhooks and their deliveries, and the weekly digest's runs (posts/api/)."""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .posts import Post


class ApiToken(models.Model):
    """A program's key to the API. Only a SHA-256 of the secret is kept (the secret is
    shown once, when the token is made); the token acts as a user of its own, in the
    group of its role, so that the Writer and Editor rules apply to it as to people."""

    class Role(models.TextChoices):
        WRITER = "writer", _("Writer")
        EDITOR = "editor", _("Editor")
        ADMIN = "admin", _("Admin")

    class Scope(models.TextChoices):
        READ = "read", _("Read posts, terms, products and the schedule")
        POSTS = "posts:write", _("Write posts")
        TERMS = "terms:write", _("Add categories and tags")
        MEDIA = "media:write", _("Upload images")
        PRODUCTS = "products:write", _("Add and change products")

    # The group whose permissions each role has (migration 0006 makes them).
    GROUPS = {Role.WRITER: "Writer", Role.EDITOR: "Editor", Role.ADMIN: "Admin"}

    name = models.SlugField(
        _("name"), max_length=100, unique=True, help_text=_("Letters, digits, - and _: the program's name, e.g. generator.")
    )
    prefix = models.CharField(_("secret starts with"), max_length=16, editable=False)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token", editable=False
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.WRITER)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    rate_per_minute = models.PositiveIntegerField(
        _("requests a minute"), null=True, blank=True, help_text=_("Left blank, the KIJI_API_RATE setting.")
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("admin:posts_apitoken_change", args=[self.pk])

    @property
    def is_active(self):
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    def has_scope(self, scope):
        return scope in self.scopes


class ApiWrite(models.Model):
    """One write request to the API: which token, when, what it asked and what came of it."""

    token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="writes", verbose_name=_("token")
    )
    token_name = models.CharField(_("token name"), max_length=100)
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    status = models.PositiveSmallIntegerField(_("status"))
    object_type = models.CharField(_("object type"), max_length=50, blank=True)
    object_id = models.CharField(_("object id"), max_length=50, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    idempotency_key = models.CharField(_("Idempotency-Key"), max_length=200, blank=True)
    replayed = models.BooleanField(_("replayed"), default=False, help_text=_("Answered with the stored result of an earlier request."))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("API write")
        verbose_name_plural = _("API writes")

    def __str__(self):
        return f"{self.token_name} {self.method} {self.path} {self.status}"


class ApiIdempotency(models.Model):
    """The answer to a write sent with an Idempotency-Key, kept so that a retry of the
    same request gets it again instead of doing the write twice."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_digest = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)  # null while the first request runs
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="api_idempotency_once")]

    def __str__(self):
        return f"{self.token_id} {self.key}"


class ApiExternalId(models.Model):
    """The id a program gave a post (its own article id), so that sending it again
    updates that post instead of making another."""

    external_id = models.CharField(_("external id"), max_length=200, unique=True)
    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="api_external_id", verbose_name=_("post"))
    token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("token")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["external_id"]
        verbose_name = _("external id")
        verbose_name_plural = _("external ids")

    def __str__(self):
        return self.external_id


class RuleMode(models.TextChoices):
    OFF = "off", _("Off")
    FLAG = "flag", _("Accept and flag for review")
    REFUSE = "refuse", _("Refuse")


def _rule(label, default, help_text=""):
    return models.CharField(label, max_length=10, choices=RuleMode.choices, default=default, help_text=help_text)


class ApiPolicy(models.Model):
    """What the API checks in a post a program sends, set by an admin: each rule is off,
    flags the post for review, or refuses it (422; 409 for a slug another post has)."""

    Mode = RuleMode
    RULES = (
        "slug_taken", "similar_title", "description", "cover_alt", "remote_cover", "internal_links",
        "unknown_category", "sanitized_body", "category_quota", "daily_cap",
    )  # fmt: skip

    slug_taken = _rule(_("slug used by another post"), RuleMode.REFUSE, _("Flagged: the post gets a new slug."))
    similar_title = _rule(_("title like a recent post's"), RuleMode.FLAG)
    description = _rule(_("missing or short description"), RuleMode.FLAG)
    cover_alt = _rule(_("missing or generic cover alt text"), RuleMode.FLAG)
    remote_cover = _rule(
        _("cover given as a remote URL"), RuleMode.FLAG, _("Off or flagged: the image is downloaded and kept here.")
    )
    internal_links = _rule(_("internal links to pages that do not exist"), RuleMode.FLAG)
    unknown_category = _rule(_("unknown category"), RuleMode.REFUSE)
    sanitized_body = _rule(_("body the sanitizer had to change"), RuleMode.FLAG)
    category_quota = _rule(_("over a category's daily quota"), RuleMode.REFUSE)
    daily_cap = _rule(_("over the site's daily cap"), RuleMode.REFUSE)

    similar_title_days = models.PositiveSmallIntegerField(_("days to compare titles with"), default=7)
    similar_title_threshold = models.FloatField(
        _("title similarity threshold"),
        default=0.8,
        help_text=_("0 to 1: the share of character pairs two titles have in common (Dice) from which they are near-identical."),
    )
    description_min_length = models.PositiveSmallIntegerField(_("shortest description"), default=50)
    generic_alt_texts = models.TextField(
        _("generic alt texts"),
        default="AI generated thumbnail\nthumbnail\nimage\ncover\n画像\nサムネイル\nアイキャッチ",
        blank=True,
        help_text=_("One a line; compared without case or surrounding spaces."),
    )
    allow_new_categories = models.BooleanField(
        _("create unknown categories"), default=False, help_text=_("On: a category the site lacks is created, not reported.")
    )
    category_daily_quota = models.PositiveSmallIntegerField(
        _("posts a day per category"), default=0, help_text=_("Published or in review, by publish day; 0: no quota.")
    )
    daily_cap_posts = models.PositiveSmallIntegerField(
        _("posts a day on the site"), default=0, help_text=_("Published or in review, by publish day; 0: no cap.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("API guardrails")
        verbose_name_plural = _("API guardrails")

    def __str__(self):
        return str(_("API guardrails"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls):
        """The policy, or its defaults until an admin first saves it. Read on every
        write, not memoised: a change in the admin applies to the next request."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    def mode(self, rule):
        return getattr(self, rule)

    def generic_alts(self):
        return {line.strip().casefold() for line in self.generic_alt_texts.splitlines() if line.strip()}


class ApiProblem(models.Model):
    """What a guardrail found in a post a program sent and flagged for an editor."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="api_problems", verbose_name=_("post"))
    token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("token")
    )
    rule = models.CharField(_("rule"), max_length=30)
    field = models.CharField(_("field"), max_length=30, blank=True)
    message = models.TextField(_("problem"))
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("found"), default=timezone.now)
    resolved_at = models.DateTimeField(
        _("resolved"), null=True, blank=True, help_text=_("Set when the program sends the post again without it.")
    )

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("API problem")
        verbose_name_plural = _("API problems")
        indexes = [models.Index(fields=["post", "resolved_at"], name="api_problem_open")]

    def __str__(self):
        return f"{self.post}: {self.message}"


def _webhook_secret():
    return secrets.token_urlsafe(32)


class Webhook(models.Model):
    """A URL told, by a signed POST, when a post is published, unpublished or updated."""

    class Event(models.TextChoices):
        PUBLISHED = "post.published", _("Published")
        UNPUBLISHED = "post.unpublished", _("Unpublished")
        UPDATED = "post.updated", _("Updated while published")

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=1000)
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        default=_webhook_secret,
        help_text=_("The receiver checks X-Kiji-Signature: HMAC-SHA256 of timestamp.body with this secret."),
    )
    events = models.JSONField(_("events"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("admin:posts_webhook_change", args=[self.pk])


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook, with its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RETRYING = "retrying", _("Retrying")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook"))
    event = models.CharField(_("event"), max_length=30)
    post = models.ForeignKey(
        Post, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("post")
    )
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last answer"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self):
        return f"{self.webhook} {self.event} {self.get_status_display()}"


class DigestRun(models.Model):
    """One run of the weekly digest: the week it covered and the post it drafted."""

    class Status(models.TextChoices):
        DRAFTED = "drafted", _("Drafted")
        PUBLISHED = "published", _("Published")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    period_start = models.DateTimeField(_("from"))
    period_end = models.DateTimeField(_("until"))
    post = models.ForeignKey(
        Post, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("digest post")
    )
    post_count = models.PositiveIntegerField(_("posts in it"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("digest run")
        verbose_name_plural = _("digest runs")

    def __str__(self):
        return f"{self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d} {self.get_status_display()}"


# The webhooks listen to post saves from here, so that they hear every save, whichever
# door it came through (admin, API, import, shell); posts/api/events.py imports no
# models at import time.
from ..api import events  # noqa: E402

events.connect()
