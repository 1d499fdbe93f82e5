"""Readers' pages from the cache, correct on any number of processes and machines.

`versions` keeps what pages depend on in the database, bumped in the same transaction
as each change; `middleware` answers from the cache in one round trip, sends the old
page while one request makes the new one, and speaks HTTP caching; `purge` tells a CDN.
"""

from .middleware import PageCacheMiddleware, depends_on
from .purge import pages_changed, paths_for
from .versions import LIST, SITE, bump, post_tag, term_tag

__all__ = [
    "LIST",
    "SITE",
    "PageCacheMiddleware",
    "bump",
    "depends_on",
    "pages_changed",
    "paths_for",
    "post_tag",
    "term_tag",
]
