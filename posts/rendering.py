"""Markdown to safe HTML, once, when a post is saved.

Posts were written for Hugo's goldmark (CommonMark with GitHub tables, strikethrough,
autolinks, its typographer and, on Japanese sites, CJK line breaks), so markdown-it-py
renders them the same way, with goldmark's rules ported where the two differ. Raw HTML
is allowed and always goes through nh3 with an allowlist. The editor preview calls the
same code.
"""

import html
import os
import re
import string
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

import nh3
from django.conf import settings
from linkify_it import LinkifyIt
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

SUMMARY_LENGTH = 120
TOC_LEVELS = (2, 3)

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

_RAWHTML_RE = re.compile(
    r"\{\{[<%]\s*rawhtml\s*[>%]\}\}(.*?)\{\{[<%]\s*/rawhtml\s*[>%]\}\}", re.DOTALL
)
_RAW_PLACEHOLDER = "<!--kiji-raw-{}-->"
_RAW_PLACEHOLDER_RE = re.compile(r"<!--kiji-raw-(\d+)-->")
# nh3's output is normalised: attributes are double-quoted with '"' escaped.
_A_TAG_RE = re.compile(r'<a((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*>')
_ATTR_RE = re.compile(r'([\w:-]+)(?:="([^"]*)")?')
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_SENTENCE_END = tuple("。．.!?！？")


@dataclass
class Rendered:
    html: str = ""
    summary_at: int = 0
    toc: list = field(default_factory=list)
    text: str = ""
    summary: str = ""
    word_count: int = 0
    reading_time: int = 0
    faq: list = field(default_factory=list)


class _GoldmarkLinkify(LinkifyIt):
    """Autolinks as goldmark makes them: URLs with a scheme, www. hosts and e-mail
    addresses, but not bare names that happen to end in a TLD, such as README.md."""

    def match(self, text):
        return [
            m
            for m in super().match(text) or []
            if m.schema or m.raw.lower().startswith("www.") or "@" in m.raw
        ]


def heading_id(title):
    """Hugo's default ("github") heading id: letters and digits lower-cased, spaces to '-'."""
    out = []
    for char in title.strip():
        if char in " -":
            out.append("-")
        elif char == "_" or char.isalpha() or char.isdigit():
            out.append(char.lower())
    return "".join(out) or "heading"


_FORMATTER = HtmlFormatter(nowrap=True)


def _highlight(code, lang, _attrs):
    lexer = _lexer(lang.strip().lower()) if lang else None
    if lexer is None:
        return ""  # markdown-it then writes a plain, escaped <pre><code>
    return (
        f'<pre class="highlight" data-lang="{html.escape(lang)}"><code>'
        f"{highlight(code, lexer, _FORMATTER)}</code></pre>\n"
    )


@lru_cache(maxsize=128)
def _lexer(name):
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return None


@lru_cache(maxsize=4)
def _markdown(typographer, east_asian_line_breaks):
    md = MarkdownIt("commonmark", {"html": True, "linkify": True, "highlight": _highlight})
    md.enable(["table", "strikethrough", "linkify"])
    md.linkify = _GoldmarkLinkify()
    # Before text_join, so that escaped characters (still `text_special`) are left alone.
    md.core.ruler.before("text_join", "heading_ids", _heading_ids)
    if typographer:
        md.core.ruler.before("text_join", "typographer", _typographer)
    if east_asian_line_breaks:
        md.core.ruler.before("text_join", "east_asian_line_breaks", _join_east_asian_lines)
    # Only the permalinks: every heading already has its id from _heading_ids.
    anchors_plugin(md, min_level=1, max_level=6, permalink=True, permalinkSymbol="#")
    return md


def _heading_ids(state):
    """Hugo's ids, from each heading's text before the typographer: goldmark takes them
    from the source line, so "A -- B" keeps "a----b"."""
    seen = set()
    for index, token in enumerate(state.tokens):
        if token.type == "heading_open":
            children = state.tokens[index + 1].children or ()
            kinds = ("text", "text_special", "code_inline")
            slug = base = heading_id("".join(child.content for child in children if child.type in kinds))
            number = 0
            while slug in seen:
                number += 1
                slug = f"{base}-{number}"
            seen.add(slug)
            token.attrSet("id", slug)


# Goldmark's substitutions, as characters rather than its entities; the longer first.
_SUBSTITUTIONS = (("---", "—"), ("--", "–"), ("...", "…"), ("<<", "«"), (">>", "»"))
_LSQUO, _RSQUO, _LDQUO, _RDQUO = "‘’“”"
_ASCII_BREAK = (string.punctuation + " \t\n\v\f\r").encode()  # util.IsPunct || util.IsSpace


