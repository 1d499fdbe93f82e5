"""Site search that finds Japanese as well as English, in titles, descriptions and bodies.

Japanese has no spaces between words, so the index holds overlapping pairs of
characters instead: 「量子コンピュータ」 is indexed as 量子 子コ コン ンピ ピュ ュー ータ タ,
and a query's pairs must appear one after another, as a phrase. Each run of such
characters also ends with its last character alone (the タ above), so that a
one-character query finds a character at the end of a run (「大量。」) as well as inside
one. Latin words and numbers are words of their own ("RTX4090" is rtx 4090, as
"RTX 4090" is), and the last word of a query matches as a prefix ("409" finds 4090).
Parts of a query separated by spaces must all match, anywhere in the post.

A post's words are kept in its SearchDocument, written by `index()` whenever the post
is saved, and the database indexes them (migration 0004 creates what is named here):

- SQLite: the FTS5 table `posts_search` over posts_searchdocument, kept in step by
  triggers on that table; queries are FTS5 phrases (`"量子 子コ"`, `"rtx"*`).
- PostgreSQL: the column `words`, generated as to_tsvector('simple', title || ' ' || body)
  and stored, with a GIN index, and a GIN index on to_tsvector('simple', title) for
  ranking (the migration says why they are built so); queries are tsqueries
  (`'量子' <-> '子コ'`, `'rtx':*`). A tsvector keeps positions up to 16,383 and 256
  positions per word, so in a very long post a phrase may be missed far down the body.
- Other databases keep no documents and search with `icontains` on the post's own
  title, description and text: no index, no normalisation, fine for a small site.

Posts changed without `save()` (`QuerySet.update()`, raw SQL) need
`manage.py rebuild_search_index`, as does every post after a change to `tokens()`.
"""

import re
import unicodedata
from itertools import islice
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL

from .models import Post, SearchDocument

# Scripts written without spaces, after NFKC (which turns full-width Latin letters and
# digits into ASCII and half-width katakana into full-width).
_CJK = (
    "\u1100-\u11ff"  # Hangul jamo
    "\u3005-\u3007"  # 々 〆 〇
    "\u3040-\u309f"  # hiragana
    "\u30a1-\u30fa\u30fc-\u30ff"  # katakana with ー, without the middle dot ・
    "\u3130-\u318f"  # Hangul compatibility jamo
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\uac00-\ud7af"  # Hangul syllables
    "\U00020000-\U0003134f"  # Han extensions B to H
)
_LETTER = rf"[^\W\d_{_CJK}]"
_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<digits>\d+)|(?P<letters>{_LETTER}+)")

# Longer queries are cut, so that no query costs more than a few phrases do.
MAX_QUERY_LENGTH = 200
# Where SearchDocument is kept and indexed; elsewhere search falls back to icontains.
INDEXED_VENDORS = {"sqlite", "postgresql"}


def _runs(text):
    """(kind, run) for each CJK run, number and Latin word of `text`, normalised."""
    for match in _RUN.finditer(unicodedata.normalize("NFKC", text).lower()):
        yield match.lastgroup, match.group()


def _bigrams(run):
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _run_tokens(kind, run):
    return _bigrams(run) + [run[-1]] if kind == "cjk" else [run]


def tokens(text):
    """The words the index holds for `text`: Latin words, numbers, CJK character pairs."""
    return [token for run in _runs(text) for token in _run_tokens(*run)]


def document(title, description, body_text):
    """A search document's (title, body): the words of each, separated by spaces."""
    return " ".join(tokens(title)), " ".join(tokens(f"{description}\n{body_text}"))


def _save(document_model, rows, using):
    document_model.objects.using(using).bulk_create(
        [document_model(post_id=pk, title=title, body=body) for pk, title, body in rows],
        update_conflicts=True,
        unique_fields=["post"],
        update_fields=["title", "body"],
    )


def index(post):
    """Store `post`'s words for search (Post.save calls this)."""
    using = post._state.db
    if connections[using].vendor in INDEXED_VENDORS:
        _save(SearchDocument, [(post.pk, *document(post.title, post.description, post.body_text))], using)


def index_all(posts, document_model=SearchDocument, batch_size=500):
    """Store the words of every post in `posts`, in batches; return how many, or None
    where the database searches without an index. Takes the document model so that a
    migration can pass its historical one."""
    if connections[posts.db].vendor not in INDEXED_VENDORS:
        return None
    rows = posts.order_by("pk").values_list("pk", "title", "description", "body_text")
    rows, count = rows.iterator(chunk_size=batch_size), 0
    while batch := list(islice(rows, batch_size)):
        _save(document_model, [(pk, *document(*fields)) for pk, *fields in batch], posts.db)
        count += len(batch)
    return count


def rebuild(using=DEFAULT_DB_ALIAS):
    """Write every post's document again; on SQLite, then rebuild the FTS5 table from
    the documents, which also mends it should it ever have fallen out of step.
    Returns what `index_all` does."""
    count = index_all(Post.objects.using(using).all())
    if count is not None and connections[using].vendor == "sqlite":
        with connections[using].cursor() as cursor:
            cursor.execute("INSERT INTO posts_search (posts_search) VALUES ('rebuild')")
    return count


