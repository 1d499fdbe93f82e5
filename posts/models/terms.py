"""Categories and tags: Unicode names with Hugo-style slugs; a renamed term leaves
redirects from its old URLs."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..slugs import urlize, validate_slug
from .redirects import Redirect


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
        from .posts import published_q  # posts.py imports this module

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
    pr_notice = models.BooleanField(
        _("PR notice on its posts"),
        default=False,
        help_text=_("With the PR notice on “posts in the categories marked for it”."),
    )

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
