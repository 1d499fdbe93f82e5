"""Kiji's models, one module per kind of thing; everything is importable from here."""

import reversion

from .affiliate import AffiliateBox, ClickCount, Product, ViewCount
from .api import ApiExternalId, ApiIdempotency, ApiPolicy, ApiProblem, ApiToken, ApiWrite, DigestRun, Webhook, WebhookDelivery  # noqa: F401
from .caching import CacheTag, ContentVersion
from .media import MediaImage, _media_path
from .posts import Post, PostQuerySet, expired_q, published_q, scheduled_q
from .redirects import Redirect
from .related import RelatedBacklog, RelatedPost, RenderBacklog
from .search import SearchDocument
from .site import AffiliateSettings, SingletonModel, SiteSettings
from .terms import Category, SlugField, Tag, Term, TermQuerySet

__all__ = [
    "AffiliateBox", "AffiliateSettings", "CacheTag", "Category", "ClickCount", "ContentVersion",
    "MediaImage", "Post", "PostQuerySet", "Product", "Redirect", "RelatedBacklog", "RelatedPost",
    "RenderBacklog", "SearchDocument", "SingletonModel", "SiteSettings", "SlugField", "Tag",
    "Term", "TermQuerySet", "ViewCount", "_media_path", "expired_q", "published_q", "scheduled_q",
]  # fmt: skip

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