def _typographer(state):
    """Goldmark's typographer, ported rather than markdown-it's smartquotes, which only
    curls quotes that pair up: goldmark curls an opener at once, keeps per-block counts
    of open quotes, and has apostrophe rules of its own ('90s, 'n', Yahoo!'s)."""
    for token in state.tokens:
        if token.type == "inline" and token.children:
            chars, owners = [], []
            _source_view(token.children, chars, owners)
            _typeset(chars, owners)


def _source_view(children, chars, owners):
    """Lay inline tokens out as goldmark's parser reads the source: text as written,
    markup as one punctuation character, a line break as a newline. `owners` holds
    the (token, offset) each character can be replaced at, or None where it must stay:
    escapes, entities, code, HTML, autolinks."""
    in_autolink = False
    for child in children:
        if child.type == "text":
            owner = None if in_autolink else child
            chars.extend(child.content)
            owners.extend((owner, offset) if owner else None for offset in range(len(child.content)))
            continue
        if child.type == "text_special":
            text = child.markup
        elif child.type in ("softbreak", "hardbreak"):
            text = "\n"
        elif child.info == "auto":  # the open or close of an <autolink> or a linkified URL
            in_autolink = child.nesting == 1
            text = ("<" if in_autolink else ">") if child.markup == "autolink" else ""
        else:
            text = "*"
        chars.extend(text)
        owners.extend([None] * len(text))
        if child.type == "image":  # goldmark typesets alt text as part of the paragraph
            _source_view(child.children or [], chars, owners)
            chars.append("*")
            owners.append(None)


def _typeset(chars, owners):
    """Apply goldmark's substitutions, left to right, to the replaceable characters."""
    replaced, unclosed, index = {}, {"'": 0, '"': 0}, 0
    while index < len(chars):
        for source, typographic in _SUBSTITUTIONS if owners[index] else ():
            end = index + len(source)
            if "".join(chars[index:end]) == source and all(owners[index:end]):
                replaced.update({index: typographic, **dict.fromkeys(range(index + 1, end), "")})
                index = end
                break
        else:
            if owners[index] and chars[index] in "'\"" and (quote := _quote(chars, index, unclosed)):
                replaced[index] = quote
            index += 1
    # From the end, so that each token's earlier offsets stay valid.
    for index in sorted(replaced, reverse=True):
        token, offset = owners[index]
        token.content = token.content[:offset] + replaced[index] + token.content[offset + 1 :]


def _quote(chars, index, unclosed):
    """What goldmark (v1's extension/typographer.go) makes of the quote at chars[index]:
    a curly quote, or None to leave it straight. `unclosed` counts the open quotes."""
    quote, before = chars[index], chars[index - 1] if index else "\n"
    window = "".join(chars[index : index + 8])
    line = window[: window.index("\n") + 1] if "\n" in window else window  # goldmark's PeekLine
    raw = line.encode()  # which goldmark indexes by byte; line[1] is the character after the quote
    second, run = line[1:2] or " ", len(line) - len(line.lstrip(quote))
    after = line[run] if run < len(line) else " "
    # parser.ScanDelimiter: flanking as for emphasis, punctuation being Unicode P or S.
    can_open = not after.isspace() and (not _is_punct(after) or before.isspace() or _is_punct(before))
    can_close = not before.isspace() and (not _is_punct(before) or after.isspace() or _is_punct(after))
    closes = (can_close and not can_open) or (
        can_close
        and can_open
        and unicodedata.category(second)[0] == "P"
        and (len(raw) == 2 or raw[2] in _ASCII_BREAK)
    )
    if quote == "'":
        fifth = line[4:5] or " "
        if (can_open and not can_close and raw[1:3].isdigit() and raw[3:4] == b"s") and (
            fifth.isspace() or _is_punct(fifth)
        ):
            return _RSQUO  # '90s
        if (unicodedata.category(before)[0] == "P" or before.isspace()) and second in "tenl":
            return _RSQUO  # 'twas, 'em, 'net
        if (before.isalpha() or unicodedata.category(before) == "Nd") and second.isalpha():
            return _RSQUO  # O'Reilly, it's
        if can_open and not can_close:
            if (second in "smtd" and (len(raw) < 3 or raw[2] in _ASCII_BREAK)) or (
                line[1:3] in ("ve", "ll", "re") and (len(raw) < 4 or raw[3] in _ASCII_BREAK)
            ):
                return _RSQUO  # Yahoo!'s, [Cat]'ll
            unclosed[quote] += 1
            return _LSQUO
        if len(raw) > 2 and unicodedata.category(second) != "Nd":
            return _RSQUO  # Smiths', doin'
    elif can_open and not can_close:
        unclosed[quote] += 1
        return _LDQUO
    if unclosed[quote] and closes:
        if quote == '"' and second == '"' and unicodedata.category(before) == "Nd":
            return None  # 21"" is inches
        unclosed[quote] -= 1
        return _RSQUO if quote == "'" else _RDQUO
    return None


