"""Each post's words, stored for the database's index: on save, in bulk, or all again."""

from itertools import islice

from django.db import DEFAULT_DB_ALIAS, connections

from ..models import Post, SearchDocument
from .words import document

# Where SearchDocument is kept and indexed; elsewhere search falls back to icontains.
INDEXED_VENDORS = {"sqlite", "postgresql"}


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
