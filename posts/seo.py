"""Structured data (schema.org JSON-LD) and share metadata for pages.

Everything here is built from the database, never from post bodies, and reaches the
page through the `json_ld` filter, which escapes it for a <script> element.
"""

import json

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext

DEFAULT_SHARE_IMAGE = "img/share-default.png"
DEFAULT_LOGO = "img/logo.png"

# What must not appear raw inside <script>: it could close the element or start a comment.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def to_script_json(data):
    """JSON text that is safe between <script> and </script>."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)


def absolute(request, url):
    return request.build_absolute_uri(url)


def share_image(request, site, post=None):
    """Absolute URL of the image social cards show for a page."""
    if post and post.cover:
        return absolute(request, post.cover.url)
    if site.default_share_image:
        return absolute(request, site.default_share_image.url)
    return absolute(request, static(DEFAULT_SHARE_IMAGE))


def logo(request, site):
    if site.logo:
        return absolute(request, site.logo.url)
    return absolute(request, static(DEFAULT_LOGO))


def author_name(post, site):
    if post.author:
        return post.author.get_full_name() or post.author.get_username()
    return site.author_name or site.title


def breadcrumbs(post):
    """[(name, path)] from the home page to `post`, through its first category."""
    crumbs = [(gettext("Home"), reverse("posts:home"))]
    category = next(iter(post.categories.all()), None)
    if category is not None:
        crumbs.append((category.name, category.get_absolute_url()))
    crumbs.append((post.title, post.get_absolute_url()))
    return crumbs


def article(request, post, site):
    url = absolute(request, post.get_absolute_url())
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "url": url,
        "headline": post.title,
        "description": post.summary,
        "datePublished": post.published_at.isoformat(),
        "dateModified": post.updated_at.isoformat(),
        "author": {"@type": "Person", "name": author_name(post, site)},
        "publisher": {
            "@type": "Organization",
            "name": site.title,
            "logo": {"@type": "ImageObject", "url": logo(request, site)},
        },
        "image": [share_image(request, site, post)],
        "inLanguage": settings.LANGUAGE_CODE,
        "wordCount": post.word_count,
    }
    categories = [category.name for category in post.categories.all()]
    if categories:
        data["articleSection"] = categories[0] if len(categories) == 1 else categories
    tags = [tag.name for tag in post.tags.all()]
    if tags:
        data["keywords"] = tags
    return data


def breadcrumb_list(request, crumbs):
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": position, "name": name, "item": absolute(request, path)}
            for position, (name, path) in enumerate(crumbs, 1)
        ],
    }


def faq_page(post):
    return {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "mainEntity": [
            {
                "@type": "Question",
                "name": entry["question"],
                "acceptedAnswer": {"@type": "Answer", "text": entry["answer"]},
            }
            for entry in post.faq
        ],
    }


def website(request, site):
    home = absolute(request, reverse("posts:home"))
    return {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": site.title,
        "url": home,
        "description": site.description,
        "inLanguage": settings.LANGUAGE_CODE,
        "potentialAction": {
            "@type": "SearchAction",
            "target": {
                "@type": "EntryPoint",
                "urlTemplate": absolute(request, reverse("posts:search")) + "?q={search_term_string}",
            },
            "query-input": "required name=search_term_string",
        },
    }
