"""The plans of the queries behind each kind of public page, on a database already filled.

Asks for an article, the home page, the busiest tag page and a search through Django's
test client with the page cache off, records every query each one runs, and prints it
with its plan: PostgreSQL's EXPLAIN (ANALYZE, BUFFERS), or SQLite's EXPLAIN QUERY PLAN.
Point it at the database `make bench-serve ARGS="--keep"` leaves behind, or at any
copy of a real site; it only reads.

    .venv/bin/python benchmarks/explain.py --database-url postgres://…/kiji_serve_bench
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="the filled database to read")
    parser.add_argument("--search", default="量子", help="the search word (default 量子)")
    args = parser.parse_args()

    os.environ.update(
        DJANGO_SETTINGS_MODULE="cms.settings",
        SECRET_KEY="benchmark-only",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=args.database_url,
        STATIC_ROOT=tempfile.mkdtemp(prefix="kiji-explain-"),
        CACHE_URL="locmem://",
        PAGE_CACHE_SECONDS="0",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from posts.models import Post, Tag

    call_command("collectstatic", "--noinput", verbosity=0)  # the pages name hashed files
    article = (
        Post.objects.published()
        .exclude(box_markers=[])
        .annotate(tag_count=Count("tags"))
        .filter(tag_count__gt=0)
        .order_by("pk")
        .first()
    )
    tag = Tag.objects.with_post_counts().order_by("-post_count", "pk").first()
    pages = [article.get_absolute_url(), "/", tag.get_absolute_url(), f"/search/?q={args.search}"]
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "

    client = Client()
    for page in pages:
        client.get(page)  # warm: the settings and page versions this process keeps
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)
        print(f"\n=== {page}: {len(queries)} queries")
        for number, query in enumerate(queries.captured_queries, 1):
            sql = query["sql"]
            print(f"\n--- {number}. {sql[:600]}{'…' if len(sql) > 600 else ''}")
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            with connection.cursor() as cursor:
                cursor.execute(prefix + sql)
                for row in cursor.fetchall():
                    print("    " + " | ".join(str(value) for value in row))


if __name__ == "__main__":
    main()
