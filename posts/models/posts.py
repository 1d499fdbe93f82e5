"""Posts, the one publication rule, and the affiliate boxes placed in them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from markdownx.models import MarkdownxField

from .. import rendering
from ..slugs import urlize
from .redirects import Redirect
from .terms import Category, SlugField, Tag


def published_q(prefix="", at=None):
    """The publication rule as a filter, for posts reached through `prefix`
    (e.g. "posts__" from a term): published, not scheduled for later, not expired, now
    or at the time `at`. `scheduled_q` and `expired_q` are the other published posts;
    `Post.publication` states the same rule for one post in memory."""
    now = at or timezone.now()
    return Q(**{f"{prefix}status": Post.Status.PUBLISHED, f"{prefix}published_at__lte": now}) & (
        Q(**{f"{prefix}expires_at__isnull": True}) | Q(**{f"{prefix}expires_at__gt": now})
    )


def scheduled_q(prefix=""):
    """Published posts whose time has not come yet (and that will not have expired by then)."""
    now = timezone.now()
    return Q(**{f"{prefix}status": Post.Status.PUBLISHED, f"{prefix}published_at__gt": now}) & (
        Q(**{f"{prefix}expires_at__isnull": True}) | Q(**{f"{prefix}expires_at__gt": F(f"{prefix}published_at")})
    )


def expired_q(prefix=""):
    """Published posts past their expiry time: readers no longer see them."""
    return Q(**{f"{prefix}status": Post.Status.PUBLISHED, f"{prefix}expires_at__lte": timezone.now()})


class PostQuerySet(models.QuerySet):
    def published(self, at=None):
        """What readers may see (see `published_q`), now or at the time `at`."""
        return self.filter(published_q(at=at))

    def scheduled(self):
        """Published posts that readers will see from their publish time on."""
        return self.filter(scheduled_q())

    def expired(self):
        """Published posts that readers saw until their expiry time."""
        return self.filter(expired_q())

    def shown_or_scheduled(self):
        """Published posts readers see now or will see from their time on."""
        return self.filter(published_q() | scheduled_q())

    def changing_between(self, start, end):
        """Published posts that appear or go by themselves (their publish or expiry
        time) between `start` and `end`: the times when the rule's answer changes."""
        published = self.filter(status=Post.Status.PUBLISHED)
        return published.filter(Q(published_at__gt=start, published_at__lte=end) | Q(expires_at__gt=start, expires_at__lte=end))

    def next_change(self, now):
        """When the rule's answer next changes by itself, or None: the next publish or
        expiry time of a published post."""
        times = self.filter(status=Post.Status.PUBLISHED).aggregate(
            publish=models.Min("published_at", filter=Q(published_at__gt=now)),
            expire=models.Min("expires_at", filter=Q(expires_at__gt=now)),
        )
        return min((moment for moment in times.values() if moment), default=None)

    def for_list(self):
        """Posts as list pages show them: with their categories, in one extra query."""
        return self.for_cards().prefetch_related("categories")

    def for_cards(self):
        """Posts for lists of their stored cards (posts/pages.py)."""
        return self.defer(*Post.HEAVY_FIELDS)

    def related_to(self, post, limit=6):
        """The posts `post` lists as related, best first: stored when content changes
        (posts/related.py scores them as the old site's Hugo `related` settings did),
        read here with one indexed query; the latest posts when it lists none that
        readers may see now."""
        related = list(
            self.published().filter(listed_in__post=post).for_list().order_by("listed_in__rank")[:limit]
        )
        return related or list(self.published().exclude(pk=post.pk).for_list()[:limit])

    def neighbours(self, post):
        """(previous, next) published posts around `post` by publish time."""
        at, pk = post.published_at, post.pk
        posts = self.published().defer(*Post.HEAVY_FIELDS)
        previous = (
            posts.filter(Q(published_at__lt=at) | Q(published_at=at, pk__lt=pk))
            .order_by("-published_at", "-pk")
            .first()
        )
        following = (
            posts.filter(Q(published_at__gt=at) | Q(published_at=at, pk__gt=pk))
            .order_by("published_at", "pk")
            .first()
        )
        return previous, following


