"""Site-wide settings edited in the admin: one row each, read from the cache."""

from urllib.parse import urlsplit

from django.db import models
from django.utils.translation import gettext_lazy as _


class SingletonModel(models.Model):
    """A model with one row, edited in the admin. Each process keeps the row it read
    for as long as the `site` page version stays the same, so a change made anywhere
    (another worker, a command, another machine) is read again everywhere, and a
    cache server that is down changes nothing here."""

    class Meta:
        abstract = True

    @classmethod
    def load(cls):
        """The record, or its defaults until an admin first saves it; reading never writes."""
        from ..pagecache import versions

        return versions.current().kept(
            cls._meta.label_lower, versions.SITE, lambda: cls.objects.filter(pk=1).first() or cls(pk=1)
        )

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)


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
    valuecommerce_sid = models.CharField(
        _("ValueCommerce sid"), max_length=20, blank=True, help_text=_("With the pid: Yahoo!ショッピング buttons earn through ValueCommerce.")
    )
    valuecommerce_pid = models.CharField(_("ValueCommerce pid"), max_length=20, blank=True)

    class PRScope(models.TextChoices):
        AUTO = "auto", _("Posts with a box or a store link")
        ALL = "all", _("Every post")
        CATEGORIES = "categories", _("Posts in the categories marked for it")
        OFF = "off", _("No post (only where a post asks for it)")

    pr_notice = models.CharField(
        _("PR notice"),
        max_length=300,
        default="本記事にはアフィリエイト広告（PR）が含まれています",
        help_text=_("Shown under the title of the posts below, as Japan's stealth-marketing rule (景品表示法) asks."),
    )
    pr_notice_scope = models.CharField(
        _("PR notice on"), max_length=20, choices=PRScope.choices, default=PRScope.AUTO
    )
    associate_statement = models.CharField(
        _("Amazon associate statement"),
        max_length=300,
        default="Amazonのアソシエイトとして、{site}は適格販売により収入を得ています。",
        help_text=_("In the footer of every page while an Amazon tag is set; {site} is the site's title."),
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
