"""Search results in pages, bounded however many posts match."""

from contextlib import nullcontext
from functools import cached_property
from math import comb, sqrt

from django.core import paginator
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Subquery
from django.utils import timezone

from ..compiled import Compiled
from ..models import Post, published_q
from ..pagecache import LIST, versions
from . import backends
from .backends import index_for, through_indexes
from .words import parse

# Past the posts it ranks, a search page reads the newest posts one by one, checking
# each (on PostgreSQL some 30 µs, for the post's words), but no more than WALK_SCALE × √n
# of them for n results (474 for the first page, 4,743 for the 100th): a word rarer
# than that is found through the index and its posts sorted (some 6 µs a post) instead.
# So neither way costs much more than the better one would have.
WALK_SCALE = 150
# Looking for posts with n or more parts of the query in the title asks for every
# choice of n parts; past this many choices, the posts with fewer are sorted instead.
MAX_TITLE_COMBINATIONS = 20


def _published(now):
    return Post.objects.published(at=now).order_by()


class _Query:
    """A query of search pages: `build(index, now, **arguments)` returns its values_list.
    Where the database's index allows (SQLite, PostgreSQL), it is compiled once per
    shape of search (the backend, how many phrases, whether they are common, and the
    `static` arguments): building and compiling one of these querysets cost Django about
    a millisecond, several times what the database then takes."""

    SHAPE = ("backend", "phrases", "common")

    def __init__(self, build, *, static=(), **options):
        """`options` are Compiled's (`counted`, `unless_full`): only the compiled
        backends run such queries (SQLite's `count_first`, PostgreSQL's `ranks_found`)."""
        self.build = build
        self.compiled = Compiled(self._built, static=(*self.SHAPE, *static), **options)

    def _built(self, backend, phrases, common, terms, **arguments):
        return self.build(backend(phrases, terms, common), **arguments)

    def rows(self, index, using, **arguments):
        if not index.compiled:
            return list(self.build(index, **arguments).using(using))
        shape = {"backend": type(index), "phrases": index.size, "common": index.common}
        return self.compiled.rows(using, **shape, terms=index.terms, **arguments)


# The posts with every phrase and `in_title` of them in the title, as far as `limit`.
def _found(index, now, in_title, limit):
    return _published(now).filter(index.matches(in_title)).values_list("pk")[:limit]


# How many of them there are, as far as `limit`.
_COUNTED = _Query(_found, static=("in_title", "limit"), counted=True)


def _ranked(index, now, in_title, limit):
    """The same posts ranked: (pk, how many phrases in the title), as far as `limit`.
    Once they have been counted (`count_first`), all of them are ranked, in one pass
    of the publication index; else the first `limit` found, each read by its id."""
    posts = _published(now)
    if not index.count_first:
        posts = posts.filter(pk__in=index.bounded(_found(index, now=now, in_title=in_title, limit=limit)))
    else:
        posts = posts.filter(index.matches(in_title))
    ranked = posts.annotate(title_matches=index.title_matches()).order_by("-title_matches", "-published_at", "-pk")
    return ranked.values_list("pk", "title_matches")[:limit]


_RANKED = _Query(_ranked, static=("in_title", "limit"))
# The first `limit` posts found, with what ranks them (PostgreSQL: see `found_ranked()`);
# None if there are `limit` of them, as there are more than the pages rank.
_FOUND_RANKED = _Query(
    lambda index, now, in_title, limit: index.found_ranked(now, in_title, limit),
    static=("in_title", "limit"),
    unless_full=True,
)


def _newest(index, now, walk, in_title, skip, size):
    """Of the `walk` newest posts, those with `in_title` phrases in the title, newest
    first, after `skip`: none where there are fewer posts than that."""
    newest = _published(now).order_by("-published_at", "-pk")
    # As a subquery the database computes once: the time of the `walk`-th newest post.
    oldest_at = Subquery(newest.values("published_at")[walk - 1 : walk])
    return index.newest(newest.filter(published_at__gte=oldest_at), in_title).values_list("pk")[skip : skip + size]


_NEWEST = _Query(_newest, static=("walk", "in_title", "skip", "size"))
# The posts with `in_title` phrases in the title (or more, unless `exactly`), sorted.
_HAVING = _Query(
    lambda index, now, in_title, exactly, skip, size: (
        index.having(_published(now).order_by("-published_at", "-pk"), in_title, exactly)
        .values_list("pk")[skip : skip + size]
    ),
    static=("in_title", "exactly", "skip", "size"),
)


