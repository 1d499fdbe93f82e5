import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import reversion
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, Count, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from markdownx.models import MarkdownxField

from . import rendering
from .slugs import urlize, validate_slug


class SlugField(models.CharField):
    """A slug that may hold Unicode letters and Hugo's punctuation (. + ~ @)."""

    default_validators = [validate_slug]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 255)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        field = super().formfield(**kwargs)
        # The admin's slug prepopulation keeps non-ASCII letters only when asked to.
        field.allow_unicode = True
        return field


class TermQuerySet(models.QuerySet):
    def with_post_counts(self):
        """Annotate `post_count`: how many published posts carry the term."""
        return self.annotate(post_count=models.Count("posts", filter=published_q("posts__")))

    def get_or_create_by_name(self, name):
        """The term called `name`; names that differ only in case are one term."""
        name = " ".join(name.split())
        slug = urlize(name)
        term = self.filter(models.Q(slug=slug) | models.Q(name__iexact=name)).first()
        if term is None:
            term = self.create(name=name, slug=slug)
        return term


class Term(models.Model):
    """What categories and tags share: a Unicode name with a Hugo-style slug."""

    name = models.CharField(_("name"), max_length=200)
    slug = SlugField(
        _("slug"),
        unique=True,
        blank=True,
        help_text=_("Part of the URL. Left blank, it is made from the name as Hugo does."),
    )
    description = models.TextField(_("description"), blank=True)

    objects = TermQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        self.name = " ".join(self.name.split())
        # The slug save() will make is checked here but not set, so that a clash is
        # reported once, on the name, rather than again as a duplicate slug.
        slug = self._slug_to_save(self._saved())
        if not slug:
            raise ValidationError(
                {"name": _("The name needs at least one letter or digit to make a URL from.")}
            )
        clash = (
            type(self)
            .objects.filter(models.Q(name__iexact=self.name) | models.Q(slug=slug))
            .exclude(pk=self.pk)
            .first()
        )
        if clash is not None:
            raise ValidationError(
                {
                    "name": _(
                        "“%(other)s” already exists; names that differ only in case "
                        "or in spacing are the same term."
                    )
                    % {"other": clash.name}
                }
            )

    def save(self, *args, **kwargs):
        """Save; a changed slug leaves permanent redirects from the old page and feed."""
        saved = self._saved()
        self.slug = self._slug_to_save(saved)
        super().save(*args, **kwargs)
        if saved and saved[1] != self.slug:
            Redirect.add_many(zip(type(self)(slug=saved[1]).urls(), self.urls()))

    def urls(self):
        """Where readers find the term: its page and its feed (they move together)."""
        return [self.get_absolute_url(), self.get_feed_url()]

    def _saved(self):
        """(name, slug) as stored, or None for a new term."""
        if self.pk is None:
            return None
        return type(self).objects.filter(pk=self.pk).values_list("name", "slug").first()

    def _slug_to_save(self, saved):
        """The slug given; or Hugo's, from the name, when it is blank, or when only the
        name changed and the slug was Hugo's for the old name (as Hugo would make it)."""
        if not self.slug:
            return urlize(self.name)
        if saved and self.name != saved[0] and self.slug == saved[1] == urlize(saved[0]):
            return urlize(self.name)
        return self.slug


class Category(Term):
    class Meta(Term.Meta):
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(Lower("name"), name="category_name_ci_unique"),
        ]

    def get_absolute_url(self):
        return reverse("posts:category", kwargs={"slug": self.slug})

    def get_feed_url(self):
        return reverse("posts:category_feed", kwargs={"slug": self.slug})


class Tag(Term):
    class Meta(Term.Meta):
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [
            models.UniqueConstraint(Lower("name"), name="tag_name_ci_unique"),
        ]

    def get_absolute_url(self):
        return reverse("posts:tag", kwargs={"slug": self.slug})

    def get_feed_url(self):
        return reverse("posts:tag_feed", kwargs={"slug": self.slug})


def published_q(prefix=""):
    """The publication rule as a filter, for posts reached through `prefix`
    (e.g. "posts__" from a term): published, not scheduled for later, not expired.

    `Post.is_published` states the same rule for one post in memory."""
    now = timezone.now()
    return Q(**{f"{prefix}status": Post.Status.PUBLISHED, f"{prefix}published_at__lte": now}) & (
        Q(**{f"{prefix}expires_at__isnull": True}) | Q(**{f"{prefix}expires_at__gt": now})
    )


