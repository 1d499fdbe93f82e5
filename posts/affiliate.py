"""Affiliate links and boxes, built from the site-wide AffiliateSettings and the product
registry whenever a page is rendered; nothing of them is stored in a post's body. So a
new Amazon tag, Rakuten id or ValueCommerce id, or a changed product, reaches every
page at once (a settings change re-renders every stored page, see pages.py).

Every store link keeps the store's (or its network's) own URL, as Amazon's operating
agreement asks: no redirect through Kiji, no cloaking. Clicks are counted with the
`ping` attribute (and a beacon where browsers have no ping, static/js/kiji.js) on the
link itself; see clicks.py.
"""

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from django.urls import reverse
from django.utils.translation import gettext as _

AMAZON_SEARCH = "https://www.amazon.co.jp/s?k={keyword}"
AMAZON_ITEM = "https://www.amazon.co.jp/dp/{asin}"
RAKUTEN_SEARCH = "https://search.rakuten.co.jp/search/mall/{keyword}/"
RAKUTEN_AFFILIATE = "https://hb.afl.rakuten.co.jp/hgc/{rakuten_id}/?pc={target}&m={target}"
YAHOO_SEARCH = "https://shopping.yahoo.co.jp/search?p={keyword}"
VALUECOMMERCE = "https://ck.jp.ap.valuecommerce.com/servlet/referral?sid={sid}&pid={pid}&vc_url={target}"

# Links in stored body HTML (sanitized and normalised: attributes double-quoted).
_A_TAG_RE = re.compile(r"<a\b([^>]*)>")
_HREF_RE = re.compile(r'\shref="([^"]*)"')
_REL_RE = re.compile(r'\srel="([^"]*)"')


# --- Store URLs ------------------------------------------------------------------------


def _earning(settings):
    return bool(settings.enabled)


def amazon_url(keyword, settings, asin=""):
    """The Amazon product page for `asin`, or a search for `keyword`, with the tag."""
    url = AMAZON_ITEM.format(asin=quote(asin, safe="")) if asin else AMAZON_SEARCH.format(keyword=quote(keyword, safe=""))
    return with_amazon_tag(url, settings)


def rakuten_url(keyword, settings, item_url=""):
    """An item page or a search on 楽天市場, through the Rakuten affiliate link when set."""
    target = item_url or RAKUTEN_SEARCH.format(keyword=quote(keyword, safe=""))
    if _earning(settings) and settings.rakuten_id:
        return RAKUTEN_AFFILIATE.format(rakuten_id=quote(settings.rakuten_id, safe="."), target=quote(target, safe=""))
    return target


def yahoo_url(keyword, settings, item_url=""):
    """An item page or a search on Yahoo!ショッピング, through ValueCommerce when set."""
    target = item_url or YAHOO_SEARCH.format(keyword=quote(keyword, safe=""))
    if _earning(settings) and settings.valuecommerce_sid and settings.valuecommerce_pid:
        return VALUECOMMERCE.format(
            sid=quote(settings.valuecommerce_sid, safe=""),
            pid=quote(settings.valuecommerce_pid, safe=""),
            target=quote(target, safe=""),
        )
    return target


def with_amazon_tag(url, settings):
    """`url` with its associate tag set to the configured one (or removed when off)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "tag"]
    if _earning(settings) and settings.amazon_tag:
        query.append(("tag", settings.amazon_tag))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def store_of(url):
    """"amazon", "rakuten" or "yahoo" for a store link, else None."""
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith(("amazon.co.jp", "amzn.to", "amzn.asia")):
        return "amazon"
    if host.endswith("rakuten.co.jp"):
        return "rakuten"
    if host.endswith(("shopping.yahoo.co.jp", "valuecommerce.com")):
        return "yahoo"
    return None


def current_link(url, settings):
    """A store link a writer pasted, with today's ids: the configured Amazon tag, the
    Rakuten id in an hb.afl link, the ValueCommerce sid and pid; the store's plain URL
    when affiliates are off or no id is set."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith("amazon.co.jp"):
        return with_amazon_tag(url, settings)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if host == "hb.afl.rakuten.co.jp" and parts.path.startswith("/hgc/"):
        target = query.get("pc") or query.get("m")
        return rakuten_url("", settings, item_url=target) if target else url
    if host.endswith("valuecommerce.com") and query.get("vc_url"):
        return yahoo_url("", settings, item_url=query["vc_url"])
    return url


# --- Body links ----------------------------------------------------------------------


