"""Matching posts through each database's index, ranked: FTS5 on SQLite, tsvectors with
GIN indexes on PostgreSQL, `icontains` elsewhere."""

import operator
from contextlib import contextmanager
from functools import cached_property, partial, reduce
from itertools import combinations

from django.db import connections, transaction
from django.db.models import BooleanField, Case, F, Func, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.lookups import In

from ..models import SearchDocument
from .words import parse

# Search pages rank and count this many results at most; past it they say "1,000+".
MAX_RESULTS = 1000

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

    # Whether a page counts the matches before ranking them (see pages.Paginator).
    count_first = False

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

    @property
    def count_first(self):
        # Ranking reads each post's row, past its body, for its time.
        return self._common

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


def index_for(queryset, phrases):
    return _BACKENDS.get(connections[queryset.db].vendor, _Unindexed)(phrases, queryset.db)


def search(queryset, query):
    """The posts of `queryset` that match `query`, those with more of its parts in the
    title first, then the newest; none for a blank query. Every match is ranked: for
    pages of a search that may find thousands, use `Paginator`."""
    phrases = parse(query)
    if not phrases:
        return queryset.none()
    index = index_for(queryset, phrases)
    return (
        queryset.filter(index.matches())
        .annotate(title_matches=index.title_matches())
        .order_by("-title_matches", "-published_at", "-pk")
    )


@contextmanager
def through_indexes(using):
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
