"""Hugo post bodies made Kiji's: the old site's affiliate HTML taken out as boxes, its
FAQ JSON-LD and other scripts dropped, raw-HTML shortcodes unwrapped, and links to
other posts pointed at their current URLs. Fenced code is never touched.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit

from ..models import Product
from ..rendering import sanitize
from ..slugs import urlize

class _BlockReader(HTMLParser):
    """What an old affiliate box holds: its links, bold text and paragraphs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.strong, self.paragraphs = [], [], []
        self._capture = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        elif tag in ("strong", "b", "p"):
            self._capture = (tag, [])

    def handle_data(self, data):
        if self._capture:
            self._capture[1].append(data)

    def handle_endtag(self, tag):
        if self._capture and tag == self._capture[0]:
            text = " ".join("".join(self._capture[1]).split())
            (self.paragraphs if tag == "p" else self.strong).append(text)
            self._capture = None


def keyword_from_url(url):
    """The search words of an Amazon or Rakuten search (or Rakuten affiliate) link."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    query = parse_qs(parts.query)
    if host.endswith("amazon.co.jp") and parts.path.rstrip("/") == "/s" and query.get("k"):
        return query["k"][0].strip()
    if host == "hb.afl.rakuten.co.jp":
        inner = (query.get("pc") or query.get("m") or [""])[0]
        return keyword_from_url(inner) if inner else None
    if host == "search.rakuten.co.jp" and parts.path.startswith("/search/mall/"):
        return unquote(parts.path[len("/search/mall/") :].strip("/")).strip() or None
    return None


def _strip_decoration(text):
    """'🛍️ Python入門' → 'Python入門': drop leading emoji and symbols."""
    return re.sub(r"^[^\w「『(（\[]+", "", text).strip()


def read_affiliate_block(html):
    """What one of the old site's affiliate blocks (every link an Amazon or Rakuten
    search) showed: {"keyword", "name", "reason"}, the name and reason of a product
    card, empty for a block of search buttons; None for any other HTML."""
    reader = _BlockReader()
    reader.feed(html)
    reader.close()
    keywords = [keyword_from_url(href) for href in reader.links]
    if not keywords or None in keywords:
        return None
    found = {"keyword": keywords[0], "name": "", "reason": ""}
    if reader.strong:
        found["name"] = _strip_decoration(reader.strong[0])
        reasons = [p for p in reader.paragraphs if p and not p.startswith(("📦", "※"))]
        found["reason"] = reasons[0] if reasons else ""
    return found


# --- Body clean-up -------------------------------------------------------------------

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DIV_TAG_RE = re.compile(r"<(/?)div\b[^>]*>", re.IGNORECASE)
_SCRIPT_RE = re.compile(r"<script\b([^>]*)>.*?</script\s*>\n?", re.IGNORECASE | re.DOTALL)
_RAWHTML_RE = re.compile(
    r"\{\{[<%]\s*rawhtml\s*[>%]\}\}\n?(.*?)\{\{[<%]\s*/rawhtml\s*[>%]\}\}", re.DOTALL
)
_SHORTCODE_RE = re.compile(r"\{\{[<%]\s*/?\s*([\w./-]+)")
_DISCLOSURE_RE = re.compile(r"^<small\b[^>]*>\s*※[^<]*アフィリエイト[^<]*</small>[ \t]*$", re.MULTILINE)
# Where a block was, until clean_body writes its marker (NUL: no file holds one).
_BOX_MARK = "\x00kiji-box-{}\x00"
_BOX_MARK_RE = re.compile(r"\x00kiji-box-(\d+)\x00")
_BOXES_THEN_DISCLOSURE_RE = re.compile(r"(\x00kiji-box-\d+\x00)((?:\s|-{3,}|\*{3,})*)(<small\b[^>]*>\s*※[^<]*アフィリエイト[^<]*</small>)")


def _segments(text):
    """Split Markdown into (is_code, text) runs, so that HTML clean-up never touches
    fenced code, where a <script> or a <div> is what the writer wants to show."""
    runs, current, fence, is_code = [], [], None, False
    for line in text.splitlines(keepends=True):
        match = _FENCE_RE.match(line)
        if fence is None and match:
            if current:
                runs.append((False, "".join(current)))
            current, fence, is_code = [line], match.group(1), True
        elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            current.append(line)
            runs.append((True, "".join(current)))
            current, fence, is_code = [], None, False
        else:
            current.append(line)
    if current:
        runs.append((is_code, "".join(current)))
    return runs


def _top_level_divs(text):
    """(start, end) of every top-level <div>…</div> in an HTML-bearing text."""
    spans, depth, start = [], 0, None
    for match in _DIV_TAG_RE.finditer(text):
        if match.group(1):
            if depth:
                depth -= 1
                if depth == 0:
                    spans.append((start, match.end()))
        else:
            if depth == 0:
                start = match.start()
            depth += 1
    return spans


def _take_boxes(text, found):
    """Put a placeholder where each affiliate block of `text` is, and what it showed
    in `found`."""
    out, last = [], 0
    for start, end in _top_level_divs(text):
        block = read_affiliate_block(text[start:end])
        if block is None:
            continue
        out.append(text[last:start] + _BOX_MARK.format(len(found)))
        found.append(block)
        last = end
    out.append(text[last:])
    return "".join(out)


def _markers(text, found, products):
    """Each placeholder turned into its marker, on a line of its own, where the block
    stood: `{{< product slug >}}` for a product card (its product in `products`), or
    `{{< affiliate "keyword" >}}` for search buttons. A disclosure line right after
    boxes goes, as each box carries its own; one beside pasted links stays."""
    text = _BOXES_THEN_DISCLOSURE_RE.sub(lambda match: match.group(1) + match.group(2), text)

    def marker(match):
        block = found[int(match.group(1))]
        slug = urlize(block["name"])[: Product._meta.get_field("slug").max_length] if block["name"] else ""
        if slug:
            products.setdefault(slug, block)
            return f"\n\n{{{{< product {slug} >}}}}\n\n"
        keyword = block["keyword"].replace('"', "").strip()
        return f'\n\n{{{{< affiliate "{keyword}" >}}}}\n\n'

    return _BOX_MARK_RE.sub(marker, text)


def _tidy(text):
    """Rules and blank lines left hanging at the end, and runs of blank lines."""
    text = re.sub(r"(\n\s*(?:[-*_]\s*){3,}\s*)+\s*\Z", "\n", "\n" + text)[1:]
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _unwrap_raw_html(text):
    """Drop {{< rawhtml >}} wrappers: an emptied one goes, any other keeps its
    contents, sanitized and without blank lines, so Markdown still reads them as HTML."""

    def unwrap(match):
        marks = "".join(mark.group(0) for mark in _BOX_MARK_RE.finditer(match.group(1)))
        inner = _BOX_MARK_RE.sub("", match.group(1)).strip()
        if not inner:
            return marks
        cleaned = sanitize(inner)
        return marks + "\n".join(line for line in cleaned.splitlines() if line.strip()) + "\n"

    return _RAWHTML_RE.sub(unwrap, text)


@dataclass
class Body:
    markdown: str
    # {slug: {"keyword", "name", "reason"}} of the product cards the body now places
    # with {{< product slug >}}: the registry must hold them.
    products: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    links: list = field(default_factory=list)  # (url as written, post key) pairs


_POST_LINK_RE = re.compile(r"""(\]\(\s*<?|href\s*=\s*["'])((?:https?://[^/\s"')>]+)?/posts/([^/\s"')>#?]+)/?)""")


def clean_body(markdown, base_host=None):
    """The Markdown of an old post with each affiliate block turned into a box marker
    where it stood, its FAQ JSON-LD and other scripts removed and its raw-HTML
    shortcodes unwrapped."""
    result, found = Body(""), []
    parts = []
    for is_code, text in _segments(markdown):
        if is_code:
            parts.append(text)
            continue
        scripts = [m.group(1) for m in _SCRIPT_RE.finditer(text)]
        text = _SCRIPT_RE.sub("", text)
        others = [attrs for attrs in scripts if "ld+json" not in attrs]
        if others:
            result.notes.append(f"removed {len(others)} <script> block(s); pages never run scripts from posts")
        text = _take_boxes(text, found)
        text = _unwrap_raw_html(text)
        for name in sorted({m.group(1) for m in _SHORTCODE_RE.finditer(text)}):
            result.notes.append(f"shortcode {{{{< {name} >}}}} is not supported: left as text")
        parts.append(text)
    result.markdown = _tidy(_markers("".join(parts), found, result.products))
    for is_code, text in _segments(result.markdown):
        if not is_code:
            for match in _POST_LINK_RE.finditer(text):
                host = urlsplit(match.group(2)).hostname
                if host is None or host == base_host:
                    result.links.append(unquote(match.group(3)))
    return result


def rewrite_post_links(markdown, targets, base_host=None):
    """Point links to /posts/<name>/ at the post's current URL where `targets`
    ({name: slug}) knows better; fenced code is left alone."""

    def replace(match):
        host = urlsplit(match.group(2)).hostname
        name = unquote(match.group(3))
        if (host is None or host == base_host) and targets.get(name, name) != name:
            return match.group(1) + f"/posts/{targets[name]}/"
        return match.group(0)

    return "".join(
        text if is_code else _POST_LINK_RE.sub(replace, text) for is_code, text in _segments(markdown)
    )

