"""Matching posts through each database's index, ranked: FTS5 on SQLite, tsvectors with
GIN indexes on PostgreSQL, `icontains` elsewhere."""

import operator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import reduce
from itertools import combinations

from django.db import DatabaseError, connections
from django.db.models import BigIntegerField, BooleanField, Case, F, Func, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.lookups import In

from ..models import SearchDocument, published_q
from .words import parse

# Search pages rank and count this many results at most; past it they say "1,000+".
MAX_RESULTS = 1000

# Written so that the database uses its indexes: the FTS5 table on SQLite; on
# PostgreSQL, WHERE expressions that are the indexed expressions, word for word.
_SQLITE_MATCH = "SELECT rowid FROM posts_search WHERE posts_search MATCH %s"
_SQLITE_COUNT = f"SELECT count(*) FROM ({_SQLITE_MATCH} LIMIT %s)"
_POSTGRESQL_DOCUMENTS = "SELECT post_id FROM posts_searchdocument WHERE "
_POSTGRESQL_COUNT = "(SELECT count(*) FROM (SELECT 1 FROM posts_searchdocument WHERE {} LIMIT %s) found)"
_POSTGRESQL_WORDS = "words @@ to_tsquery('simple', %s)"
_POSTGRESQL_TITLE = "title_words @@ to_tsquery('simple', %s)"


class _Terms(dict):
    """The strings a search's queries hand the database, by key ("match_1"), each made
    from the phrases when first asked for: a query reads only a few of them, and there
    are too many choices of titles to make every one for a long query."""

    def __init__(self, phrases, make):
        super().__init__()
        self.phrases, self._make = phrases, make

    def __missing__(self, key):
        name, _, number = key.rpartition("_")
        value = self[key] = self._make(self.phrases, name, int(number))
        return value


def _document_limit(unpublished):
    """How far `found_at_most` counts documents on a site with `unpublished` posts. Past
    MAX_RESULTS of them, counting that far would cost more than the count of published
    posts it spares: then only as far as telling none, or few enough, from more."""
    return MAX_RESULTS + 1 + (unpublished if unpublished <= MAX_RESULTS else 0)


class _Unindexed:
    """Posts found with `icontains` on their own text: no index, for a small site.

    A backend is made from the number of phrases and their `terms` alone, so that its
    queries can be compiled once per shape (see pages.py and posts/compiled.py).
    `icontains` wraps its text in the SQL's parameters, where a compiled query's
    stand-ins would not be found: these queries are built each time."""

    compiled = False

    def __init__(self, size, terms, common=False, unpublished=0):
        """`size` phrases, whose `terms_for()` are `terms`; `common`, as `surveyed()` found;
        `unpublished`, how many posts readers cannot see (see `found_at_most`)."""
        self.size, self.terms, self.common = size, terms, common
        # Whether `limit` documents found mean too many published posts (see
        # `found_at_most`).
        self.bounds, self.limit = unpublished <= MAX_RESULTS, _document_limit(unpublished)

    @staticmethod
    def make_term(phrases, name, number):
        return phrases[number].text  # text_<phrase>

    @classmethod
    def terms_for(cls, phrases):
        return _Terms(phrases, cls.make_term)

    @classmethod
    def surveyed(cls, using, terms, unpublished=0):
        """The index for the phrases of `terms` on the database `using`, having asked it
        what their queries' shape depends on: whether the matches are too many to rank
        (`common`, see `count_first`). `unpublished`: as `__init__`'s."""
        return cls(len(terms.phrases), terms, unpublished=unpublished)

    def found_at_most(self, in_title):
        """How many documents `matches(in_title)`, as far as `limit`, where the index
        counts its own matches cheaply; else None (it cannot tell).

        Documents are of posts published or not: so this is at least the number of
        published posts that match, and, where it reaches `limit` (and `bounds`), they
        are more than MAX_RESULTS: no more than `unpublished` can be among them. Counting the
        documents took a word in 1,700 posts some 0.1 ms (SQLite) or 0.2 ms (PostgreSQL),
        counting the published posts among them 0.4 ms or 1.2 ms; few posts are
        unpublished, in drafts or scheduled."""
        return None

    # Whether a page counts the matches before ranking them, or ranks the first it
    # finds itself (`found_ranked()`), see pages.Paginator.
    count_first = False
    ranks_found = False

    def bounded(self, found):
        # MySQL and MariaDB cannot take a sliced subquery for IN.
        return [pk for pk, in found]

    def matches(self, in_title=0):
        """Posts with every phrase, and `in_title` of them or more in the title."""
        texts = [self.terms[f"text_{number}"] for number in range(self.size)]
        conditions = []
        if in_title:
            # Any `in_title` of them: either of the ways of choosing them, every one.
            choices = combinations([Q(title__icontains=text) for text in texts], in_title)
            conditions.append(reduce(operator.or_, [reduce(operator.and_, chosen) for chosen in choices]))
        # A phrase in the title is in the document too, which begins with the title:
        # with every phrase in the title, the title is all there is to ask.
        if in_title < self.size:
            conditions += [
                Q(title__icontains=text) | Q(description__icontains=text) | Q(body_text__icontains=text)
                for text in texts
            ]
        return reduce(operator.and_, conditions)

    def _in_title(self):
        return [Q(title__icontains=self.terms[f"text_{number}"]) for number in range(self.size)]

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


