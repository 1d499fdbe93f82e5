from urllib.parse import quote

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .. import affiliate, renditions, seo

register = template.Library()


@register.simple_tag(takes_context=True)
def post_body(context, post):
    """The stored body with its boxes and today's store links (affiliate.compose_body)."""
    return affiliate.compose_body(post, context["affiliate"], context.get("request"), counted=not context.get("is_preview"))


@register.simple_tag(takes_context=True)
def end_boxes(context, post):
    """The boxes for the end of the article, each as HTML."""
    settings = context["affiliate"]
    counted = not context.get("is_preview")
    return [mark_safe(affiliate.show_box(box, settings, post, context.get("request"), counted)) for box in affiliate.end_boxes(post)]


@register.simple_tag(takes_context=True)
def pr_notice(context, post):
    """The advertising notice the post shows under its title, or ""."""
    return affiliate.pr_notice(post, context["affiliate"])


@register.simple_tag(takes_context=True)
def associate_statement(context):
    return affiliate.associate_statement(context["affiliate"], context["site"].title)


@register.simple_tag(takes_context=True)
def site_chrome(context, template_name):
    """The header or footer every page shares, rendered once per process for each
    version of the site settings, language and year: they hold nothing of the page
    (it was a third of a list page's own cost)."""
    from django.template.loader import render_to_string
    from django.utils import timezone, translation

    from ..pagecache import versions

    snapshot = versions.current()
    key = ("chrome", template_name, translation.get_language(), timezone.localdate().year)
    version = snapshot.version(versions.SITE)
    known = snapshot.memo.get(key)
    if known is None or known[0] != version:
        chrome = {"site": context["site"], "affiliate": context["affiliate"]}
        known = snapshot.memo[key] = (version, render_to_string(template_name, chrome))
    return mark_safe(known[1])


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
    they are made (a task, queued when the cover changed), the image as it is."""
    found = renditions.current(post)
    context = {"post": post, "sizes": sizes, "loading": loading, "priority": priority}
    if not found:
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
