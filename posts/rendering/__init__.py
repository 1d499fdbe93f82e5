"""Markdown to safe HTML, once, when a post is saved.

Posts were written for Hugo's goldmark (CommonMark with GitHub tables, strikethrough,
autolinks, its typographer and, on Japanese sites, CJK line breaks), so markdown-it-py
renders them the same way, with goldmark's rules ported where the two differ. Raw HTML
is allowed and always goes through nh3 with an allowlist. The editor preview calls the
same code.
"""

import html
import re
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

from .sanitizer import AFFILIATE_HOSTS, ALLOWED_TAGS, sanitize
from . import markers, typography

__all__ = [
    "AFFILIATE_HOSTS", "ALLOWED_TAGS", "Rendered", "heading_id", "preview_html", "render",
    "sanitize",
]  # fmt: skip

SUMMARY_LENGTH = 120
TOC_LEVELS = (2, 3)

_RAWHTML_RE = re.compile(
    r"\{\{[<%]\s*rawhtml\s*[>%]\}\}(.*?)\{\{[<%]\s*/rawhtml\s*[>%]\}\}", re.DOTALL
)
_RAW_PLACEHOLDER = "<!--kiji-raw-{}-->"
_RAW_PLACEHOLDER_RE = re.compile(r"<!--kiji-raw-(\d+)-->")
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
    markers: list = field(default_factory=list)  # [{"kind", "key"}] (markers.py)
    affiliate_links: bool = False  # whether the text links to a store


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
    md.core.ruler.after("inline", "kiji_boxes", markers.place)
    # Before text_join, so that escaped characters (still `text_special`) are left alone.
    md.core.ruler.before("text_join", "heading_ids", _heading_ids)
    if typographer:
        md.core.ruler.before("text_join", "typographer", typography.typographer)
    if east_asian_line_breaks:
        md.core.ruler.before("text_join", "east_asian_line_breaks", typography.join_east_asian_lines)
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
        elif token.type == "html_block" and not markers.is_marker(token):
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
        markers.finish(sanitize(_restore_raw_html(md.renderer.render(part, md.options, env), raw_blocks)), env)
        for part in (tokens[:split], tokens[split:])
    )
    text = _plain_text(tokens, raw_blocks)
    words = count_words(text)
    return Rendered(
        markers=env.get("kiji_markers", []),
        # The sanitizer marks every link to a store sponsored.
        affiliate_links='rel="sponsored' in head + tail,
        html=head + tail,
        summary_at=len(head),
        toc=_toc(tokens),
        text=text,
        summary=summarize(tokens),
        word_count=words,
        reading_time=reading_minutes(words, cjk=bool(_CJK_RE.search(text))),
        faq=_faq(tokens, raw_blocks),
    )


def preview_html(markdown_text):
    """The editor's live preview (django-markdownx's MARKDOWNX_MARKDOWNIFY_FUNCTION): the
    body as a page shows it, its markers' boxes included."""
    # Imported here: models import this module.
    from django.utils.html import format_html

    from ..affiliate import compose_body, pr_notice
    from ..models import AffiliateSettings, Post

    post = Post(body=markdown_text or "")
    post.render()
    settings = AffiliateSettings.load()
    # The notice as the article shows it under its title, for what the body holds (the
    # post's own choice and its categories are in the form, not here).
    notice = pr_notice(post, settings, categories=[])
    head = format_html('<p class="post__pr" role="note">{}</p>', notice) if notice else ""
    return head + compose_body(post, settings, counted=False)