class _Phrase(NamedTuple):
    text: str  # as typed, for databases without an index
    runs: list  # (kind, run), normalised
    tokens: list
    prefix: bool  # whether the last token may begin a longer word


def _parse(query):
    """The query's whitespace-separated parts as phrases, parts without words dropped.

    Every run but the last is complete, so it has the tokens a document would have.
    The last may go on in the document: a word or number matches as a prefix; CJK
    matches by its pairs, or, a single character, as the prefix of a pair."""
    phrases = []
    for part in query[:MAX_QUERY_LENGTH].split():
        runs = list(_runs(part))
        if not runs:
            continue
        *complete, (kind, last) = runs
        words = [token for run in complete for token in _run_tokens(*run)]
        prefix = kind != "cjk" or len(last) == 1
        words += [last] if prefix else _bigrams(last)
        phrases.append(_Phrase(part, runs, words, prefix))
    return phrases


# Written so that the database uses its indexes: the FTS5 table on SQLite; on
# PostgreSQL, WHERE expressions that are the indexed expressions, word for word.
_SQLITE_MATCH = "SELECT rowid FROM posts_search WHERE posts_search MATCH %s"
_POSTGRESQL_MATCH = "SELECT post_id FROM posts_searchdocument WHERE words @@ to_tsquery('simple', %s)"
_POSTGRESQL_TITLE_MATCH = (
    "SELECT post_id FROM posts_searchdocument WHERE to_tsvector('simple', title) @@ to_tsquery('simple', %s)"
)


def _fts5(phrase):
    quoted = '"' + " ".join(phrase.tokens).replace('"', '""') + '"'
    return quoted + "*" if phrase.prefix else quoted


def _sqlite(phrases):
    """(posts matching, [posts with phrase i in the title]) as Q objects."""
    expression = " AND ".join(map(_fts5, phrases))
    return Q(pk__in=RawSQL(_SQLITE_MATCH, [expression])), [
        Q(pk__in=RawSQL(_SQLITE_MATCH, ["title : " + _fts5(phrase)])) for phrase in phrases
    ]


def _tsquery(phrase):
    terms = ["'" + token.replace("\\", "\\\\").replace("'", "''") + "'" for token in phrase.tokens]
    if phrase.prefix:
        terms[-1] += ":*"
    return "(" + " <-> ".join(terms) + ")"


def _postgresql(phrases):
    return Q(pk__in=RawSQL(_POSTGRESQL_MATCH, [" & ".join(map(_tsquery, phrases))])), [
        Q(pk__in=RawSQL(_POSTGRESQL_TITLE_MATCH, [_tsquery(phrase)])) for phrase in phrases
    ]


def _unindexed(phrases):
    matches = Q()
    for phrase in phrases:
        matches &= (
            Q(title__icontains=phrase.text)
            | Q(description__icontains=phrase.text)
            | Q(body_text__icontains=phrase.text)
        )
    return matches, [Q(title__icontains=phrase.text) for phrase in phrases]


_BACKENDS = {"sqlite": _sqlite, "postgresql": _postgresql}


def search(queryset, query):
    """The posts of `queryset` that match `query`, those with more of its parts in the
    title first, then the newest; none for a blank query."""
    phrases = _parse(query)
    if not phrases:
        return queryset.none()
    matches, in_title = _BACKENDS.get(connections[queryset.db].vendor, _unindexed)(phrases)
    title_matches = sum(
        (Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField()) for q in in_title),
        start=Value(0),
    )
    return (
        queryset.filter(matches)
        .annotate(title_matches=title_matches)
        .order_by("-title_matches", "-published_at", "-pk")
    )


def _normalised(text):
    """`text` normalised as `tokens()` does, and for each of its characters the index
    of the character of `text` it came from."""
    lowered = text.lower()
    if len(lowered) == len(text) and unicodedata.is_normalized("NFKC", lowered):
        return lowered, range(len(text))
    normal, origin = [], []
    for position, character in enumerate(text):
        for piece in unicodedata.normalize("NFKC", character).lower():
            normal.append(piece)
            origin.append(position)
    return "".join(normal), origin


def _pattern(phrases):
    """A regular expression for the phrases in normalised text, as the index matches them."""
    alternatives = []
    for phrase in phrases:
        first_kind = phrase.runs[0][0]
        guard = {"letters": f"(?<!{_LETTER})", "digits": r"(?<!\d)"}.get(first_kind, "")
        alternatives.append(guard + r"[\W_]*".join(re.escape(run) for _, run in phrase.runs))
    return re.compile("|".join(alternatives)) if alternatives else None


def snippet(text, query, width=120):
    """About `width` characters of `text` around the first match of `query`, as
    (text, is_match) pieces, so that a template can mark the matches up."""
    pattern = _pattern(_parse(query))
    normal, origin = _normalised(text)
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


def excerpts(posts, query, width=120):
    """(post, snippet) for each of `posts`, their text read in one query (list pages
    defer it)."""
    posts = list(posts)
    texts = dict(
        Post.objects.filter(pk__in=[post.pk for post in posts]).values_list("pk", "body_text")
    )
    return [
        (post, snippet("\n".join(filter(None, [post.description, texts.get(post.pk, "")])), query, width))
        for post in posts
    ]
