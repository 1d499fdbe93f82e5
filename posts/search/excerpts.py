"""The excerpt of each result: the text around the first match, the matches marked."""

import re
from typing import NamedTuple

from django.utils.html import escape
from django.utils.safestring import mark_safe

from .. import pages
from ..compiled import Compiled
from ..models import Post
from .normal import Normalised, joins_previous
from .words import LETTER, parse


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


# A body is normalised from its start, this far and then four times as far each time,
# until that holds a match: a match is mostly near the start, and a body may be 2 MB.
_FIRST_READ = 2048


def _read(text, pattern, width):
    """`text` as far as its first match of `pattern` and `width` characters past it (all
    of it where that is further, or nothing matches), normalised."""
    end = _FIRST_READ
    while end < len(text):
        while end < len(text) and joins_previous(text, end):
            end += 1  # a cluster is normalised whole
        normal = Normalised(text[:end])
        found = pattern.search(normal.text) if pattern else None
        if pattern is None or (found and normal.end(found.end() - 1) + width <= end):
            return normal
        end *= 4
    return Normalised(text)


def snippet(text, query, width=120):
    """About `width` characters of `text` around the first match of `query`, as
    (text, is_match) pieces, so that a template can mark the matches up."""
    return _snippet(text, _pattern(parse(query)), width)


def _snippet(text, pattern, width):
    pieces, start, end = _pieces(text, _read(text, pattern, width), pattern, width)
    if start > 0:
        pieces.insert(0, ("…", False))
    if end < len(text):
        pieces.append(("…", False))
    merged = []
    for piece, is_match in pieces:
        if merged and merged[-1][1] == is_match:
            merged[-1] = (merged[-1][0] + piece, is_match)
        else:
            merged.append((piece, is_match))
    return merged


def _pieces(text, normal, pattern, width):
    """(pieces, start, end): `text[start:end]`, about `width` characters around the
    first match of `pattern` in `normal` (the start of `text`, normalised), cut into
    matches and the text between them."""
    first = pattern.search(normal.text) if pattern else None
    start = 0
    if first:
        at = normal.begin(first.start())
        start = max(0, at - width // 4)
        # Begin at a line or Japanese sentence that starts shortly before the match.
        start = max(text.rfind("\n", start, at), text.rfind("。", start, at), start - 1) + 1
    end = min(len(text), start + width)
    pieces, position = [], start
    if first:
        for match in pattern.finditer(normal.text, first.start()):
            begin, finish = normal.begin(match.start()), normal.end(match.end() - 1)
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

    head: str  # HTML: the post's categories, date and title, as stored (posts/pages.py)
    excerpt: str  # HTML: the snippet, escaped, its matches in <mark>


def _marked(pieces):
    """A snippet's pieces as HTML, escaped, the matches marked: written here rather
    than looped over in the template, which cost a page a millisecond for its ten."""
    return mark_safe("".join(f"<mark>{escape(text)}</mark>" if is_match else escape(text) for text, is_match in pieces))


# What a page's excerpts and stored heads are made from, compiled for each number of
# posts a page shows.
_TEXTS = Compiled(
    lambda count, **pks: Post.objects.filter(pk__in=[pks[f"pk_{number}"] for number in range(count)])
    .order_by()
    .values_list("pk", "description", "body_text", "result_html", "rendered"),
    static=("count",),
)


def results(request, pks, query, width=120):
    """The `Result` of each post of `pks`, in that order, for `request`'s reader, in one
    query: the posts' text, and the heads stored when they changed (rendered now for
    staff, and while out of date, as list pages do their cards). Rendering the heads
    for each search cost a page more than its excerpts."""
    pks = list(pks)
    if not pks:
        return []
    rows = _TEXTS.rows(count=len(pks), **{f"pk_{number}": pk for number, pk in enumerate(pks)})
    stored = [(pk, head, rendered) for pk, _, _, head, rendered in rows]
    heads = pages.as_readers_see(request, stored, pages.RESULT_HEAD)
    texts = {pk: "\n".join(filter(None, [description, body_text])) for pk, description, body_text, _, _ in rows}
    pattern = _pattern(parse(query))
    return [Result(heads[pk], _marked(_snippet(texts[pk], pattern, width))) for pk in pks if pk in heads]