class PostQuerySet(models.QuerySet):
    def published(self):
        """What readers may see (see `published_q`)."""
        return self.filter(published_q())

    def for_list(self):
        """Posts as list pages show them: with their categories, in one extra query."""
        return self.defer(*Post.HEAVY_FIELDS).prefetch_related("categories")

    def related_to(self, post, limit=6):
        """Posts like `post`, scored as the old site's Hugo `related` settings did:
        100 for each shared category, 80 for each shared tag, 10 for the same year,
        at least 80 to count; the latest posts when nothing is related. Reads the
        post's categories and tags from its prefetch cache."""
        category_ids = [category.pk for category in post.categories.all()]
        tag_ids = [tag.pk for tag in post.tags.all()]
        others = self.published().exclude(pk=post.pk).for_list()
        if category_ids or tag_ids:
            category_links = Post.categories.through.objects.filter(category__in=category_ids)
            tag_links = Post.tags.through.objects.filter(tag__in=tag_ids)

            def shared(links):
                return Coalesce(
                    Subquery(
                        links.filter(post=OuterRef("pk"))
                        .values("post")
                        .annotate(count=Count("pk"))
                        .values("count")
                    ),
                    0,
                )

            related = list(
                others.filter(
                    Q(pk__in=category_links.values("post")) | Q(pk__in=tag_links.values("post"))
                )
                .annotate(
                    score=shared(category_links) * 100
                    + shared(tag_links) * 80
                    + Case(When(published_at__year=post.published_at.year, then=10), default=0)
                )
                .filter(score__gte=80)
                .order_by("-score", "-published_at", "-pk")[:limit]
            )
            if related:
                return related
        return list(others[:limit])

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
    # Resized WebP and fallback copies of the cover, made on first use (see images.py).
    cover_renditions = models.JSONField(editable=False, default=dict)

    objects = PostQuerySet.as_manager()

    # Big columns that list pages never show.
    HEAVY_FIELDS = ("body", "body_html", "body_text", "toc", "faq")
    # What save() derives from the body: rendering again changes these and nothing a
    # person edits, so it leaves the edit token alone (see rerender()).
    RENDERED_FIELDS = ("body_html", "summary_boxes_at", "toc", "body_text", "word_count", "reading_time", "faq", "summary")

    class Meta:
        ordering = ["-published_at", "-id"]
        permissions = [("publish_post", _("Can publish, schedule and unpublish posts"))]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        indexes = [models.Index(fields=["status", "-published_at"])]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("posts:detail", kwargs={"slug": self.slug})

    @property
    def is_published(self):
        now = timezone.now()
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at <= now
            and (self.expires_at is None or self.expires_at > now)
        )

    @property
    def is_scheduled(self):
        return self.status == self.Status.PUBLISHED and self.published_at > timezone.now()

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
        from . import search

        search.index(self)


