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
is saved, and the database indexes them (migrations 0004 and 0011 create what is named
here):

- SQLite: the FTS5 table `posts_search` over posts_searchdocument, kept in step by
  triggers on that table; queries are FTS5 phrases (`"量子 子コ"`, `"rtx"*`).
- PostgreSQL: the columns `words` and `title_words`, generated as
  to_tsvector('simple', title || ' ' || body) and to_tsvector('simple', title) and
  stored, each with a GIN index (the migrations say why they are built so); queries are
  tsqueries (`'量子' <-> '子コ'`, `'rtx':*`). A tsvector keeps positions up to 16,383 and
  256 positions per word, so in a very long post a phrase may be missed far down the body.
- Other databases keep no documents and search with `icontains` on the post's own
  title, description and text: no index, no normalisation, fine for a small site.

`search()` ranks every match. The search page uses `Paginator`, which ranks and counts
at most MAX_RESULTS of them, so that a word found in most posts costs a page about what
a rare one does.

Posts changed without `save()` (`QuerySet.update()`, raw SQL) need
`manage.py rebuild_search_index`, as does every post after a change to `tokens()`.
"""

import operator
import re
import unicodedata
from contextlib import contextmanager
from functools import cached_property, partial, reduce
from itertools import combinations, islice
from math import comb, sqrt
from typing import NamedTuple

from django.core import paginator
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import BooleanField, Case, F, Func, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.lookups import In

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
# Search pages rank and count this many results at most; past it they say "1,000+".
MAX_RESULTS = 1000
# Past the posts it ranks, a search page reads the newest posts one by one, checking
# each (on PostgreSQL some 30 µs, for the post's words), but no more than WALK_SCALE × √n
# of them for n results (474 for the first page, 4,743 for the 100th): a word rarer
# than that is found through the index and its posts sorted (some 6 µs a post) instead.
# So neither way costs much more than the better one would have.
WALK_SCALE = 150
# Looking for posts with n or more parts of the query in the title asks for every
# choice of n parts; past this many choices, the posts with fewer are sorted instead.
MAX_TITLE_COMBINATIONS = 20
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
_POSTGRESQL_DOCUMENTS = "SELECT post_id FROM posts_searchdocument WHERE "
_POSTGRESQL_WORDS = "words @@ to_tsquery('simple', %s)"
_POSTGRESQL_TITLE = "title_words @@ to_tsquery('simple', %s)"


class _Unindexed:
    """Posts found with `icontains` on their own text: no index, for a small site."""

    # How queries about titles are put together from one query per phrase.
    _every = staticmethod(partial(reduce, operator.and_))
    _either = staticmethod(partial(reduce, operator.or_))

    def __init__(self, phrases, using):
        self.phrases, self.using = phrases, using

    def matches(self, in_title=0):
        """Posts with every phrase, and `in_title` of them or more in the title."""
        title = None
        if in_title:
            # Any `in_title` of them: either of the ways of choosing them, every one.
            choices = combinations(self._terms(), in_title)
            title = self._either([self._every(chosen) for chosen in choices])
        # A phrase in the title is in the document too, which begins with the title:
        # with every phrase in the title, the title is all there is to ask.
        return self._match(in_title < len(self.phrases), title)

    def _terms(self):
        """One query a phrase, in the database's terms, for `matches()` to combine."""
        return [Q(title__icontains=phrase.text) for phrase in self.phrases]

    def _match(self, every, title):
        conditions = [title] if title else []
        if every:
            conditions += [
                Q(title__icontains=phrase.text)
                | Q(description__icontains=phrase.text)
                | Q(body_text__icontains=phrase.text)
                for phrase in self.phrases
            ]
        return reduce(operator.and_, conditions)

    def _in_title(self):
        return self._terms()

    def title_matches(self):
        """How many of the phrases a post has in its title."""
        return sum(
            (Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField()) for q in self._in_title()),
            start=Value(0),
        )

    def having(self, queryset, in_title, exactly=True):
        """The matches in `queryset` with `in_title` phrases in the title (or more, unless
        `exactly`), found through the index, ranked."""
        lookup = "title_matches" if exactly else "title_matches__gte"
        return (
            queryset.alias(title_matches=self.title_matches())
            .filter(self.matches(in_title), **{lookup: in_title})
            .order_by("-title_matches", "-published_at", "-pk")
        )

    def newest(self, queryset, in_title):
        """The matches in `queryset` with `in_title` phrases in the title, checked post by
        post as `queryset` is read, so that a slice of it reads only as far as it needs."""
        return queryset.alias(title_matches=self.title_matches()).filter(
            self.matches(in_title), title_matches=in_title
        )