class Post(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("In review")
        PUBLISHED = "published", _("Published")
        UNPUBLISHED = "unpublished", _("Unpublished")

    class PRNotice(models.TextChoices):
        SITE = "", _("As the affiliate settings say")
        SHOW = "show", _("Always show it")
        HIDE = "hide", _("Never show it")

    # What a writer may set; publishing and unpublishing need `posts.publish_post`.
    WRITER_STATUSES = (Status.DRAFT, Status.REVIEW)

    title = models.CharField(_("title"), max_length=300)
    slug = SlugField(
        _("slug"),
        unique=True,
        help_text=_("The article's URL is /posts/<slug>/."),
    )
    body = MarkdownxField(_("body"), blank=True, help_text=_("Markdown."))
    description = models.TextField(
        _("description"),
        blank=True,
        help_text=_("For search engines and lists. Left blank, it is taken from the body's summary."),
    )
    cover = models.ImageField(
        _("cover image"),
        upload_to="covers/%Y/%m/",
        max_length=300,
        blank=True,
        width_field="cover_width",
        height_field="cover_height",
    )
    # Stored so that pages can give <img> its size without opening the file.
    cover_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    cover_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    cover_alt = models.CharField(_("cover alt text"), max_length=300, blank=True)
    pr_notice = models.CharField(
        _("PR notice"),
        max_length=10,
        choices=PRNotice.choices,
        blank=True,
        default=PRNotice.SITE,
        help_text=_("The advertising notice under the title (景品表示法: ステマ規制)."),
    )
    categories = models.ManyToManyField(
        Category, related_name="posts", blank=True, verbose_name=_("categories")
    )
    tags = models.ManyToManyField(Tag, related_name="posts", blank=True, verbose_name=_("tags"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    published_at = models.DateTimeField(
        _("publish time"),
        default=timezone.now,
        db_index=True,
        help_text=_("A published post with a time in the future stays hidden until then."),
    )
    expires_at = models.DateTimeField(
        _("expiry time"),
        null=True,
        blank=True,
        help_text=_("Optional. Readers stop seeing the post at this time (Hugo's expiryDate)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="posts",
        verbose_name=_("author"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("last edited by"),
    )
    # A new value on every save: an editor's form carries the one it was opened with,
    # and a save that does not match it would overwrite someone else's work.
    edit_token = models.UUIDField(default=uuid.uuid4, editable=False)

    # Where an imported post came from (relative to the Hugo site), and that file's
    # SHA-256, so that importing again skips files that did not change.
    source_path = models.CharField(max_length=500, null=True, blank=True, unique=True, editable=False)
    source_digest = models.CharField(max_length=64, blank=True, editable=False)

    # Derived from `body` on every save, so that no page view parses Markdown.
    body_html = models.TextField(editable=False, default="")
    summary_boxes_at = models.PositiveIntegerField(editable=False, default=0)
    toc = models.JSONField(editable=False, default=list)
    body_text = models.TextField(editable=False, default="")
    summary = models.TextField(editable=False, default="")
    word_count = models.PositiveIntegerField(editable=False, default=0)
    reading_time = models.PositiveIntegerField(editable=False, default=1)
    faq = models.JSONField(editable=False, default=list)  # [{"question", "answer"}] for JSON-LD
    # The boxes the body places with {{< affiliate "…" >}} and {{< product slug >}}, in
    # order: [{"kind", "key"}]; body_html holds <!--kiji-box:N--> where each goes.
    box_markers = models.JSONField(editable=False, default=list)
    # Whether the body links to a store (pasted Amazon, Rakuten, Yahoo links) or places
    # a box: what the PR notice goes by (posts/affiliate.py).
    has_affiliate_links = models.BooleanField(editable=False, default=False)
    # Resized WebP and fallback copies of the cover, made by a task (renditions.py).
    cover_renditions = models.JSONField(editable=False, default=dict)
    # The article page, the card and the head of the search result (categories, date,
    # title) as readers see them, rendered by a task when what they show changes, with
    # the page versions they were rendered with (pages.py).
    page_html = models.TextField(editable=False, default="")
    card_html = models.TextField(editable=False, default="")
    result_html = models.TextField(editable=False, default="")
    rendered = models.JSONField(editable=False, default=dict)

    objects = PostQuerySet.as_manager()

    # Big columns that list pages never show.
    HEAVY_FIELDS = ("body", "body_html", "body_text", "toc", "faq", "page_html")
    # What save() derives from the body: rendering again changes these and nothing a
    # person edits, so it leaves the edit token alone (see rerender()).
    RENDERED_FIELDS = (
        "body_html", "summary_boxes_at", "toc", "body_text", "word_count", "reading_time", "faq", "summary",
        "box_markers", "has_affiliate_links",
    )  # fmt: skip

    class Meta:
        ordering = ["-published_at", "-id"]
        permissions = [("publish_post", _("Can publish, schedule and unpublish posts"))]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        indexes = [
            # The publication rule and the lists' order in one index: a page of posts is
            # read in order along it, and counting them needs nothing else.
            models.Index(fields=["status", "published_at", "id", "expires_at"], name="post_publication"),
            # Previous and next posts: a step along this index each way.
            models.Index(fields=["published_at", "id"], name="post_published_id"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("posts:detail", kwargs={"slug": self.slug})

    class Publication(models.TextChoices):
        """Where a post stands for readers: its status, and for a published post, time."""

        LIVE = "live", _("Published")
        SCHEDULED = "scheduled", _("Scheduled")
        EXPIRED = "expired", _("Expired")
        REVIEW = "review", _("In review")
        DRAFT = "draft", _("Draft")
        UNPUBLISHED = "unpublished", _("Unpublished")

    @property
    def publication(self):
        """The post's Publication: the rule of `published_q`, `scheduled_q` and
        `expired_q` for one post in memory."""
        if self.status != self.Status.PUBLISHED:
            return self.Publication(self.status)
        now = timezone.now()
        if self.expires_at is not None and self.expires_at <= now:
            return self.Publication.EXPIRED
        if self.published_at > now:
            return self.Publication.SCHEDULED
        return self.Publication.LIVE

    @property
    def is_published(self):
        return self.publication == self.Publication.LIVE

    @property
    def is_scheduled(self):
        return self.publication == self.Publication.SCHEDULED

    @property
    def was_updated(self):
        """Whether the update is worth showing: a later day than publication."""
        return timezone.localdate(self.updated_at) > timezone.localdate(self.published_at)

    def render(self, result=None):
        """Refresh the fields derived from the body (from `result` if already rendered)."""
        result = result or rendering.render(self.body)
        self.body_html = result.html
        self.summary_boxes_at = result.summary_at
        self.toc = result.toc
        self.body_text = result.text
        self.word_count = result.word_count
        self.reading_time = result.reading_time
        self.faq = result.faq
        self.box_markers = result.markers
        self.has_affiliate_links = result.affiliate_links or bool(result.markers)
        self.summary = self.description.strip() or result.summary

    def save(self, *args, touch=True, rendered=None, **kwargs):
        """Render the body (unless given `rendered`, its rendering) and, unless `touch`
        is false, set `updated_at` to now. A changed slug leaves a permanent redirect
        from the old URL."""
        if not self.slug:
            self.slug = urlize(self.title)
        self.render(rendered)
        if touch:
            self.updated_at = timezone.now()
        self.edit_token = uuid.uuid4()
        old_slug = (
            Post.objects.filter(pk=self.pk).values_list("slug", flat=True).first() if self.pk else None
        )
        super().save(*args, **kwargs)
        if old_slug and old_slug != self.slug:
            Redirect.add(reverse("posts:detail", kwargs={"slug": old_slug}), self.get_absolute_url())
        self._index()

    def rerender(self):
        """Render the stored body again (after the renderer changed) and save only what
        is derived from it: the edit token stays, so an editor with the post open can
        still save, and `updated_at` stays, as nothing a reader would call an update
        happened."""
        self.render()
        super().save(update_fields=self.RENDERED_FIELDS)
        self._index()

    def _index(self):
        # Imported here because search.py imports this module.
        from .. import search

        search.index(self)
