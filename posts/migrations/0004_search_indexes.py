"""The database's index over the search documents (see posts/search/), and a
document for every post that exists already.

SQLite: an FTS5 table reading its text from posts_searchdocument ("external content")
and kept in step with it by triggers. The documents are already split into words with
spaces between them, so the 'ascii' tokenizer only has to split at the spaces: it
keeps every non-ASCII character inside its word. Django rebuilds a SQLite table to
alter it, which drops its triggers: a later migration that alters
posts_searchdocument must create them again.

PostgreSQL: the column `words`, the document's tsvector, generated and stored (Django's
model does not know it), with a GIN index; and a GIN index on the title's tsvector, for
ranking. Stored rather than indexed as an expression because CJK queries are phrases,
which the index alone cannot decide: PostgreSQL checks each candidate row again, and
computing a long post's tsvector takes milliseconds, where reading the stored one takes
microseconds. Its statistics are switched off: PostgreSQL does not count the cost of
reading a large, compressed tsvector, so, knowing that a word is common, it reads every
document instead of using the index (for 10,000 posts: hundreds of milliseconds against
about ten); without statistics it takes every query for a rare one, and uses the index.
PostgreSQL cannot change the type of `title` or `body` while `words` depends on them:
a migration that does must drop the column first and make it again.

Other databases get neither, and search.py searches them without an index.
"""

from django.db import migrations

from posts import search

SQLITE_AFTER_DOCUMENTS = [
    """CREATE VIRTUAL TABLE posts_search USING fts5(
        title, body, content='posts_searchdocument', content_rowid='post_id', tokenize='ascii'
    )""",
    """CREATE TRIGGER posts_search_insert AFTER INSERT ON posts_searchdocument BEGIN
        INSERT INTO posts_search (rowid, title, body) VALUES (new.post_id, new.title, new.body);
    END""",
    """CREATE TRIGGER posts_search_delete AFTER DELETE ON posts_searchdocument BEGIN
        INSERT INTO posts_search (posts_search, rowid, title, body)
        VALUES ('delete', old.post_id, old.title, old.body);
    END""",
    """CREATE TRIGGER posts_search_update AFTER UPDATE ON posts_searchdocument BEGIN
        INSERT INTO posts_search (posts_search, rowid, title, body)
        VALUES ('delete', old.post_id, old.title, old.body);
        INSERT INTO posts_search (rowid, title, body) VALUES (new.post_id, new.title, new.body);
    END""",
    # Index the documents written before the table existed.
    "INSERT INTO posts_search (posts_search) VALUES ('rebuild')",
]
SQLITE_REVERSE = [
    "DROP TRIGGER posts_search_insert",
    "DROP TRIGGER posts_search_delete",
    "DROP TRIGGER posts_search_update",
    "DROP TABLE posts_search",
]
POSTGRESQL_BEFORE_DOCUMENTS = [
    "ALTER TABLE posts_searchdocument ADD COLUMN words tsvector"
    " GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED",
    "ALTER TABLE posts_searchdocument ALTER COLUMN words SET STATISTICS 0",
]
# Without fastupdate, a saved post goes straight into the index (a few milliseconds
# more per save) instead of into a pending list that every search reads through until
# VACUUM merges it: a hundred saved posts made each search ten times slower.
POSTGRESQL_AFTER_DOCUMENTS = [
    # The documents' foreign keys are checked at commit, and PostgreSQL will not index a
    # table with checks pending: check them now.
    "SET CONSTRAINTS ALL IMMEDIATE",
    "CREATE INDEX posts_searchdocument_words ON posts_searchdocument"
    " USING gin (words) WITH (fastupdate = off)",
    "CREATE INDEX posts_searchdocument_title ON posts_searchdocument"
    " USING gin (to_tsvector('simple', title)) WITH (fastupdate = off)",
    "ANALYZE posts_searchdocument",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX posts_searchdocument_title",
    "DROP INDEX posts_searchdocument_words",
    "ALTER TABLE posts_searchdocument DROP COLUMN words",
]
BEFORE_DOCUMENTS = {"sqlite": [], "postgresql": POSTGRESQL_BEFORE_DOCUMENTS}
# Built over the documents at once, which is faster than growing them document by document.
AFTER_DOCUMENTS = {"sqlite": SQLITE_AFTER_DOCUMENTS, "postgresql": POSTGRESQL_AFTER_DOCUMENTS}
REVERSE = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in REVERSE:
        return
    for statement in BEFORE_DOCUMENTS[vendor]:
        schema_editor.execute(statement)
    search.index_all(
        apps.get_model("posts", "Post").objects.using(schema_editor.connection.alias),
        apps.get_model("posts", "SearchDocument"),
    )
    for statement in AFTER_DOCUMENTS[vendor]:
        schema_editor.execute(statement)


def drop_index(apps, schema_editor):
    for statement in REVERSE.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0003_site_settings_faq_search"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
