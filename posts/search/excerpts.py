"""The excerpt of each result: the text around the first match, the matches marked."""

import re
import unicodedata
from typing import NamedTuple
from urllib.parse import quote

from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.html import escape
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import mark_safe

from ..compiled import Compiled
from ..models import Post
from .words import LETTER, parse


def _normalised(text, exactly=False):
    """`text` normalised as `tokens()` does, and for each of its characters the index
    of the character of `text` it came from.

    Japanese text has full-width punctuation, which NFKC changes one for one: where
    the whole text, or a run of 16 characters, keeps its length, it is taken as mapped
    one to one, unless `exactly`. (A character that grows and two that merge keep the
    length too: `_pieces()` checks its matches and asks again `exactly` if one is off.)"""
    if exactly:
        return _clustered(text)
    normalised = unicodedata.normalize("NFKC", text).lower()
    if len(normalised) == len(text):
        return normalised, range(len(text))
    normal, origin = [], []
    for start in range(0, len(text), 16):
        run = text[start : start + 16]
        normalised = unicodedata.normalize("NFKC", run).lower()
        if len(normalised) == len(run):
            normal.append(normalised)
            origin.extend(range(start, start + len(run)))
            continue
        for position, character in enumerate(run, start):
            piece = unicodedata.normalize("NFKC", character).lower()
            normal.append(piece)
            origin.extend([position] * len(piece))
    return "".join(normal), origin


def _clustered(text):
    """`_normalised(text)` a character at a time, with the marks that combine with it
    (ｶﾞ becomes ガ): slower, and exact."""
    normal, origin, start = [], [], 0
    while start < len(text):
        end = start + 1
        while end < len(text) and unicodedata.combining(unicodedata.normalize("NFKD", text[end])[:1] or " "):
            end += 1
        piece = unicodedata.normalize("NFKC", text[start:end]).lower()
        normal.append(piece)
        origin.extend([start] * len(piece))
        start = end
    return "".join(normal), origin


def _pattern(phrases):
    """A regular expression for the phrases in normalised text, as the index matches them."""
    alternatives = []
    for phrase in phrases:
        (first_kind, first_run), *rest = phrase.runs
        first = re.escape(first_run)
        # The guard (no letter, or no digit, just before the match) is looked behind
        # once the first run has matched: a pattern that begins with a literal is
        # searched for as one, rather than a look-behind tried at every position.
        guard = {"letters": LETTER, "digits": r"\d"}.get(first_kind)
        head = f"{first}(?<!{guard}{first})" if guard else first
        alternatives.append(r"[\W_]*".join([head, *(re.escape(run) for _, run in rest)]))
    return re.compile("|".join(alternatives)) if alternatives else None


# Bodies are normalised in pieces this long to find a match and where it came from.
_CHUNK = 512


def _locate(text, pattern):
    """Where in `text` (about: to a piece's start) the first match of `pattern` in its
    normalised form lies, or None. The pieces are normalised in C, in batches that
    double, until one holds a match: a match is mostly near the start, and normalising
    every body in full cost a page of ten results 1 to 3 ms. Each batch is
    matched with the piece before it, so that a match across two pieces is found too."""
    pieces, start, batch = [], 0, 1
    while start < len(text):
        first = len(pieces)
        end = min(len(text), start + _CHUNK * batch)
        pieces += [unicodedata.normalize("NFKC", text[at : at + _CHUNK]).lower() for at in range(start, end, _CHUNK)]
        since = max(0, first - 1)
        found = pattern.search("".join(pieces[since:]))
        if found is not None:
            reached = 0
            for number, piece in enumerate(pieces[since:], since):
                reached += len(piece)
                if reached > found.start():
                    return number * _CHUNK
        start, batch = end, batch * 2
    return None


def snippet(text, query, width=120):
    """About `width` characters of `text` around the first match of `query`, as
    (text, is_match) pieces, so that a template can mark the matches up."""
    pattern = _pattern(parse(query))
    # A body is normalised in pieces to find its first match; only the window around
    # that is mapped back character by character, which costs a few hundredths of it.
    offset, window = 0, text
    if pattern and len(text) > 3 * width:
        at = _locate(text, pattern) or 0
        offset = max(0, at - width)
        window = text[offset : at + _CHUNK + 2 * width]
    pieces, start, end = _pieces(window, pattern, width)
    if start > 0 or offset > 0:
        pieces.insert(0, ("…", False))
    if end < len(window) or offset + len(window) < len(text):
        pieces.append(("…", False))
    merged = []
    for piece, is_match in pieces:
        if merged and merged[-1][1] == is_match:
            merged[-1] = (merged[-1][0] + piece, is_match)
        else:
            merged.append((piece, is_match))
    return merged


