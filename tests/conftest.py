import itertools

import pytest
from django.core.cache import cache
from django.utils import timezone

from posts.models import AffiliateSettings, Category, Post, Tag

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Site settings are cached; each test starts from an empty cache."""
    cache.clear()
    yield
    cache.clear()


def make_post(**overrides):
    """A published post, saved; any field can be overridden (categories and tags by name)."""
    number = next(_numbers)
    categories = overrides.pop("categories", [])
    tags = overrides.pop("tags", [])
    fields = {
        "title": f"テスト記事 {number}",
        "slug": f"test-post-{number}",
        "body": "## 3行要約\n\n- 一つ目の要点。\n- 二つ目の要点。\n\n## 本文\n\n本文です。\n",
        "status": Post.Status.PUBLISHED,
        "published_at": timezone.now() - timezone.timedelta(hours=number),
    }
    fields.update(overrides)
    post = Post.objects.create(**fields)
    post.categories.set([Category.objects.get_or_create_by_name(name) for name in categories])
    post.tags.set([Tag.objects.get_or_create_by_name(name) for name in tags])
    return post


@pytest.fixture
def affiliate_settings(db):
    settings = AffiliateSettings.load()
    settings.amazon_tag = "negi3939-22"
    settings.rakuten_id = "5000cbfd.5f52567b.5000cbff.924460a4"
    settings.enabled = True
    settings.save()
    return settings