def _combined(terms, in_title, every, either):
    """Any `in_title` of `terms`: either of the ways of choosing them, every one."""
    return either.join("(" + every.join(chosen) + ")" for chosen in combinations(terms, in_title))


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

    compiled = True

    @property
    def count_first(self):
        # Ranking reads each post's row, past its body, for its time.
        return self.common

    @staticmethod
    def make_term(phrases, name, number):
        expressions = [_fts5(phrase) for phrase in phrases]
        if name == "title":  # title_<phrase>
            return "title : " + expressions[number]
        # match_<in_title>: every phrase, and `in_title` of them in the title; a phrase
        # in the title is in the document too, so with every one there, that is all.
        every = [" AND ".join(expressions)] if number < len(phrases) else []
        title = [f"title : ({_combined(expressions, number, ' AND ', ' OR ')})"] if number else []
        return " AND ".join(every + title)

    def __init__(self, size, terms, common=False, unpublished=0, using=None, found=None):
        """As `_Unindexed`'s; and the database `using` that `found_at_most()` asks,
        which has already counted `found` documents for every phrase. An index built
        into SQL (stand-in terms) has neither."""
        super().__init__(size, terms, common, unpublished)
        self._using, self._found_at_most = using, {} if found is None else {0: found}

    @classmethod
    def surveyed(cls, using, terms, unpublished=0):
        limit = _document_limit(unpublished)
        with connections[using].cursor() as cursor:
            cursor.execute(f"SELECT ({_SQLITE_COUNT}), (SELECT max(rowid) FROM posts_search)", [terms["match_0"], limit])
            found, everything = cursor.fetchone()
        common = min(found, MAX_RESULTS + 1) * _ROWID_COST > (everything or 0)
        return cls(len(terms.phrases), terms, common, unpublished, using=using, found=found)

    def found_at_most(self, in_title):
        # A title's phrase is mostly in none or few of the documents, which need no
        # more counting then.
        if in_title not in self._found_at_most:
            with connections[self._using].cursor() as cursor:
                cursor.execute(_SQLITE_COUNT, [self.terms[f"match_{in_title}"], self.limit])
                (self._found_at_most[in_title],) = cursor.fetchone()
        return self._found_at_most[in_title]

    def bounded(self, found):
        return found

    def _in(self, expression):
        matches = RawSQL(_SQLITE_MATCH, [expression])
        return Q(In(_NoRowid(F("pk")), matches)) if self.common else Q(pk__in=matches)

    def matches(self, in_title=0):
        return self._in(self.terms[f"match_{in_title}"])

    def _in_title(self):
        return [self._in(self.terms[f"title_{number}"]) for number in range(self.size)]


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


