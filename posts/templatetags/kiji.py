from urllib.parse import quote

from django import template
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .. import seo
from .. import renditions
from ..affiliate import amazon_url, rakuten_url, tag_amazon_links
from ..models import AffiliateBox

register = template.Library()


@register.inclusion_tag("posts/_affiliate_box.html", takes_context=True)
def affiliate_box(context, box):
    """A product card or search box, with links from the current AffiliateSettings."""
    settings = context["affiliate"]
    return {
        "box": box,
        "affiliate": settings,
        "amazon_url": amazon_url(box.keyword, settings),
        "rakuten_url": rakuten_url(box.keyword, settings),
        "rel": "sponsored noopener" if settings.enabled else "noopener",
    }


@register.simple_tag(takes_context=True)
def post_body(context, post):
    """The stored body HTML with the summary boxes after its first list and the
    configured Amazon tag on pasted Amazon links."""
    settings = context["affiliate"]
    boxes = [box for box in post.affiliate_boxes.all() if box.placement == AffiliateBox.Placement.SUMMARY]
    at = post.summary_boxes_at
    head, tail = post.body_html[:at], post.body_html[at:]
    inserted = "".join(
        render_to_string("posts/_affiliate_box.html", affiliate_box(context, box)) for box in boxes
    )
    # The body was sanitized when it was saved and the boxes are escaped templates.
    return mark_safe(tag_amazon_links(head, settings) + inserted + tag_amazon_links(tail, settings))


@register.simple_tag
def end_boxes(post):
    """The post's boxes for the end of the article."""
    return [box for box in post.affiliate_boxes.all() if box.placement == AffiliateBox.Placement.END]


@register.filter
def json_ld(data):
    """A schema.org object as a <script type="application/ld+json"> element."""
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(seo.to_script_json(data)))


@register.simple_tag(takes_context=True)
def article_json_ld(context, post):
    """Article, BreadcrumbList and (when the body has a FAQ section) FAQPage."""
    request, site = context["request"], context["site"]
    blocks = [seo.article(request, post, site), seo.breadcrumb_list(request, seo.breadcrumbs(post))]
    if post.faq:
        blocks.append(seo.faq_page(post))
    return mark_safe("".join(json_ld(block) for block in blocks))


@register.simple_tag(takes_context=True)
def website_json_ld(context):
    return json_ld(seo.website(context["request"], context["site"]))


@register.simple_tag
def breadcrumbs(post):
    return seo.breadcrumbs(post)


@register.simple_tag(takes_context=True)
def canonical_url(context):
    """This page's absolute URL without its query string."""
    request = context["request"]
    return request.build_absolute_uri(request.path)


@register.simple_tag(takes_context=True)
def share_image(context, post=None):
    return seo.share_image(context["request"], context["site"], post)


SHARE_TARGETS = [
    ("X", "x", "https://twitter.com/intent/tweet?text={title}&url={url}"),
    ("Facebook", "facebook", "https://www.facebook.com/sharer/sharer.php?u={url}"),
    ("LINE", "line", "https://social-plugins.line.me/lineit/share?url={url}"),
    ("はてなブックマーク", "hatena", "https://b.hatena.ne.jp/entry/panel/?url={url}"),
]


@register.inclusion_tag("posts/_share.html", takes_context=True)
def share_buttons(context, post):
    """Plain share links (no third-party scripts) and a copy-link button."""
    url = context["request"].build_absolute_uri(post.get_absolute_url())
    quoted = {"url": quote(url, safe=""), "title": quote(post.title, safe="")}
    return {
        "url": url,
        "targets": [(name, key, pattern.format(**quoted)) for name, key, pattern in SHARE_TARGETS],
    }


@register.inclusion_tag("posts/_cover_picture.html")
def cover_picture(post, sizes="100vw", loading="lazy", priority=False):
    """The post's cover as a <picture> of its resized WebP and fallback copies; until
    they are made (on the task queue), the image as it is, with its size."""
    found = renditions.current(post)
    context = {"post": post, "sizes": sizes, "loading": loading, "priority": priority}
    if not found:
        if post.cover:
            renditions.wanted(post)
        src = post.cover.url if post.cover else ""
        return {**context, "src": src, "width": post.cover_width, "height": post.cover_height}
    url = post.cover.storage.url
    return {
        **context,
        "src": url(found["fallback"][-1][0]),
        "srcset": ", ".join(f"{url(name)} {width}w" for name, width in found["fallback"]),
        "webp_srcset": ", ".join(f"{url(name)} {width}w" for name, width in found["webp"]),
        "width": found["width"],
        "height": found["height"],
    }
