"""How fast the admin's tag tools are with a tag list the size of the real site's.

The benchmark writes N tags (5,000 by default; the real blog has 4,367, 3,847 of them
on one post) and 2,000 posts straight into a throwaway database (a temporary SQLite
file, or the empty database that --database-url names, flushed afterwards): ~6% of the
tags unused, ~80% on one post, the rest on many, Zipf-like; 100 groups of names that
differ only in spacing or width ("Model7" / "Model 7" / "Ｍｏｄｅｌ7"). Then it prints,
as the median of several requests by a logged-in superuser:

    duplicates         /admin/posts/tag/duplicates/ (and duplicate_groups() alone)
    changelist         /admin/posts/tag/, sorted by name, by post count, and filtered
                       to the unused tags
    merge a group      one group merged from the duplicates page (POST, then redirect)
    rename             Tag.save() with a new name: a new slug and two redirects
    delete unused      the delete-unused action over every unused tag, once

Seeded, so two runs with the same N write the same data; compare figures across
commits on one machine only.

    .venv/bin/python benchmarks/terms.py --database-url postgres://…/kiji_bench_terms
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from import_hugo import database_version, throwaway_database  # noqa: E402

SEED = 20261130
POSTS = 2000
GROUPS = 100


def tag_names(count, rng):
    """`count` names: 100 duplicate groups of two or three, the rest distinct."""
    names = []
    for number in range(GROUPS):
        names += [f"Model{number}", f"Model {number}"]
        if number % 3 == 0:
            names.append(f"Ｍｏｄｅｌ{number}")
    words = ["生成AI", "ローカルLLM", "GPU", "推論", "画像生成", "エージェント", "RAG", "ベンチマーク"]
    while len(names) < count:
        names.append(f"{rng.choice(words)} {len(names)}")
    return names[:count]


def make_data(count):
    """Tags, posts and the links between them, bulk-written; returns the tag count."""
    from django.utils import timezone

    from posts.models import Post, Tag
    from posts.slugs import urlize

    rng = random.Random(SEED)
    Tag.objects.bulk_create([Tag(name=name, slug=urlize(name)) for name in tag_names(count, rng)], batch_size=1000)
    now = timezone.now()
    Post.objects.bulk_create(
        [
            Post(title=f"記事{number}", slug=f"post-{number}", status=Post.Status.PUBLISHED,
                 published_at=now - timezone.timedelta(hours=number))
            for number in range(POSTS)
        ],
        batch_size=1000,
    )  # fmt: skip
    tags = list(Tag.objects.values_list("pk", flat=True))
    posts = list(Post.objects.values_list("pk", flat=True))
    rng.shuffle(tags)
    unused, once = int(len(tags) * 0.06), int(len(tags) * 0.8)
    common = tags[unused + once :]
    links = {(rng.choice(posts), tag) for tag in tags[unused : unused + once]}
    weights = [1 / rank for rank in range(1, len(common) + 1)]
    for post in posts:
        links.update((post, tag) for tag in rng.choices(common, weights, k=4))
    Post.tags.through.objects.bulk_create(
        [Post.tags.through(post_id=post, tag_id=tag) for post, tag in links], batch_size=2000
    )
    return len(tags), len(links)


def timed(function, repeat):
    """The median milliseconds `function` took over `repeat` calls, after one to warm up."""
    function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def get(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response


def run(options, workdir):
    with throwaway_database(options.database_url, workdir) as connection:
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from posts import terms
        from posts.models import Tag

        tag_count, link_count = make_data(options.tags)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        client = Client()
        client.force_login(get_user_model().objects.create_superuser("bench", "bench@example.com", "pw"))

        result = {"tags": tag_count, "links": link_count, "database": database_version(connection), "rows": []}

        def row(label, milliseconds, queries=None):
            result["rows"].append((label, milliseconds, queries))

        result["groups"] = len(terms.duplicate_groups(Tag))
        def queries(url):
            with CaptureQueriesContext(connection) as captured:
                get(client, url)
            return len(captured)  # now: the next request clears the log

        url = "/admin/posts/tag/duplicates/"
        count = queries(url)
        row("duplicates page", timed(lambda: get(client, url), options.repeat), count)
        row("  duplicate_groups() alone", timed(lambda: terms.duplicate_groups(Tag), options.repeat), 1)
        for label, url in [
            ("changelist by name", "/admin/posts/tag/"),
            ("changelist by post count", "/admin/posts/tag/?o=-3"),
            ("changelist, unused only", "/admin/posts/tag/?posts=0"),
        ]:
            count = queries(url)
            row(label, timed(lambda: get(client, url), options.repeat), count)

        def merge_one():
            group = terms.duplicate_groups(Tag)[0]
            data = {"merging": [term.pk for term in group], "survivor": group[-1].pk, "name": ""}
            started = time.perf_counter()
            response = client.post("/admin/posts/tag/duplicates/", data)
            assert response.status_code == 302
            return time.perf_counter() - started

        row("merge a group (POST)", statistics.median(merge_one() for _ in range(options.repeat)) * 1000)

        renamed = list(Tag.objects.filter(name__startswith="GPU ")[: options.repeat])

        def rename():
            tag = renamed.pop()
            tag.name += " 改"
            tag.save()

        row("rename (Tag.save)", timed(rename, options.repeat - 1))

        unused = list(Tag.objects.filter(posts__isnull=True).values_list("pk", flat=True))
        started = time.perf_counter()
        response = client.post(
            "/admin/posts/tag/?posts=0",
            {"action": "delete_unused", "select_across": "1", "index": "0", "_selected_action": unused[:1]},
        )
        assert response.status_code == 302 and not Tag.objects.filter(posts__isnull=True).exists()
        row(f"delete {len(unused)} unused (action)", (time.perf_counter() - started) * 1000)
        return result


def print_table(result):
    print(
        f"terms: {result['tags']} tags, {result['links']} post-tag links, "
        f"{result['groups']} duplicate groups, {result['database']}"
    )
    print(f"  {'':<34}{'ms':>8}{'queries':>9}")
    for label, milliseconds, queries in result["rows"]:
        print(f"  {label:<34}{milliseconds:>8.1f}{'' if queries is None else queries:>9}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--tags", type=int, default=5000, help="Tags to write (default 5,000).")
    parser.add_argument("--repeat", type=int, default=5, help="Requests per measure; the median is shown (default 5).")
    parser.add_argument(
        "--database-url",
        help="An empty database to use, flushed afterwards (default: a temporary SQLite file).",
    )
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kiji-bench-terms-") as workdir:
        print_table(run(options, Path(workdir)))


if __name__ == "__main__":
    main()
