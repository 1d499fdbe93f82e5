from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

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