class _Cast:
    """For an expression whose SQL already casts to its field's type, so that Django
    does not convert each value again in Python (0.3 ms a page for the thousand rows
    of `found_ranked()`)."""

    convert_value = staticmethod(Func._convert_value_noop)


class _Integer(_Cast, RawSQL):
    def __init__(self, sql, params):
        super().__init__(sql, params, output_field=IntegerField())


class _Microseconds(_Cast, Func):
    """A time as whole microseconds since 1970, which orders as the time does: psycopg
    reads a number in C but a time in Python: a thousand times took 6.2 ms to read,
    as numbers 1.5 ms."""

    template = "(extract(epoch from %(expressions)s) * 1000000)::bigint"
    output_field = BigIntegerField()


class _PostgreSQL(_Unindexed):
    """Posts found through the GIN indexes; a post's title is checked on its own
    document (a short, stored tsvector), never by reading every post whose title has
    the phrase."""

    compiled = True
    ranks_found = True

    def __init__(self, size, terms, common=False, unpublished=0, using=None):
        """As `_Unindexed`'s; and the database `using` that `found_at_most()` asks."""
        super().__init__(size, terms, common, unpublished)
        self._using, self._found_at_most = using, {}

    @classmethod
    def surveyed(cls, using, terms, unpublished=0):
        return cls(len(terms.phrases), terms, unpublished=unpublished, using=using)

    def found_at_most(self, in_title):
        # Asked first for the words anywhere, and then, for a word in too many posts,
        # in a title: both counted in the first round trip, of the several a search's
        # page makes. The queries of a search run through_indexes(), and so do these.
        if in_title not in self._found_at_most:
            levels = [in_title] if in_title > 1 else list(range(min(2, self.size + 1)))
            counts, params = [], []
            for level in levels:
                sql, where = self._documents(level)
                counts.append(_POSTGRESQL_COUNT.format(sql))
                params += [*where, self.limit]
            with connections[self._using].cursor() as cursor:
                cursor.execute(f"SELECT {', '.join(counts)}", params)
                self._found_at_most.update(zip(levels, cursor.fetchone()))
        return self._found_at_most[in_title]

    @staticmethod
    def make_term(phrases, name, number):
        queries = [_tsquery(phrase) for phrase in phrases]
        if name == "phrase":  # phrase_<phrase>
            return queries[number]
        if name == "title":  # title_<in_title>
            return _combined(queries, number, " & ", " | ")
        return " & ".join(queries)  # words_0

    def bounded(self, found):
        return found

    def _documents(self, in_title):
        """The WHERE of the documents that `matches(in_title)`, and its parameters."""
        conditions, params = [], []
        if in_title < self.size:  # as in _Unindexed.matches()
            conditions.append(_POSTGRESQL_WORDS)
            params.append(self.terms["words_0"])
        if in_title:
            conditions.append(_POSTGRESQL_TITLE)
            params.append(self.terms[f"title_{in_title}"])
        return " AND ".join(conditions), params

    def matches(self, in_title=0):
        sql, params = self._documents(in_title)
        return Q(pk__in=RawSQL(_POSTGRESQL_DOCUMENTS + sql, params))

    def found_ranked(self, now, in_title, limit):
        """The first `limit` published posts found, unsorted, as (pk, how many phrases
        in the title, publication time in microseconds): each document found is read
        with its post, once. Ranked by PostgreSQL, the same posts were read three times
        (to find the published ones, to sort them, and for their titles' words), which
        was most of a search page's time in PostgreSQL; and for a word in more than
        MAX_RESULTS posts the ranking is thrown away."""
        sql, params = self._documents(in_title)
        count, count_params = self._title_count()
        return (
            SearchDocument.objects.filter(published_q("post__", at=now))
            .filter(RawSQL(sql, params, output_field=BooleanField()))
            .order_by()
            .values_list("post_id", _Integer(count, count_params), _Microseconds("post__published_at"))[:limit]
        )

    def _title_count(self):
        sql = " + ".join([f"({_POSTGRESQL_TITLE})::int"] * self.size)
        return sql, [self.terms[f"phrase_{number}"] for number in range(self.size)]

    def title_matches(self):
        return _of_document(*self._title_count(), IntegerField())

    def newest(self, queryset, in_title):
        # One subquery per post, which PostgreSQL cannot turn into a join, so that it
        # reads the posts in the queryset's order and stops at the slice's end; the
        # title first, as reading `words` (some 20 kB, from the TOAST table) costs more.
        count, params = self._title_count()
        sql, params = f"({count}) = %s", [*params, in_title]
        if in_title < self.size:  # as in matches()
            sql, params = f"{sql} AND {_POSTGRESQL_WORDS}", [*params, self.terms["words_0"]]
        return queryset.filter(_of_document(sql, params, BooleanField()))