def _fts5(phrase):
    quoted = '"' + " ".join(phrase.tokens).replace('"', '""') + '"'
    return quoted + "*" if phrase.prefix else quoted


class _NoRowid(Func):
    """A post's id as SQLite must not use to find the post (`+id`): it then reads the
    posts through the publication index, which holds every column the rule needs."""

    template = "+%(expressions)s"
    output_field = IntegerField()


# What finding a post by its id and reading the rule's columns costs, beside reading an
# entry of the publication index (SQLite, with the columns past a 100 kB body).
_ROWID_COST = 13


class _SQLite(_Unindexed):
    """Posts found in the FTS5 table. SQLite reads a match's posts into a temporary
    index once per query, so checking them as the posts are read costs little.

    For a word in many posts, the posts are read through the publication index and
    each checked against the matches, rather than each match looked up by its id: that
    reads the post's row past its body, and cost a common word's page 12 ms of its 14."""

    _every = staticmethod(lambda terms: "(" + " AND ".join(terms) + ")")
    _either = staticmethod(" OR ".join)

    @cached_property
    def _common(self):
        expression = " AND ".join(map(_fts5, self.phrases))
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                f"SELECT (SELECT count(*) FROM ({_SQLITE_MATCH} LIMIT %s)), (SELECT max(rowid) FROM posts_search)",
                [expression, MAX_RESULTS + 1],
            )
            found, everything = cursor.fetchone()
        return found * _ROWID_COST > (everything or 0)

    def _in(self, expression):
        matches = RawSQL(_SQLITE_MATCH, [expression])
        return Q(In(_NoRowid(F("pk")), matches)) if self._common else Q(pk__in=matches)

    def _terms(self):
        return list(map(_fts5, self.phrases))

    def _match(self, every, title):
        expressions = [" AND ".join(map(_fts5, self.phrases))] if every else []
        expressions += [f"title : ({title})"] if title else []
        return self._in(" AND ".join(expressions))

    def _in_title(self):
        return [self._in("title : " + _fts5(phrase)) for phrase in self.phrases]


def _tsquery(phrase):
    terms = ["'" + token.replace("\\", "\\\\").replace("'", "''") + "'" for token in phrase.tokens]
    if phrase.prefix:
        terms[-1] += ":*"
    return "(" + " <-> ".join(terms) + ")"


def _of_document(sql, params, output_field):
    """`sql` evaluated on the post's search document, for one post at a time."""
    return Subquery(
        SearchDocument.objects.filter(post=OuterRef("pk")).values(
            value=RawSQL(sql, params, output_field=output_field)
        )
    )


class _PostgreSQL(_Unindexed):
    """Posts found through the GIN indexes; a post's title is checked on its own
    document (a short, stored tsvector), never by reading every post whose title has
    the phrase."""

    _every = staticmethod(lambda terms: "(" + " & ".join(terms) + ")")
    _either = staticmethod(" | ".join)

    def _terms(self):
        return list(map(_tsquery, self.phrases))

    def _match(self, every, title):
        conditions, params = [], []
        if every:
            conditions.append(_POSTGRESQL_WORDS)
            params.append(" & ".join(self._terms()))
        if title:
            conditions.append(_POSTGRESQL_TITLE)
            params.append(title)
        return Q(pk__in=RawSQL(_POSTGRESQL_DOCUMENTS + " AND ".join(conditions), params))

    def _title_count(self):
        return " + ".join([f"({_POSTGRESQL_TITLE})::int"] * len(self.phrases)), self._terms()

    def title_matches(self):
        return _of_document(*self._title_count(), IntegerField())

    def newest(self, queryset, in_title):
        # One subquery per post, which PostgreSQL cannot turn into a join, so that it
        # reads the posts in the queryset's order and stops at the slice's end; the
        # title first, as reading `words` (some 20 kB, from the TOAST table) costs more.
        count, params = self._title_count()
        sql, params = f"({count}) = %s", [*params, in_title]
        if in_title < len(self.phrases):  # as in matches()
            sql, params = f"{sql} AND {_POSTGRESQL_WORDS}", [*params, " & ".join(self._terms())]
        return queryset.filter(_of_document(sql, params, BooleanField()))


