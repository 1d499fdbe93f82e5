"""What earns the site: products kept once, the boxes that show them, and counts of the
clicks on their store buttons."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..slugs import urlize
from .media import MediaImage
from .posts import Post
from .terms import SlugField


class Product(models.Model):
    """A product named once (as Rinker or Pochipp keep them) and shown by any number of
    boxes: `{{< product slug >}}` in a body, or a box that points at it. Its store links
    are built from the current affiliate settings."""

    name = models.CharField(_("name"), max_length=200)
    slug = SlugField(_("slug"), unique=True, blank=True, help_text=_("Used in {{< product slug >}}. Left blank, it is made from the name."))
    keyword = models.CharField(
        _("search keyword"), max_length=200, help_text=_("What the store buttons search for when there is no direct link.")
    )
    reason = models.CharField(_("one-line reason"), max_length=300, blank=True)
    image = models.ForeignKey(
        MediaImage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("image")
    )
    image_alt = models.CharField(_("image alt text"), max_length=300, blank=True)
    asin = models.CharField(
        _("Amazon ASIN"),
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^[A-Z0-9]{10}$", _("An ASIN is ten capital letters and digits, e.g. B0CS19YQ4G."))],
        help_text=_("Optional: the Amazon button then opens the product page itself."),
    )
    rakuten_url = models.URLField(
        _("Rakuten item URL"), max_length=1000, blank=True, help_text=_("Optional: the item page on 楽天市場.")
    )
    yahoo_url = models.URLField(
        _("Yahoo!ショッピング URL"), max_length=1000, blank=True, help_text=_("Optional: the item page on Yahoo!ショッピング.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = urlize(self.name)
        super().save(*args, **kwargs)

    def clean(self):
        if not urlize(self.slug or self.name):
            raise ValidationError({"name": _("The name needs at least one letter or digit to make a slug from.")})

    def get_absolute_url(self):
        return reverse("admin:posts_product_change", args=[self.pk])


class AffiliateBox(models.Model):
    """A product card or search box placed in a post: after its summary list or at its
    end (a box the body places itself is a marker in the body instead)."""

    class Placement(models.TextChoices):
        SUMMARY = "summary", _("After the summary list")
        END = "end", _("End of the article")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="affiliate_boxes")
    product = models.ForeignKey(
        Product,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="boxes",
        verbose_name=_("product"),
        help_text=_("Optional: show a product from the registry; its name and links follow it."),
    )
    keyword = models.CharField(
        _("search keyword"), max_length=200, blank=True, help_text=_("For example “AWS 資格 テキスト”.")
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
        return self.product_name or self.keyword or str(self.product or "")

    def clean(self):
        if not self.keyword.strip() and self.product_id is None:
            raise ValidationError({"keyword": _("Give a search keyword, or choose a product.")})


class ClickCount(models.Model):
    """Clicks on a store button on one day: for a post, a box in it (`box`: "end-0",
    "marker-2"…, or "body" for a link in the text) or a product, and a store. No
    reader is recorded: no cookie, no address, only the count."""

    class Store(models.TextChoices):
        AMAZON = "amazon", "Amazon"
        RAKUTEN = "rakuten", _("Rakuten")
        YAHOO = "yahoo", _("Yahoo!ショッピング")

    day = models.DateField(_("day"))
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+", verbose_name=_("post"))
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    box = models.CharField(_("box"), max_length=20, blank=True)
    store = models.CharField(_("store"), max_length=10, choices=Store.choices)
    count = models.PositiveIntegerField(_("clicks"), default=0)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("click count")
        verbose_name_plural = _("click counts")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "post", "box", "store"], name="click_count_once_a_day"
            ),
        ]
        indexes = [models.Index(fields=["day", "store"], name="click_count_day")]

    def __str__(self):
        return f"{self.day} {self.post_id} {self.store} {self.count}"


class ViewCount(models.Model):
    """Views of a post's page on one day, counted by a beacon (so cached pages count)."""

    day = models.DateField(_("day"))
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+", verbose_name=_("post"))
    count = models.PositiveIntegerField(_("views"), default=0)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("view count")
        verbose_name_plural = _("view counts")
        constraints = [models.UniqueConstraint(fields=["day", "post"], name="view_count_once_a_day")]

    def __str__(self):
        return f"{self.day} {self.post_id} {self.count}"