_BACKENDS = {"sqlite": _SQLite, "postgresql": _PostgreSQL}


def index_for(using, phrases, unpublished=0):
    """The index of the database `using`, for `phrases`, on a site where `unpublished`
    posts (or more) are not published (see `found_at_most`)."""
    backend = _BACKENDS.get(connections[using].vendor, _Unindexed)
    return backend.surveyed(using, backend.terms_for(phrases), unpublished)


def search(queryset, query):
    """The posts of `queryset` that match `query`, those with more of its parts in the
    title first, then the newest; none for a blank query. Every match is ranked: for
    pages of a search that may find thousands, use `Paginator`."""
    phrases = parse(query)
    if not phrases:
        return queryset.none()
    index = index_for(queryset.db, phrases)
    return (
        queryset.filter(index.matches())
        .annotate(title_matches=index.title_matches())
        .order_by("-title_matches", "-published_at", "-pk")
    )


@contextmanager
def through_indexes(using):
    """On PostgreSQL, queries that read tables through their indexes.

    PostgreSQL does not count the cost of reading `words` (a tsvector of some 20 kB,
    stored apart from its row) when it weighs reading every document instead of
    using an index, and it overrates a prefix's scan of the GIN index: for "mixtral" in
    100,000 posts it read all 100,000 documents (0.7 s) rather than the 1,034 that the
    index finds (3 ms). With sequential scans off, it uses the index whatever it thinks.
    These queries take milliseconds, so they are not worth JIT compilation (20 ms, for
    the sorts that look costly) or parallel workers (a few ms to start) either.

    The settings are the session's, reset as the block ends: set in a transaction of
    their own, they cost a search's page two round trips more (BEGIN and COMMIT)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or using in _THROUGH_INDEXES.get():
        yield  # a page's ranking and its rest share them (two round trips fewer)
        return
    with connection.cursor() as cursor:
        cursor.execute(_PLANNER_SETTINGS)
    token = _THROUGH_INDEXES.set(_THROUGH_INDEXES.get() | {using})
    try:
        yield
    finally:
        _THROUGH_INDEXES.reset(token)
        try:
            with connection.cursor() as cursor:
                cursor.execute(_PLANNER_RESET)
        except DatabaseError:
            # In a transaction that an error has aborted, its rollback resets them. Out
            # of one, the connection is broken: closed, so that none keeps them.
            if not connection.in_atomic_block:
                connection.close()


_PLANNER_SETTINGS = (
    "SELECT set_config('enable_seqscan', 'off', false), set_config('jit', 'off', false),"
    " set_config('max_parallel_workers_per_gather', '0', false)"
)
_PLANNER_RESET = "RESET enable_seqscan; RESET jit; RESET max_parallel_workers_per_gather"

# The databases whose queries go through_indexes() here and now.
_THROUGH_INDEXES = ContextVar("through_indexes", default=frozenset())