def _mapped(text, normal, origin, pattern):
    """Whether each match of `pattern` in `normal` comes from text of `text` that
    normalises to it, as `origin` says."""
    for match in pattern.finditer(normal):
        begin, finish = origin[match.start()], origin[match.end() - 1] + 1
        if unicodedata.normalize("NFKC", text[begin:finish]).lower() != match.group():
            return False
    return True


def _pieces(text, pattern, width):
    """(pieces, start, end): `text[start:end]`, about `width` characters around the
    first match of `pattern`, cut into matches and the text between them."""
    normal, origin = _normalised(text)
    if pattern and not _mapped(text, normal, origin, pattern):
        normal, origin = _normalised(text, exactly=True)
    first = pattern.search(normal) if pattern else None
    start = 0
    if first:
        at = origin[first.start()]
        start = max(0, at - width // 4)
        # Begin at a line or Japanese sentence that starts shortly before the match.
        start = max(text.rfind("\n", start, at), text.rfind("。", start, at), start - 1) + 1
    end = min(len(text), start + width)
    pieces, position = [], start
    if pattern:
        for match in pattern.finditer(normal):
            begin, finish = origin[match.start()], origin[match.end() - 1] + 1
            if finish <= start:
                continue
            if begin >= end:
                break
            begin, finish = max(begin, position), min(finish, end)
            if begin > position:
                pieces.append((text[position:begin], False))
            pieces.append((text[begin:finish], True))
            position = finish
    if position < end:
        pieces.append((text[position:end], False))
    return pieces, start, end


class Result(NamedTuple):
    """A search result as the page shows it."""

    url: str
    title: str
    published: str  # ISO 8601, local time
    date: str  # as the site writes dates
    categories: list  # (name, url), by name
    excerpt: str  # HTML: the snippet, escaped, its matches in <mark>


def _marked(pieces):
    """A snippet's pieces as HTML, escaped, the matches marked: written here rather
    than looped over in the template, which cost a page a millisecond for its ten."""
    return mark_safe("".join(f"<mark>{escape(text)}</mark>" if is_match else escape(text) for text, is_match in pieces))


def _rows(build):
    """`build(pks)` compiled for each number of posts a page shows."""
    return Compiled(lambda count, **pks: build([pks[f"pk_{number}"] for number in range(count)]), static=("count",))


_TEXTS = _rows(
    lambda pks: Post.objects.filter(pk__in=pks)
    .order_by()
    .values_list("pk", "title", "slug", "published_at", "description", "body_text")
)
_CATEGORIES = _rows(
    lambda pks: Post.categories.through.objects.filter(post_id__in=pks)
    .order_by("category__name")
    .values_list("post_id", "category__name", "category__slug")
)
_SLUG = "kiji-slug"


def _urls(name):
    """A function from a slug to the URL of `name` for it: `reverse()` once, as each of
    some twenty links a page cost a tenth of a millisecond. The slug is quoted as
    `reverse()` quotes it."""
    pattern = reverse(name, kwargs={"slug": _SLUG})
    before, after = pattern.split(_SLUG)
    return lambda slug: before + quote(slug, safe=RFC3986_SUBDELIMS + "/~:@") + after


def results(pks, query, width=120):
    """The `Result` of each post of `pks`, in that order, in two queries: the posts'
    fields and text, their categories. No model is made for them (that, and the
    categories' managers, cost a page more than its excerpts)."""
    pks = list(pks)
    if not pks:
        return []
    numbered = {f"pk_{number}": pk for number, pk in enumerate(pks)}
    rows = {pk: rest for pk, *rest in _TEXTS.rows(count=len(pks), **numbered)}
    post_url, category_url = _urls("posts:detail"), _urls("posts:category")
    categories = {}
    for post_id, name, slug in _CATEGORIES.rows(count=len(pks), **numbered):
        categories.setdefault(post_id, []).append((name, category_url(slug)))
    date_format = formats.get_format("DATE_FORMAT")
    found = []
    for pk in pks:
        if pk not in rows:
            continue
        title, slug, published_at, description, body_text = rows[pk]
        local = timezone.localtime(published_at)
        found.append(
            Result(
                url=post_url(slug),
                title=title,
                published=dateformat.format(local, "c"),
                date=dateformat.format(local, date_format),
                categories=categories.get(pk, []),
                excerpt=_marked(snippet("\n".join(filter(None, [description, body_text])), query, width)),
            )
        )
    return found
