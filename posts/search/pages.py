"""Search results in pages, bounded however many posts match."""

from functools import cached_property
from math import comb, sqrt

from django.core import paginator
from django.db import connections

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


class Paginator(paginator.Paginator):
    """`search(queryset, query)` in pages of post ids, ranked as it ranks, as far as
    MAX_RESULTS: past that, `count` is MAX_RESULTS and `is_capped` is true.

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
        self.phrases = parse(query)

    @cached_property
    def _matcher(self):
        return index_for(self.object_list, self.phrases)

    @cached_property
    def _ranking(self):
        """(the ranked posts as (pk, title matches), best first; and, if the results go
        on past them, which: those with this many phrases in the title, or this many or
        more (`having()`'s arguments))."""
        if not self.phrases:
            return [], None
        index = self._matcher
        posts = self.object_list.order_by().prefetch_related(None)
        with through_indexes(posts.db):
            for in_title in range(len(self.phrases) + 1):
                if in_title > 1 and comb(len(self.phrases), in_title) > MAX_TITLE_COMBINATIONS:
                    return [], (in_title - 1, False)
                # Ranked by the database, which returns two integers a post: loading a
                # thousand timestamps here would take longer than the query.
                found = posts.filter(index.matches(in_title)).values_list("pk", flat=True)[: backends.MAX_RESULTS + 1]
                if not connections[posts.db].features.allow_sliced_subqueries_with_in:
                    found = list(found)  # MySQL and MariaDB
                # Where ranking costs much more than counting, the matches are counted
                # first (on SQLite, a common word: it read each post's row).
                if index.count_first and (len(found) if isinstance(found, list) else found.count()) > backends.MAX_RESULTS:
                    continue
                rows = list(
                    posts.filter(pk__in=found)
                    .annotate(title_matches=index.title_matches())
                    .order_by("-title_matches", "-published_at", "-pk")
                    .values_list("pk", "title_matches")
                )
                if len(rows) <= backends.MAX_RESULTS:
                    return rows, (in_title - 1, True) if in_title else None
        return [], (len(self.phrases), True)

    @cached_property
    def count(self):
        ranked, rest = self._ranking
        return backends.MAX_RESULTS if rest else len(ranked)

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
        # The page holds the posts' ids, best first: `excerpts.results` reads what the
        # page shows of them.
        return self._get_page(pks, number, self)

    def _rest(self, rest, skip, size):
        """The pks of `size` posts of the rest of the results, after `skip` of them."""
        in_title, exactly = rest
        index = self._matcher
        posts = self.object_list.order_by("-published_at", "-pk").prefetch_related(None)
        with through_indexes(posts.db):
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