def _is_punct(char):
    return unicodedata.category(char)[0] in "PS"


# Goldmark's util.IsEastAsianWideRune: the Han, Hiragana, Katakana and Hangul scripts,
# the CJK Symbols and Punctuation block and, below, modifier letters (Lm). Scripts, not
# East Asian Width: fullwidth ！？（） and emoji do not count, so "すごい！" keeps its break.
_EAST_ASIAN_WIDE = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fd5\u3000-\u303f\u3041-\u3096\u309d-\u309f\u30a1-\u30fa"
    "\u30fd-\u30ff\u3131-\u318e\u31f0-\u321e\u3260-\u327e\u32d0-\u32fe\u3300-\u3357"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97c\uac00-\ud7fb\uf900-\ufad9\uff66-\uff6f"
    "\uff71-\uff9d\uffa0-\uffdc\U00016fe2\U00016fe3\U00016ff0\U00016ff1\U0001aff0-\U0001b16f"
    "\U0001f200\U00020000-\U000323af]"
)


def _east_asian_pair(pair):
    return len(pair) == 2 and all(
        _EAST_ASIAN_WIDE.match(char) or unicodedata.category(char) == "Lm" for char in pair
    )


def _join_east_asian_lines(state):
    """Goldmark's eastAsianLineBreaks, "simple" style: a soft break between two East
    Asian wide characters renders as nothing."""
    for token in state.tokens:
        children = token.children or []
        for index in range(len(children) - 2, 0, -1):
            before, child, after = children[index - 1 : index + 2]
            # Goldmark also drops every soft break followed by anything but text (emphasis,
            # a code span, a link), joining even Latin words (yuin/goldmark#582, open);
            # here a break goes only with text on both sides.
            if child.type != "softbreak" or not before.type == after.type == "text":
                continue
            if _east_asian_pair(before.content[-1:] + after.content[:1]):
                del children[index]


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


def _extract_raw_html(text):
    """Swap Hugo's {{< rawhtml >}} blocks for placeholders, so that blank lines inside
    them cannot turn their HTML into Markdown paragraphs or code blocks."""
    blocks = []

    def keep(match):
        blocks.append(match.group(1))
        return "\n\n" + _RAW_PLACEHOLDER.format(len(blocks) - 1) + "\n\n"

    return _RAWHTML_RE.sub(keep, text), blocks


def _restore_raw_html(fragment, blocks):
    return _RAW_PLACEHOLDER_RE.sub(
        lambda m: blocks[int(m.group(1))] if int(m.group(1)) < len(blocks) else "", fragment
    )


def _inline_text(token):
    return "".join(
        child.content for child in token.children or () if child.type in ("text", "code_inline")
    )


def _plain_text(tokens, raw_blocks):
    lines = []
    for token in tokens:
        if token.type == "inline":
            lines.append(
                "".join(
                    child.content if child.type in ("text", "code_inline") else "\n"
                    for child in token.children or ()
                    if child.type in ("text", "code_inline", "softbreak", "hardbreak")
                )
            )
        elif token.type in ("fence", "code_block"):
            lines.append(token.content)
        elif token.type == "html_block":
            raw = _restore_raw_html(token.content, raw_blocks)
            lines.append(html.unescape(nh3.clean(raw, tags=set(), clean_content_tags={"script", "style"})))
    return "\n".join(line.strip() for line in lines if line.strip())


def count_words(text):
    """Hugo's word count with hasCJKLanguage: a CJK character is a word of its own."""
    count = 0
    for word in text.split():
        count += 1 if word.isascii() else len(word)
    return count