def rewrite_links(body_html, settings, ping=None):
    """Every store link in stored body HTML with today's ids (`current_link`), marked
    sponsored while affiliates are on (plain links when off), and given `ping(store)`
    as its ping URL when asked."""
    if not any(host in body_html for host in ("amazon.co.jp", "rakuten.co.jp", "yahoo.co.jp", "valuecommerce.com", "amzn.")):
        return body_html

    def link(match):
        attrs = match.group(1)
        href = _HREF_RE.search(attrs)
        store = store_of(html.unescape(href.group(1))) if href else None
        if store is None:
            return match.group(0)
        new = html.escape(current_link(html.unescape(href.group(1)), settings))
        attrs = attrs[: href.start(1)] + new + attrs[href.end(1) :]
        rel = _REL_RE.search(attrs)
        words = set(rel.group(1).split()) if rel else set()
        words = words | {"sponsored", "noopener"} if _earning(settings) else words - {"sponsored"}
        value = " ".join(sorted(words, key=lambda word: (word != "sponsored", word != "noopener", word)))
        attrs = attrs[: rel.start(1)] + value + attrs[rel.end(1) :] if rel else f'{attrs} rel="{value}"'
        if ping:
            attrs += f' ping="{html.escape(ping(store))}" data-kiji-store="{store}"'
        return f"<a{attrs}>"

    return _A_TAG_RE.sub(link, body_html)


# --- Boxes ---------------------------------------------------------------------------


@dataclass
class Button:
    store: str
    label: str
    url: str
    ping: str = ""


@dataclass
class Box:
    """What a box shows, whatever placed it (a marker, a box record, a product)."""

    key: str  # for click counts: "summary-0", "end-1", "marker-2"
    placement: str  # "summary", "end" or "marker"
    keyword: str
    name: str = ""
    reason: str = ""
    product: object = None
    image: object = None
    image_alt: str = ""

    def buttons(self, settings, ping=None):
        product = self.product
        asin = product.asin if product else ""
        rakuten_item = product.rakuten_url if product else ""
        yahoo_item = product.yahoo_url if product else ""
        labels = {
            "amazon": _("See on Amazon") if asin else _("Search on Amazon"),
            "rakuten": _("See on Rakuten") if rakuten_item else _("Search on Rakuten"),
            "yahoo": _("See on Yahoo!ショッピング") if yahoo_item else _("Search on Yahoo!ショッピング"),
        }
        urls = {
            "amazon": amazon_url(self.keyword, settings, asin=asin),
            "rakuten": rakuten_url(self.keyword, settings, item_url=rakuten_item),
            "yahoo": yahoo_url(self.keyword, settings, item_url=yahoo_item),
        }
        stores = ["amazon", "rakuten"]
        if yahoo_item or (settings.valuecommerce_sid and settings.valuecommerce_pid):
            stores.append("yahoo")
        return [Button(store, labels[store], urls[store], ping(store, self) if ping else "") for store in stores]


def box_from_record(record, key):
    """A Box for an AffiliateBox (which may point at a product), or None for one with
    nothing left to show (its product deleted, and no keyword of its own)."""
    product = record.product
    if not record.keyword.strip() and product is None:
        return None
    return Box(
        key=key,
        placement=record.placement,
        keyword=record.keyword or (product.keyword if product else ""),
        name=record.product_name or (product.name if product else ""),
        reason=record.reason or (product.reason if product else ""),
        product=product,
        image=product.image if product else None,
        image_alt=product.image_alt if product else "",
    )


def box_from_marker(marker, index, products):
    """A Box for the body's marker number `index`, or None for a product that is gone."""
    key = f"marker-{index}"
    if marker["kind"] == "affiliate":
        return Box(key=key, placement="marker", keyword=marker["key"])
    product = products.get(marker["key"])
    if product is None:
        return None
    return Box(
        key=key,
        placement="marker",
        keyword=product.keyword,
        name=product.name,
        reason=product.reason,
        product=product,
        image=product.image,
        image_alt=product.image_alt,
    )


def ping_url(post):
    """A function giving the click-count URL for a store link on `post`'s page."""
    base = reverse("posts:click")

    def ping(store, box=None):
        query = {"p": post.pk, "s": store, "b": box.key if box else "body"}
        if box is not None and box.product is not None:
            query["r"] = box.product.pk
        return f"{base}?{urlencode(query)}"

    return ping


# --- The PR notice -------------------------------------------------------------------


def pr_notice(post, settings, categories=None):
    """The advertising notice `post` shows under its title, or "": as the post asks, or
    as the settings' scope says (posts with a box or a store link; every post; posts in
    the marked categories)."""
    text = settings.pr_notice.strip()
    if not text or post.pr_notice == "hide":
        return ""
    if post.pr_notice == "show":
        return text
    scope = settings.pr_notice_scope
    if scope == "all":
        return text
    if scope == "categories":
        categories = post.categories.all() if categories is None else categories
        return text if any(category.pr_notice for category in categories) else ""
    if scope == "auto":
        has_boxes = bool(boxes_of(post))
        return text if post.has_affiliate_links or has_boxes else ""
    return ""


def associate_statement(settings, site_title):
    """Amazon's associate statement for the footer, while an Amazon tag is set."""
    if not (_earning(settings) and settings.amazon_tag and settings.associate_statement.strip()):
        return ""
    return settings.associate_statement.replace("{site}", site_title)


# --- A body with its boxes -----------------------------------------------------------


