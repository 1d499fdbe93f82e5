"""The one sanitizer: every piece of HTML a writer or an imported file supplies goes
through `sanitize` before anything stores or shows it."""

import html
import re

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
    "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time",
    "tr", "u", "ul", "var", "wbr",
}  # fmt: skip
# Dropped with everything inside them, so that their text never shows as prose.
REMOVED_WITH_CONTENT = {
    "script", "style", "iframe", "object", "embed", "form", "noscript", "template",
    "textarea", "select", "button", "svg", "math", "title", "base", "meta", "link",
}  # fmt: skip
_STYLED = {"div", "span", "p", "a", "strong", "em", "small", "table", "th", "td", "img"}
ALLOWED_ATTRIBUTES = {
    "*": {"title", "lang", "dir", "class"},
    "a": {"href", "rel", "target", "hreflang"},
    "img": {"src", "alt", "width", "height", "loading"},
    "ol": {"start", "type"},
    "pre": {"data-lang"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "time": {"datetime"},
    "details": {"open"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
for _tag in _STYLED:
    ALLOWED_ATTRIBUTES.setdefault(_tag, set()).add("style")
# Layout and colour only: nothing that can position content over the page or fetch URLs.
ALLOWED_STYLES = {
    "color", "background-color", "border", "border-top", "border-bottom", "border-left",
    "border-right", "border-color", "border-style", "border-width", "border-radius",
    "padding", "padding-top", "padding-bottom", "padding-left", "padding-right",
    "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
    "font-size", "font-weight", "font-style", "text-align", "text-decoration",
    "line-height", "display", "gap", "flex-wrap", "flex-direction", "justify-content",
    "align-items", "width", "max-width", "vertical-align", "white-space",
}  # fmt: skip
URL_SCHEMES = {"http", "https", "mailto", "tel"}

# Hosts whose links pay the site: marked sponsored, opened in a new tab.
AFFILIATE_HOSTS = re.compile(
    r"^https?://(?:[\w-]+\.)*(?:amazon\.co\.jp|amzn\.to|amzn\.asia|rakuten\.co\.jp)(?:[/:?#]|$)",
    re.IGNORECASE,
)

_A_TAG_RE = re.compile(r'<a((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*>')
_ATTR_RE = re.compile(r'([\w:-]+)(?:="([^"]*)")?')


def sanitize(fragment):
    """Clean an HTML fragment with Kiji's allowlist and mark affiliate links."""
    cleaned = nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        clean_content_tags=REMOVED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        filter_style_properties=ALLOWED_STYLES,
        link_rel=None,
        strip_comments=True,
    )
    return _A_TAG_RE.sub(_finish_link, cleaned)


def _finish_link(match):
    attrs = {name: value or "" for name, value in _ATTR_RE.findall(match.group(1))}
    href = html.unescape(attrs.get("href", ""))
    rel = set(attrs.get("rel", "").split())
    if AFFILIATE_HOSTS.match(href):
        rel |= {"sponsored", "noopener"}
        attrs["target"] = "_blank"
    if attrs.get("target") == "_blank":
        rel.add("noopener")
    if rel:
        first = [value for value in ("sponsored", "noopener") if value in rel]
        attrs["rel"] = " ".join(first + sorted(rel.difference(first)))
    parts = "".join(f' {name}="{value}"' for name, value in attrs.items())
    return f"<a{parts}>"
