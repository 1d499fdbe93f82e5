"""Affiliate links, built per view from the site-wide AffiliateSettings.

Nothing here is stored in a post, so changing the Amazon tag or the Rakuten id in the
admin changes every page at once.
"""

import html
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

AMAZON_SEARCH = "https://www.amazon.co.jp/s?k={keyword}"
RAKUTEN_SEARCH = "https://search.rakuten.co.jp/search/mall/{keyword}/"
RAKUTEN_AFFILIATE = "https://hb.afl.rakuten.co.jp/hgc/{rakuten_id}/?pc={target}&m={target}"

# Amazon links in stored (sanitized, normalised) body HTML.
_AMAZON_HREF_RE = re.compile(r'href="(https?://(?:www\.)?amazon\.co\.jp/[^"]*)"', re.IGNORECASE)


def amazon_url(keyword, settings):
    url = AMAZON_SEARCH.format(keyword=quote(keyword, safe=""))
    if settings.enabled and settings.amazon_tag:
        url += "&tag=" + quote(settings.amazon_tag, safe="")
    return url


def rakuten_url(keyword, settings):
    search = RAKUTEN_SEARCH.format(keyword=quote(keyword, safe=""))
    if settings.enabled and settings.rakuten_id:
        return RAKUTEN_AFFILIATE.format(
            rakuten_id=quote(settings.rakuten_id, safe="."), target=quote(search, safe="")
        )
    return search


def with_amazon_tag(url, settings):
    """`url` with its associate tag set to the configured one (or removed when off)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "tag"]
    if settings.enabled and settings.amazon_tag:
        query.append(("tag", settings.amazon_tag))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def tag_amazon_links(body_html, settings):
    """Give every Amazon link that a writer pasted into a body the configured tag."""
    if "amazon.co.jp" not in body_html:
        return body_html
    return _AMAZON_HREF_RE.sub(
        lambda m: 'href="{}"'.format(
            html.escape(with_amazon_tag(html.unescape(m.group(1)), settings))
        ),
        body_html,
    )