class Paginator(paginator.Paginator):
    """The published posts that match `query`, in pages of post ids, ranked as
    `search()` ranks, as far as MAX_RESULTS: past that, `count` is MAX_RESULTS and
    `is_capped` is true.

    Ranking every match of a common word would read tens of thousands of posts; a page
    reads a bounded number instead. The posts with every phrase are fetched through the
    index, up to MAX_RESULTS + 1 of them; if there are more, those with a phrase or more
    in the title; if still too many, with two or more, and so on. The index's count of
    each set's documents comes first, and mostly tells without reading a post whether
    the set is empty or too big (see `found_at_most`). The first set that fits is
    ranked in full and comes first. The rest of the results are the posts with
    one phrase fewer in the title, newest first: read from the newest posts one by one,
    which is quick for a word in many of them, or, for a word that few of the newest
    posts have, found through the index and sorted (see WALK_SCALE)."""

    def __init__(self, query, per_page, using=DEFAULT_DB_ALIAS):
        super().__init__((), per_page, allow_empty_first_page=True)
        self.phrases, self.using, self.now = parse(query), using, timezone.now()

    @cached_property
    def _index(self):
        # Counted once per change to the posts, and again when a scheduled one appears
        # or expires: every change to a post, a draft's too, bumps LIST.
        unpublished = versions.current().kept(
            ("count", "unpublished", self.using),
            LIST,
            lambda: Post.objects.using(self.using).exclude(published_q(at=self.now)).count(),
            scheduled=True,
        )
        return index_for(self.using, self.phrases, unpublished)

    def _rows(self, query, **arguments):
        return query.rows(self._index, self.using, now=self.now, **arguments)

    @cached_property
    def _ranking(self):
        """(the ranked posts as (pk, title matches), best first; and, if the results go
        on past them, which: those with this many phrases in the title, or this many or
        more (`having()`'s arguments))."""
        if not self.phrases:
            return [], None
        limit = backends.MAX_RESULTS + 1
        with through_indexes(self.using):
            for in_title in range(len(self.phrases) + 1):
                if in_title > 1 and comb(len(self.phrases), in_title) > MAX_TITLE_COMBINATIONS:
                    return [], (in_title - 1, False)
                rows = self._rank(in_title, limit)
                if rows is not None and len(rows) <= backends.MAX_RESULTS:
                    return rows, (in_title - 1, True) if in_title else None
        return [], (len(self.phrases), True)

    def _rank(self, in_title, limit):
        """The posts `matches(in_title)`, as (pk, title matches), ranked, as far as
        `limit`; or None where they are more than MAX_RESULTS: as the index's count of
        its documents says, or counted first, or not sent."""
        index = self._index
        # Where the index counts its own documents, none found needs no ranking, and as
        # many as its `limit` are more published posts than the pages rank.
        at_most = index.found_at_most(in_title)
        if at_most == 0:
            return []
        if at_most is not None and index.bounds and at_most >= index.limit:
            return None
        if index.ranks_found:
            # More than MAX_RESULTS are not sent: 1,001 rows cost 0.4 ms more to read.
            found = self._rows(_FOUND_RANKED, in_title=in_title, limit=limit)
            if found is None:
                return None
            # As _ranked()'s SQL sorts: title matches, time, id, each the greatest first.
            found.sort(key=lambda row: (row[1], row[2], row[0]), reverse=True)
            return [(pk, title_matches) for pk, title_matches, _ in found]
        # Where ranking costs much more than counting, the matches are counted first
        # (on SQLite, a common word: it read each post's row); unless the documents
        # found are few enough.
        if index.count_first and (at_most is None or at_most > backends.MAX_RESULTS):
            ((counted,),) = self._rows(_COUNTED, in_title=in_title, limit=limit)
            if counted > backends.MAX_RESULTS:
                return None
        # Ranked by the database, which returns two integers a post: SQLite keeps times
        # as text, and loading a thousand of them here would take longer than the query.
        return self._rows(_RANKED, in_title=in_title, limit=limit)

    @cached_property
    def count(self):
        ranked, rest = self._ranking
        return backends.MAX_RESULTS if rest else len(ranked)

    @property
    def is_capped(self):
        """Whether more posts match than the pages reach."""
        return self._ranking[1] is not None

    def page(self, number):
        # The ranking and the rest of the page share the settings of through_indexes().
        with through_indexes(self.using) if self.phrases else nullcontext():
            number = self.validate_number(number)
            pks = self._pks(number)
        # The page holds the posts' ids, best first: `excerpts.results` reads what the
        # page shows of them.
        return self._get_page(pks, number, self)

    def _pks(self, number):
        start = (number - 1) * self.per_page
        size = min(self.per_page, self.count - start)
        ranked, rest = self._ranking
        pks = [pk for pk, _ in ranked[start : start + size]]
        if rest and len(pks) < size:
            pks += self._rest(rest, max(0, start - len(ranked)), size - len(pks))
        return pks

    def _rest(self, rest, skip, size):
        """The pks of `size` posts of the rest of the results, after `skip` of them."""
        in_title, exactly = rest
        page = {"in_title": in_title, "skip": skip, "size": size}
        with through_indexes(self.using):
            if exactly:
                # Posts with a phrase in the title are looked for by their titles first,
                # which costs a tenth of reading their words: ten times as far.
                walk = max(1, round(WALK_SCALE * sqrt(skip + size) * (10 if in_title else 1)))
                found = self._rows(_NEWEST, walk=walk, **page)
                if len(found) == size:
                    return [pk for pk, in found]
            # Sorted by the title count first, which no index holds, so that PostgreSQL
            # finds the posts through the GIN index rather than reading them in order.
            return [pk for pk, in self._rows(_HAVING, exactly=exactly, **page)]