def compose_body(post, settings, request=None, counted=True):
    """`post`'s stored body HTML as a page shows it: summary boxes after its first list,
    each marker's box where the writer put it, and every store link with today's ids
    and, when `counted` (not in previews), a click-count ping."""
    from django.utils.safestring import mark_safe

    from .models import Product
    from .rendering.markers import PLACEHOLDER_RE

    wanted = [marker["key"] for marker in post.box_markers if marker["kind"] == "product"]
    products = {product.slug: product for product in Product.objects.filter(slug__in=wanted).select_related("image")} if wanted else {}

    def show(box):
        return show_box(box, settings, post, request, counted)

    def marker(match):
        index = int(match.group(1))
        box = box_from_marker(post.box_markers[index], index, products) if index < len(post.box_markers) else None
        return show(box) if box else ""

    records = [box for box in boxes_of(post) if box.placement == "summary"]
    at = post.summary_boxes_at
    head, tail = post.body_html[:at], post.body_html[at:]
    summary = "".join(
        show(box) for box in (box_from_record(record, f"summary-{number}") for number, record in enumerate(records)) if box
    )
    ping = ping_url(post) if post.pk and counted else None
    body = rewrite_links(head, settings, ping) + summary + rewrite_links(tail, settings, ping)
    # The body was sanitized when it was saved; the boxes are escaped templates.
    return mark_safe(PLACEHOLDER_RE.sub(marker, body))


def end_boxes(post):
    """The Boxes for the end of the article."""
    records = [box for box in boxes_of(post) if box.placement == "end"]
    boxes = (box_from_record(record, f"end-{number}") for number, record in enumerate(records))
    return [box for box in boxes if box]


def show_box(box, settings, post, request=None, counted=True):
    """One box's HTML, its buttons counting clicks when `counted`."""
    from django.template.loader import render_to_string

    ping = ping_url(post) if post.pk and counted else None
    context = {"box": box, "buttons": box.buttons(settings, ping), "affiliate": settings, "rel": rel(settings)}
    return render_to_string("posts/_affiliate_box.html", context, request)


def boxes_of(post):
    """The post's box records (none for a post not saved yet, unless a preview set them)."""
    if post.pk is None and "affiliate_boxes" not in getattr(post, "_prefetched_objects_cache", {}):
        return []
    return list(post.affiliate_boxes.all())


# --- Where products are used ---------------------------------------------------------


def _placing(slugs, fields=("pk",)):
    """Posts whose body places a product of `slugs` with a marker, each with the slugs it
    places: the bodies are searched for the slugs, then the stored markers say for sure."""
    from django.db.models import Q

    from .models import Post

    slugs = {slug for slug in slugs if slug}
    if not slugs:
        return []
    named = Q()
    for slug in slugs:
        named |= Q(body__contains=slug)
    found = []
    for post in Post.objects.filter(named).only("box_markers", *fields).order_by("-published_at", "-pk"):
        placed = {marker["key"] for marker in post.box_markers if marker["kind"] == "product"} & slugs
        if placed:
            found.append((post, placed))
    return found


def posts_using(*slugs):
    """Pks of the posts whose body places a product of `slugs` with a marker."""
    return {post.pk for post, _placed in _placing(slugs)}


def product_usage(products):
    """{product pk: [posts]} for `products`: the posts that show each, by a marker in
    the body or by a box, newest first, in two queries for all of them."""
    from .models import AffiliateBox, Post

    products = list(products)
    usage = {product.pk: {} for product in products}
    by_slug = {product.slug: product.pk for product in products}
    fields = ("title", "slug", "status", "published_at")
    for post, placed in _placing(by_slug, fields):
        for slug in placed:
            usage[by_slug[slug]][post.pk] = post
    boxes = AffiliateBox.objects.filter(product__in=products).select_related("post").only("product_id", *(f"post__{name}" for name in fields))
    for box in boxes:
        usage[box.product_id].setdefault(box.post_id, box.post)
    order = lambda post: (post.published_at is not None, post.published_at or 0, post.pk)  # noqa: E731
    return {pk: sorted(posts.values(), key=order, reverse=True) for pk, posts in usage.items()}


def mentions_without_box(product, limit=20):
    """Posts whose text names `product` (its name or keyword) but that show no box for
    it: where a box could go. Newest first, at most `limit`."""
    from django.db.models import Q

    from .models import Post

    words = {word.strip() for word in (product.name, product.keyword) if len(word.strip()) >= 2}
    if not words:
        return []
    named = Q()
    for word in words:
        named |= Q(body_text__icontains=word)
    showing = {post.pk for post in product_usage([product])[product.pk]}
    boxed = Post.objects.filter(affiliate_boxes__keyword__in=words).values("pk")
    return list(Post.objects.filter(named).exclude(pk__in=showing).exclude(pk__in=boxed).only("title", "slug", "status", "published_at")[:limit])


def rel(settings):
    return "sponsored noopener" if _earning(settings) else "noopener"
