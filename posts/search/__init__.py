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

from .backends import MAX_RESULTS, search
from .excerpts import Result, results, snippet
from .index import INDEXED_VENDORS, index, index_all, rebuild
from .pages import Paginator
from .words import document, tokens

__all__ = [
    "INDEXED_VENDORS",
    "MAX_RESULTS",
    "Paginator",
    "Result",
    "document",
    "index",
    "index_all",
    "rebuild",
    "results",
    "search",
    "snippet",
    "tokens",
]
