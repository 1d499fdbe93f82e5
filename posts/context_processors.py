from django.utils.functional import SimpleLazyObject

from .models import AffiliateSettings, SiteSettings


def site(request):
    """Site-wide settings for every template, loaded (from the cache) only when used."""
    return {
        "site": SimpleLazyObject(SiteSettings.load),
        "affiliate": SimpleLazyObject(AffiliateSettings.load),
    }
