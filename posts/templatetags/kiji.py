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
    """The parts every page shares (the head's assets, the header, the footer), each
    rendered once per process for each version of the site settings, language and
    year: they hold nothing of the page (they were a third of a list page's cost)."""
    from django.template.loader import render_to_string

    chrome = {"site": context["site"], "affiliate": context["affiliate"]}
    return mark_safe(_per_site_version(("chrome", template_name), lambda: render_to_string(template_name, chrome)))


def _per_site_version(key, make):
    """`make()`, kept in this process's snapshot while the site settings' version,
    the language and the year stay the same."""
    from django.utils import timezone, translation

    from ..pagecache import versions

    key = (*key, translation.get_language(), timezone.localdate().year)
    return versions.current().kept(key, versions.SITE, make)


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
    request = context["request"]
    origin = f"{request.scheme}://{request.get_host()}"
    return _per_site_version(("website", origin), lambda: json_ld(seo.website(request, context["site"])))


@register.simple_tag
def breadcrumbs(post):
    return seo.breadcrumbs(post)


@register.simple_tag(takes_context=True)
def canonical_url(context):
    """This page's absolute URL without its query string."""
    request = context["request"]
    return request.build_absolute_uri(request.path)


@register.simple_tag(takes_context=True)
def pagination(context):
    """Newer and older links of a list page (`page_obj`, under `base_path`), as Hugo
    numbers its pages: /page/2/ and on. A tag rather than an included template, as
    `page_meta` is."""
    from django.utils.html import format_html_join
    from django.utils.translation import gettext

    page, base = context["page_obj"], context["base_path"]
    if not page.has_other_pages():
        return ""

    def url(number):
        return base if number == 1 else f"{base}page/{number}/"

    links = []
    if page.has_previous():
        links.append(('<a class="pagination__prev" rel="prev" href="{}">← {}</a>', (url(page.previous_page_number()), gettext("Newer"))))
    current = gettext("Page %(number)s of %(total)s") % {"number": page.number, "total": page.paginator.num_pages}
    links.append(('<span class="pagination__current">{}</span>', (current,)))
    if page.has_next():
        links.append(('<a class="pagination__next" rel="next" href="{}">{} →</a>', (url(page.next_page_number()), gettext("Older"))))
    inner = format_html_join("\n  ", "{}", ((format_html(html, *args),) for html, args in links))
    return format_html('<nav class="pagination" aria-label="{}">\n  {}\n</nav>', gettext("Pages"), inner)


_PAGE_META = """<link rel="canonical" href="{canonical}">
<meta property="og:type" content="{type}">
<meta property="og:site_name" content="{site}">
<meta property="og:title" content="{title}">
<meta property="og:description" content="{description}">
<meta property="og:url" content="{canonical}">
<meta property="og:image" content="{image}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="{title}">
<meta name="twitter:description" content="{description}">
<meta name="twitter:image" content="{image}">"""


@register.simple_tag(takes_context=True)
def page_meta(context, title, description, type="website"):  # noqa: A002 (Open Graph's word)
    """The canonical link and the Open Graph and Twitter card tags of the page (of its
    post, when it has one). A tag rather than an included template: an include cost a
    list page a sixth of its time."""
    return format_html(
        _PAGE_META,
        canonical=canonical_url(context),
        type=type,
        site=context["site"].title,
        title=title,
        description=description,
        image=share_image(context, context.get("post")),
    )


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