_BACKENDS = {"sqlite": _SQLite, "postgresql": _PostgreSQL}


def _index(queryset, phrases):
    return _BACKENDS.get(connections[queryset.db].vendor, _Unindexed)(phrases, queryset.db)


def search(queryset, query):
    """The posts of `queryset` that match `query`, those with more of its parts in the
    title first, then the newest; none for a blank query. Every match is ranked: for
    pages of a search that may find thousands, use `Paginator`."""
    phrases = _parse(query)
    if not phrases:
        return queryset.none()
    index = _index(queryset, phrases)
    return (
        queryset.filter(index.matches())
        .annotate(title_matches=index.title_matches())
        .order_by("-title_matches", "-published_at", "-pk")
    )


@contextmanager
def _through_indexes(using):
    """On PostgreSQL, a transaction whose queries read tables through their indexes.

    PostgreSQL does not count the cost of reading `words` (a tsvector of some 20 kB,
    stored apart from its row) when it weighs reading every document instead of
    using an index, and it overrates a prefix's scan of the GIN index: for "mixtral" in
    100,000 posts it read all 100,000 documents (0.7 s) rather than the 1,034 that the
    index finds (3 ms). With sequential scans off, it uses the index whatever it thinks.
    These queries take milliseconds, so they are not worth JIT compilation (20 ms, for
    the sorts that look costly) or parallel workers (a few ms to start) either."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    # No savepoint inside a transaction already open: these queries only read.
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true),"
            " set_config('max_parallel_workers_per_gather', '0', true)"
        )
        yield


class Paginator(paginator.Paginator):
    """`search(queryset, query)` in pages, ranked as it ranks, as far as MAX_RESULTS:
    past that, `count` is MAX_RESULTS and `is_capped` is true.

    Ranking every match of a common word would read tens of thousands of posts; a page
    reads a bounded number instead. The posts with every phrase are fetched through the
    index, up to MAX_RESULTS + 1 of them; if there are more, those with a phrase or more
    in the title; if still too many, with two or more, and so on. The first set that
    fits is ranked in full and comes first. The rest of the results are the posts with
    one phrase fewer in the title, newest first: read from the newest posts one by one,
    which is quick for a word in many of them, or, for a word that few of the newest
    posts have, found through the index and sorted (see WALK_SCALE)."""

    def __init__(self, queryset, query, per_page):
        super().__init__(queryset, per_page, allow_empty_first_page=True)
        self.phrases = _parse(query)

    @cached_property
    def _matcher(self):
        return _index(self.object_list, self.phrases)

    @cached_property
    def _ranking(self):
        """(the ranked posts as (pk, title matches), best first; and, if the results go
        on past them, which: those with this many phrases in the title, or this many or
        more (`having()`'s arguments))."""
        if not self.phrases:
            return [], None
        index = self._matcher
        posts = self.object_list.order_by().prefetch_related(None)
        with _through_indexes(posts.db):
            for in_title in range(len(self.phrases) + 1):
                if in_title > 1 and comb(len(self.phrases), in_title) > MAX_TITLE_COMBINATIONS:
                    return [], (in_title - 1, False)
                # Ranked by the database, which returns two integers a post: loading a
                # thousand timestamps here would take longer than the query.
                found = posts.filter(index.matches(in_title)).values_list("pk", flat=True)[: MAX_RESULTS + 1]
                if not connections[posts.db].features.allow_sliced_subqueries_with_in:
                    found = list(found)  # MySQL and MariaDB
                # Counted before they are ranked: ranking a thousand posts to learn that
                # there are too many cost a common word's page a quarter of its time.
                if (len(found) if isinstance(found, list) else found.count()) > MAX_RESULTS:
                    continue
                rows = list(
                    posts.filter(pk__in=found)
                    .annotate(title_matches=index.title_matches())
                    .order_by("-title_matches", "-published_at", "-pk")
                    .values_list("pk", "title_matches")
                )
                return rows, (in_title - 1, True) if in_title else None
        return [], (len(self.phrases), True)

    @cached_property
    def count(self):
        ranked, rest = self._ranking
        return MAX_RESULTS if rest else len(ranked)

    @property
    def is_capped(self):
        """Whether more posts match than the pages reach."""
        return self._ranking[1] is not None

    def page(self, number):
        number = self.validate_number(number)
        start = (number - 1) * self.per_page
        size = min(self.per_page, self.count - start)
        ranked, rest = self._ranking
        pks = [pk for pk, _ in ranked[start : start + size]]
        if rest and len(pks) < size:
            pks += self._rest(rest, max(0, start - len(ranked)), size - len(pks))
        posts = self.object_list.in_bulk(pks)
        return self._get_page([posts[pk] for pk in pks if pk in posts], number, self)

    def _rest(self, rest, skip, size):
        """The pks of `size` posts of the rest of the results, after `skip` of them."""
        in_title, exactly = rest
        index = self._matcher
        posts = self.object_list.order_by("-published_at", "-pk").prefetch_related(None)
        with _through_indexes(posts.db):
            if exactly:
                # Posts with a phrase in the title are looked for by their titles first,
                # which costs a tenth of reading their words: ten times as far.
                walk = max(1, round(WALK_SCALE * sqrt(skip + size) * (10 if in_title else 1)))
                oldest = list(posts.values_list("published_at", flat=True)[walk - 1 : walk])
                newest = index.newest(posts.filter(published_at__gte=oldest[0]) if oldest else posts, in_title)
                found = list(newest.values_list("pk", flat=True)[skip : skip + size])
                if len(found) == size or not oldest:
                    return found
            # Sorted by the title count first, which no index holds, so that PostgreSQL
            # finds the posts through the GIN index rather than reading them in order.
            ranked = index.having(posts, in_title, exactly)
            return list(ranked.values_list("pk", flat=True)[skip : skip + size])


def _normalised(text):
    """`text` normalised as `tokens()` does, and for each of its characters the index
    of the character of `text` it came from."""
    lowered = text.lower()
    if len(lowered) == len(text) and unicodedata.is_normalized("NFKC", lowered):
        return lowered, range(len(text))
    # Most characters keep their length (full-width Latin letters become ASCII): a
    # run of 16 whose length stays is mapped one to one, the others one by one.
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


def _pattern(phrases):
    """A regular expression for the phrases in normalised text, as the index matches them."""
    alternatives = []
    for phrase in phrases:
        first_kind = phrase.runs[0][0]
        guard = {"letters": f"(?<!{_LETTER})", "digits": r"(?<!\d)"}.get(first_kind, "")
        alternatives.append(guard + r"[\W_]*".join(re.escape(run) for _, run in phrase.runs))
    return re.compile("|".join(alternatives)) if alternatives else None


# Bodies are normalised in pieces this long to find a match and where it came from.
_CHUNK = 512


def _locate(text, pattern):
    """Where in `text` (about: to a piece's start) the first match of `pattern` in its
    normalised form lies, or None. Each piece is normalised once, in C; the pieces
    are matched joined, so that a match across two of them is found too."""
    pieces = [unicodedata.normalize("NFKC", text[start : start + _CHUNK]).lower() for start in range(0, len(text), _CHUNK)]
    first = pattern.search("".join(pieces))
    if first is None:
        return None
    reached = 0
    for number, piece in enumerate(pieces):
        reached += len(piece)
        if reached > first.start():
            return number * _CHUNK
    return 0


def snippet(text, query, width=120):
    """About `width` characters of `text` around the first match of `query`, as
    (text, is_match) pieces, so that a template can mark the matches up."""
    pattern = _pattern(_parse(query))
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


def _pieces(text, pattern, width):
    """(pieces, start, end): `text[start:end]`, about `width` characters around the
    first match of `pattern`, cut into matches and the text between them."""
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
    return pieces, start, end


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
