"""Hugo post bodies made Kiji's: the old site's affiliate HTML taken out as boxes, its
FAQ JSON-LD and other scripts dropped, raw-HTML shortcodes unwrapped, and links to
other posts pointed at their current URLs. Fenced code is never touched.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit

from ..models import AffiliateBox
from ..rendering import sanitize

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
    """An unsaved AffiliateBox if `html` is one of the old site's affiliate blocks
    (every link an Amazon or Rakuten search), else None."""
    reader = _BlockReader()
    reader.feed(html)
    reader.close()
    keywords = [keyword_from_url(href) for href in reader.links]
    if not keywords or None in keywords:
        return None
    box = AffiliateBox(keyword=keywords[0][:200], placement=AffiliateBox.Placement.SUMMARY)
    if reader.strong:
        box.product_name = _strip_decoration(reader.strong[0])[:200]
        reasons = [p for p in reader.paragraphs if p and not p.startswith(("📦", "※"))]
        box.reason = reasons[0][:300] if reasons else ""
    return box


# --- Body clean-up -------------------------------------------------------------------

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DIV_TAG_RE = re.compile(r"<(/?)div\b[^>]*>", re.IGNORECASE)
_SCRIPT_RE = re.compile(r"<script\b([^>]*)>.*?</script\s*>\n?", re.IGNORECASE | re.DOTALL)
_RAWHTML_RE = re.compile(
    r"\{\{[<%]\s*rawhtml\s*[>%]\}\}\n?(.*?)\{\{[<%]\s*/rawhtml\s*[>%]\}\}", re.DOTALL
)
_SHORTCODE_RE = re.compile(r"\{\{[<%]\s*/?\s*([\w./-]+)")
_END_LABEL_RE = re.compile(r"[^\n]*関連情報をもっと知りたい方へ[^\n]*\n\s*$")
_DISCLOSURE_RE = re.compile(r"^<small\b[^>]*>\s*※[^<]*アフィリエイト[^<]*</small>\s*$", re.MULTILINE)
_BOX_MARK = "\x00kiji-box\x00"
_HEADING_RE = re.compile(r"^(#{1,6})\s")
_RULE_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")


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


def _take_boxes(text, boxes):
    """Replace the affiliate blocks in `text` with markers, appending their boxes."""
    out, last = [], 0
    for start, end in _top_level_divs(text):
        box = read_affiliate_block(text[start:end])
        if box is None:
            continue
        before = text[last:start]
        label = _END_LABEL_RE.search(before)
        if label:
            box.placement = AffiliateBox.Placement.END
            before = before[: label.start()]
        out.append(before + _BOX_MARK)
        boxes.append(box)
        last = end
    out.append(text[last:])
    return "".join(out)


def _drop_emptied_sections(text):
    """Remove what taking the boxes out leaves behind: headings whose sections now
    hold nothing but markers, the old disclosure line, and dangling rules."""
    text = _DISCLOSURE_RE.sub("", text) if _BOX_MARK in text else text
    lines = text.split("\n")
    keep = [True] * len(lines)
    for index, line in enumerate(lines):
        heading = _HEADING_RE.match(line)
        if not heading:
            continue
        level, has_box, empty = len(heading.group(1)), False, True
        for follower in lines[index + 1 :]:
            deeper = _HEADING_RE.match(follower)
            if deeper and len(deeper.group(1)) <= level:
                break
            if _BOX_MARK in follower:
                has_box = True
                follower = follower.replace(_BOX_MARK, "")  # text beside a box still counts
            if follower.strip() and not deeper and not _RULE_RE.match(follower):
                empty = False
                break
        if has_box and empty:
            keep[index] = False
    text = "\n".join(line for line, kept in zip(lines, keep) if kept).replace(_BOX_MARK, "")
    # Rules and blank lines left hanging at the end of the body.
    text = re.sub(r"(\n\s*(?:[-*_]\s*){3,}\s*)+\s*\Z", "\n", "\n" + text)[1:]
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _unwrap_raw_html(text):
    """Drop {{< rawhtml >}} wrappers: an emptied one goes, any other keeps its
    contents, sanitized and without blank lines, so Markdown still reads them as HTML."""

    def unwrap(match):
        inner = match.group(1).replace(_BOX_MARK, "").strip()
        if not inner:
            return _BOX_MARK if _BOX_MARK in match.group(1) else ""
        cleaned = sanitize(inner)
        return "\n".join(line for line in cleaned.splitlines() if line.strip()) + "\n"

    return _RAWHTML_RE.sub(unwrap, text)


@dataclass
class Body:
    markdown: str
    boxes: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    links: list = field(default_factory=list)  # (url as written, post key) pairs


_POST_LINK_RE = re.compile(r"""(\]\(\s*<?|href\s*=\s*["'])((?:https?://[^/\s"')>]+)?/posts/([^/\s"')>#?]+)/?)""")


def clean_body(markdown, base_host=None):
    """The Markdown of an old post with its affiliate HTML taken out as boxes, its
    FAQ JSON-LD and other scripts removed and its raw-HTML shortcodes unwrapped."""
    result = Body("")
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
        text = _take_boxes(text, result.boxes)
        text = _unwrap_raw_html(text)
        for name in sorted({m.group(1) for m in _SHORTCODE_RE.finditer(text)}):
            result.notes.append(f"shortcode {{{{< {name} >}}}} is not supported: left as text")
        parts.append(text)
    result.markdown = _drop_emptied_sections("".join(parts))
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