def reading_minutes(word_count, cjk):
    """Hugo's reading time: 501 CJK characters or 213 words a minute, rounded up."""
    per_minute = 501 if cjk else 213
    return max(1, (word_count + per_minute - 1) // per_minute)


def _first_list_items(tokens):
    """Text of the items of the first top-level list, if the body has one."""
    items, depth, inside = [], 0, False
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open"):
            if token.level == 0:
                inside = True
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
            if token.level == 0:
                return items
        elif inside and depth == 1 and token.type == "inline":
            items.append(_inline_text(token).strip())
    return []


def _first_paragraph(tokens):
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open" and token.level == 0:
            return _inline_text(tokens[index + 1]).strip()
    return ""


def summarize(tokens, length=SUMMARY_LENGTH):
    """About `length` characters from the summary list (or the first paragraph)."""
    items = [item for item in _first_list_items(tokens) if item]
    if items:
        cjk = any(_CJK_RE.search(item) for item in items)
        joiner = "" if cjk else " "
        text = joiner.join(
            item if item.endswith(_SENTENCE_END) else item + ("。" if cjk else ".")
            for item in items
        )
    else:
        text = _first_paragraph(tokens)
    text = " ".join(text.split())
    if len(text) > length:
        text = text[:length].rstrip() + "..."
    return text


def _split_point(tokens):
    """Token index after which summary affiliate boxes go: the end of the first
    top-level list, else of the first paragraph, else the end of the body."""
    for index, token in enumerate(tokens):
        if token.level == 0 and token.type in ("bullet_list_close", "ordered_list_close"):
            return index + 1
    for index, token in enumerate(tokens):
        if token.level == 0 and token.type == "paragraph_close":
            return index + 1
    return len(tokens)


def _toc(tokens):
    entries = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and int(token.tag[1]) in TOC_LEVELS:
            title = _inline_text(tokens[index + 1]).strip()
            if title:
                entries.append({"level": int(token.tag[1]), "id": token.attrGet("id"), "title": title})
    return entries


_FAQ_HEADING_RE = re.compile(r"よくある質問|質問と回答|FAQ|Q\s*[&＆]\s*A|Frequently asked questions", re.IGNORECASE)
_QUESTION_PREFIX_RE = re.compile(r"^Q\s*\d+\s*[:：.．]\s*")


def _faq(tokens, raw_blocks):
    """Questions and answers of a よくある質問 (FAQ) section: each heading one level
    below the section's is a question, the text under it the answer."""
    entries, section_level, question, answer = [], None, None, []

    def close():
        if question and answer:
            entries.append({"question": question, "answer": " ".join(" ".join(answer).split())})

    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            level, title = int(token.tag[1]), _inline_text(tokens[index + 1]).strip()
            if section_level is None:
                if _FAQ_HEADING_RE.search(title):
                    section_level = level
                continue
            if level <= section_level:
                break
            if level == section_level + 1:
                close()
                question, answer = _QUESTION_PREFIX_RE.sub("", title), []
        elif question and tokens[index - 1].type != "heading_open":
            answer.append(_plain_text([token], raw_blocks))
    close()
    return entries


def render(markdown_text):
    """Render a post body: sanitized HTML plus the table of contents, plain text,
    summary, word count and reading time derived from it."""
    source, raw_blocks = _extract_raw_html(markdown_text or "")
    env = {}
    md = _markdown(settings.KIJI_TYPOGRAPHER, settings.KIJI_EAST_ASIAN_LINE_BREAKS)
    tokens = md.parse(source, env)
    split = _split_point(tokens)
    head, tail = (
        sanitize(_restore_raw_html(md.renderer.render(part, md.options, env), raw_blocks))
        for part in (tokens[:split], tokens[split:])
    )
    text = _plain_text(tokens, raw_blocks)
    words = count_words(text)
    return Rendered(
        html=head + tail,
        summary_at=len(head),
        toc=_toc(tokens),
        text=text,
        summary=summarize(tokens),
        word_count=words,
        reading_time=reading_minutes(words, cjk=bool(_CJK_RE.search(text))),
        faq=_faq(tokens, raw_blocks),
    )


def render_many(texts):
    """`render` for many bodies, in order, on every CPU when there are enough to be
    worth it; results arrive while later ones are still rendering."""
    workers = min(os.cpu_count() or 1, len(texts) // 50)
    if workers < 2:
        yield from map(render, texts)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(render, texts, chunksize=20)


def preview_html(markdown_text):
    """The editor's live preview (django-markdownx's MARKDOWNX_MARKDOWNIFY_FUNCTION)."""
    # Imported here: models import this module.
    from .affiliate import tag_amazon_links
    from .models import AffiliateSettings

    return tag_amazon_links(render(markdown_text).html, AffiliateSettings.load())