class AffiliateBox(models.Model):
    """A product card or search box placed in a post; links are built per view."""

    class Placement(models.TextChoices):
        SUMMARY = "summary", _("After the summary list")
        END = "end", _("End of the article")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="affiliate_boxes")
    keyword = models.CharField(
        _("search keyword"), max_length=200, help_text=_("For example “AWS 資格 テキスト”.")
    )
    product_name = models.CharField(_("product name"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    placement = models.CharField(
        _("placement"), max_length=20, choices=Placement.choices, default=Placement.SUMMARY
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("affiliate box")
        verbose_name_plural = _("affiliate boxes")

    def __str__(self):
        return self.product_name or self.keyword


class SingletonModel(models.Model):
    """A model with one row, edited in the admin and read from the cache."""

    class Meta:
        abstract = True

    @classmethod
    def cache_key(cls):
        return f"kiji:{cls._meta.label_lower}"

    @classmethod
    def load(cls):
        """The record, or its defaults until an admin first saves it; reading never writes."""
        obj = cache.get(cls.cache_key())
        if obj is None:
            obj = cls.objects.filter(pk=1).first() or cls(pk=1)
            cache.set(cls.cache_key(), obj, None)
        return obj

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)
        cache.delete(self.cache_key())

    def delete(self, *args, **kwargs):
        cache.delete(self.cache_key())
        return super().delete(*args, **kwargs)


class AffiliateSettings(SingletonModel):
    amazon_tag = models.CharField(
        _("Amazon associate tag"), max_length=100, blank=True, help_text=_("For example negi3939-22.")
    )
    rakuten_id = models.CharField(
        _("Rakuten affiliate id"),
        max_length=100,
        blank=True,
        help_text=_("For example 5000cbfd.5f52567b.5000cbff.924460a4."),
    )
    disclosure = models.CharField(
        _("disclosure"), max_length=300, default="※アフィリエイトリンクを含みます"
    )
    enabled = models.BooleanField(
        _("enabled"),
        default=True,
        help_text=_("Off: boxes show plain search links without affiliate ids."),
    )

    class Meta:
        verbose_name = _("affiliate settings")
        verbose_name_plural = _("affiliate settings")

    def __str__(self):
        return str(_("Affiliate settings"))


class SiteSettings(SingletonModel):
    title = models.CharField(_("site title"), max_length=200, default="Kiji")
    tagline = models.CharField(_("tagline"), max_length=300, blank=True)
    description = models.TextField(
        _("description"), blank=True, help_text=_("For search engines and the home page.")
    )
    author_name = models.CharField(
        _("author name"), max_length=200, blank=True, help_text=_("Shown as the author of posts without one.")
    )
    default_share_image = models.ImageField(
        _("default share image"),
        upload_to="site/",
        blank=True,
        help_text=_("For social media cards of pages without a cover (1200×630 works best)."),
    )
    logo = models.ImageField(
        _("logo"), upload_to="site/", blank=True, help_text=_("The publisher's logo for search engines.")
    )
    social_links = models.TextField(
        _("social links"),
        blank=True,
        help_text=_("One URL per line, e.g. https://github.com/you or https://x.com/you."),
    )
    feed_full_content = models.BooleanField(
        _("full posts in feeds"), default=False, help_text=_("Off: feeds carry the summary only.")
    )
    adsense_client = models.CharField(
        _("AdSense client id"), max_length=100, blank=True, help_text=_("For example ca-pub-1234567890123456. Blank: no ads.")
    )
    ad_slot_top = models.CharField(_("ad slot above the article"), max_length=50, blank=True)
    ad_slot_bottom = models.CharField(_("ad slot below the article"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("site settings")
        verbose_name_plural = _("site settings")

    def __str__(self):
        return str(_("Site settings"))

    SOCIAL_NAMES = {
        "github.com": "GitHub", "x.com": "X", "twitter.com": "X", "facebook.com": "Facebook",
        "youtube.com": "YouTube", "instagram.com": "Instagram", "note.com": "note",
        "zenn.dev": "Zenn", "qiita.com": "Qiita", "linkedin.com": "LinkedIn",
    }  # fmt: skip

    def social_link_list(self):
        """(name, URL) for each social link, named after its site."""
        links = []
        for url in self.social_links.split():
            host = (urlsplit(url).hostname or "").removeprefix("www.")
            links.append((self.SOCIAL_NAMES.get(host, host or url), url))
        return links


class Redirect(models.Model):
    """A permanent redirect from a URL that no longer exists (an old slug, a Hugo
    alias, a file name the old site linked to) to where the content lives now."""

    old_path = models.CharField(_("old path"), max_length=500, unique=True)
    new_path = models.CharField(_("new path"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["old_path"]
        verbose_name = _("redirect")
        verbose_name_plural = _("redirects")

    def __str__(self):
        return f"{self.old_path} → {self.new_path}"

    @classmethod
    def add(cls, old_path, new_path):
        """Redirect `old_path` to `new_path`."""
        cls.add_many([(old_path, new_path)])

    @classmethod
    def add_many(cls, pairs):
        """Redirect each old path to its new one, keeping every chain one hop long."""
        moves = {}
        for old_path, new_path in pairs:
            old_path, new_path = unquote(old_path), unquote(new_path)
            if old_path != new_path:
                moves[old_path] = new_path
        items = list(moves.items())
        for start in range(0, len(items), 500):  # databases cap query parameters
            cls._add_batch(dict(items[start : start + 500]))

    @classmethod
    def _add_batch(cls, moves):
        # The new URLs are live (again), so nothing may send them elsewhere.
        cls.objects.filter(old_path__in=set(moves.values())).delete()
        chained = list(cls.objects.filter(new_path__in=moves.keys()))
        for redirect in chained:
            redirect.new_path = moves[redirect.new_path]
        cls.objects.bulk_update(chained, ["new_path"], batch_size=500)
        existing = {r.old_path: r for r in cls.objects.filter(old_path__in=moves.keys())}
        changed = []
        for old_path, new_path in moves.items():
            redirect = existing.get(old_path)
            if redirect and redirect.new_path != new_path:
                redirect.new_path = new_path
                changed.append(redirect)
        cls.objects.bulk_update(changed, ["new_path"], batch_size=500)
        cls.objects.bulk_create(
            [cls(old_path=old, new_path=new) for old, new in moves.items() if old not in existing],
            batch_size=500,
        )


class SearchDocument(models.Model):
    """A post's words as the search index reads them (see search.py): Latin words
    and overlapping pairs of CJK characters, because Japanese has no spaces."""

    post = models.OneToOneField(
        Post, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    title = models.TextField(default="")
    body = models.TextField(default="")

    def __str__(self):
        return str(self.post_id)


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


# Revisions keep what people edit; what save() derives from it is made again on revert.
reversion.register(
    Post,
    fields=[
        "title", "slug", "body", "description", "cover", "cover_alt", "cover_width",
        "cover_height", "categories", "tags", "status", "published_at", "expires_at",
        "created_at", "updated_at", "author", "updated_by", "edit_token", "source_path",
        "source_digest",
    ],
    follow=["affiliate_boxes"],
)  # fmt: skip
reversion.register(AffiliateBox)
