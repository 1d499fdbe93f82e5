"""How fast site search answers queries, and indexes posts, on SQLite or PostgreSQL.

The benchmark writes N synthetic Japanese posts (10,000 by default, bodies of about
5,000 characters) straight into a throwaway database (a temporary SQLite file, or the
empty database that --database-url names, flushed afterwards), then prints:

    write posts    generating the posts and writing them, in bulk
    index all      search.index_all() over every post (split into words, upsert the
                   documents, the database's own indexing), with PostgreSQL's GIN
                   indexes built after the documents, as migration 0004 builds them
    index one      the mean cost of search.index(post), as Post.save() pays it
    /search/?q=    the whole first page of results as a reader gets it (the count it
                   shows, the page of ten, their excerpts, the template), p50 and p95
                   of --repeat requests per query, the queries taken in turns; and the
                   median of the last page a reader can reach (a quarter as many)
    size           what the documents and their index add to the database

The prose is the import benchmark's, interleaved with words drawn, Zipf-like, from a
vocabulary of made-up kanji compounds and katakana words; 「量子計算」, 「鯨骨」, "RTX 3090"
and "Mixtral" are sprinkled into a known share of the posts. Seeded, so two runs with
the same N write the same posts; compare figures across commits on one machine only.
The timings are of a warm cache: each query is asked once before it is timed. A
database named by --database-url must hold no rows: the benchmark refuses it otherwise.

--explain prints, for each query, the plan of every SQL query its page runs
(PostgreSQL: EXPLAIN (ANALYZE, BUFFERS); SQLite: EXPLAIN QUERY PLAN).

    .venv/bin/python benchmarks/search.py --posts 100000 --database-url postgres://…/kiji_search_bench
"""

import argparse
import itertools
import math
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from import_hugo import Writer, database_version, throwaway_database  # noqa: E402

SEED = 20261130
BODY_CHARACTERS = 5000
# Word, share of posts it is sprinkled into.
PLANTED = [("量子計算", 0.01), ("鯨骨", 0.005), ("RTX 3090", 0.02), ("Mixtral", 0.01)]
QUERIES = [
    ("量子", "Japanese, in most posts"),
    ("鯨骨", "Japanese, rare"),
    ("量子計", "Japanese, 3 chars, rare"),
    ("欠かせ", "Japanese, 3 chars, common"),
    ("量子計算", "Japanese, 4 chars, rare"),
    ("アップデート", "katakana, common"),
    ("量", "Japanese, 1 char (prefix)"),
    ("比較", "Japanese, in many titles"),
    ("claude", "Latin word, common"),
    ("mixtral", "Latin word, rare"),
    ("RTX 4090", "Latin words, common"),
    ("409", "number prefix"),
    ("rt", "Latin prefix"),
    ("RTX 3090 量子計算", "two parts, rare"),
    ("Claude 比較", "two parts, in titles"),
    ("存在しない語", "no match"),
]
# Posts generated and written at a time, so that memory stays flat at any N.
BATCH = 1000
_KANJI = (
    "日本語学習開発環境設定実行速度性能比較評価結果分析検証導入運用管理機能追加更新変更"
    "問題解決方法手順説明資料記事情報技術研究論文発表公開価格費用無料有料契約会社社員"
    "顧客市場規模成長予測計画目標課題対策改善効果品質安全危険注意確認判断理由原因影響"
    "生成画像音声動画文章翻訳要約検索推論学習訓練精度誤差最適化並列処理演算装置記憶容量"
    "電力消費冷却静音小型軽量高速低価格大規模分散協調自律制御認識理解表現知識経験判定"
)
_KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワンガギグゲゴザジズゼゾダデドバビブベボパピプペポー"


def vocabulary(rng, size=5000):
    """Made-up words: kanji compounds and katakana loanwords."""
    words = set()
    while len(words) < size:
        if rng.random() < 0.7:
            words.add("".join(rng.choice(_KANJI) for _ in range(rng.randint(2, 4))))
        else:
            words.add("".join(rng.choice(_KANA) for _ in range(rng.randint(3, 7))))
    return sorted(words)


def body(writer, words, cum_weights, planted):
    parts, length = [], 0
    for word in planted:
        parts.insert(writer.rng.randrange(len(parts) + 1), f"ここで{word}についても触れておきます。")
    while length < BODY_CHARACTERS:
        if writer.rng.random() < 0.5:
            # Cumulative weights draw exactly what the weights would, without summing
            # 5,000 of them at every draw (which took nine tenths of the generation).
            picked = writer.rng.choices(words, cum_weights=cum_weights, k=3)
            sentence = f"{picked[0]}と{picked[1]}の関係は、{picked[2]}を考えるうえで欠かせません。"
        else:
            sentence = writer.sentence()
        parts.insert(writer.rng.randrange(len(parts) + 1), sentence)
        length += len(sentence)
        if writer.rng.random() < 0.05:
            parts.append("\n")
    return "".join(parts)


def make_posts(count):
    """Write `count` published posts, one an hour back from now, without indexing them."""
    from django.utils import timezone

    from posts.models import Post

    rng = random.Random(SEED)
    writer = Writer(rng)
    words = vocabulary(rng)
    cum_weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
    now = timezone.now()
    for start in range(0, count, BATCH):
        posts = []
        for number in range(start, min(count, start + BATCH)):
            planted = [word for word, share in PLANTED if rng.random() < share]
            text = body(writer, words, cum_weights, planted)
            posts.append(
                Post(
                    title=writer.title(rng.sample(words, 2)),
                    slug=f"post-{number}",
                    description=writer.sentence(),
                    body=text,
                    body_text=text,
                    status=Post.Status.PUBLISHED,
                    published_at=now - timezone.timedelta(hours=number),
                )
            )
        # bulk_create skips save(), so nothing is indexed yet.
        Post.objects.bulk_create(posts, batch_size=500)


def index_all(connection):
    """search.index_all() over every post, in one transaction; on PostgreSQL with the
    GIN indexes dropped first and built again after, as migration 0004 builds them over
    existing posts (growing them document by document takes ten times as long)."""
    from django.db import transaction

    from posts import search
    from posts.models import Post

    with transaction.atomic(), connection.cursor() as cursor:
        indexes = []
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE tablename = 'posts_searchdocument' AND indexdef LIKE '%USING gin%'"
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {name}")
        search.index_all(Post.objects.all())
        if indexes:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _, definition in indexes:
            cursor.execute(definition)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # As autovacuum would soon after a bulk load: the GIN indexes' own statistics
            # and the visibility map are only written by VACUUM, and the planner needs them.
            cursor.execute("VACUUM ANALYZE posts_searchdocument")
            cursor.execute("VACUUM ANALYZE posts_post")


def percentile(times, share):
    """The nearest-rank percentile of `times`."""
    ordered = sorted(times)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def time_pages(client, pages, repeat):
    """{(query, page): [seconds per request]}, after one request each to warm up; the
    requests are made in turns, so that no query runs on a cache warmed by asking it
    over and over."""
    for query, page in pages:
        response = client.get("/search/", {"q": query, "page": page})
        assert response.status_code == 200, (query, page)
    times = {key: [] for key in pages}
    for _ in range(repeat):
        for query, page in pages:
            started = time.perf_counter()
            client.get("/search/", {"q": query, "page": page})
            times[query, page].append(time.perf_counter() - started)
    return times


def shown_count(client, query):
    """The count the page shows, as the reader reads it: "518", "1,000+"; "" for none."""
    from django.utils.html import strip_tags

    html = client.get("/search/", {"q": query}).content.decode()
    start = html.find('class="page-header__count"')
    if start < 0:
        return ""
    text = strip_tags(html[html.index(">", start) + 1 : html.index("</p>", start)])
    number = re.search(r"[\d,]+", text).group()
    return number + "+" if "以上" in text or "More than" in text else number


def explain(client, connection, query):
    """The plan of every SQL query that the first page of results for `query` runs."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get("/search/", {"q": query})
    plans = []
    # In one transaction, so that the planner settings the page makes for its queries
    # (set_config(…, true), which lasts until the transaction ends) hold here too.
    with transaction.atomic(), connection.cursor() as cursor:
        for executed in captured.captured_queries:
            sql = executed["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            plans.append(f"{sql}\n{plan}")
    return plans


def database_megabytes(connection):
    """Megabytes of the search documents, their index, and (to compare) the posts."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_total_relation_size('posts_searchdocument'),"
                " pg_relation_size('posts_searchdocument_words'), pg_total_relation_size('posts_post')"
            )
            documents, index, posts = cursor.fetchone()
            return {
                "documents and indexes": documents / 1e6,
                "of which GIN on words": index / 1e6,
                "posts table": posts / 1e6,
            }
        cursor.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
        sizes = dict(cursor.fetchall())
        fts = sum(size for name, size in sizes.items() if name.startswith("posts_search_"))
        documents = sum(size for name, size in sizes.items() if "searchdocument" in name)
        posts = sizes.get("posts_post", 0)
        return {"documents": documents / 1e6, "FTS5 index": fts / 1e6, "posts table": posts / 1e6}


def run(options, workdir):
    with throwaway_database(options.database_url, workdir) as connection:
        from django.conf import settings
        from django.db import transaction
        from django.test import Client

        from posts import search
        from posts.models import Post

        started = time.perf_counter()
        make_posts(options.posts)
        write_posts = time.perf_counter() - started

        started = time.perf_counter()
        index_all(connection)
        index_all_seconds = time.perf_counter() - started

        sample = list(Post.objects.order_by("?")[:100])
        started = time.perf_counter()
        with transaction.atomic():  # as in the admin, so that no commit is timed
            for post in sample:
                search.index(post)
        index_one = (time.perf_counter() - started) / len(sample)

        client = Client()
        client.get("/")  # the site settings are now cached
        hits = {query: search.search(Post.objects.published(), query).count() for query, _ in QUERIES}
        # The last page a reader can reach: as far as the count the page shows.
        last = {
            query: max(1, math.ceil(min(count, search.MAX_RESULTS) / settings.KIJI_POSTS_PER_PAGE))
            for query, count in hits.items()
        }
        times = time_pages(client, [(query, 1) for query, _ in QUERIES], options.repeat)
        last_times = time_pages(client, list(last.items()), max(1, options.repeat // 4))
        queries = []
        for query, kind in QUERIES:
            queries.append(
                {
                    "query": query,
                    "kind": kind,
                    "hits": hits[query],
                    "shown": shown_count(client, query),
                    "p50": percentile(times[query, 1], 0.5) * 1000,
                    "p95": percentile(times[query, 1], 0.95) * 1000,
                    "last_page": last[query],
                    "last_p50": percentile(last_times[query, last[query]], 0.5) * 1000,
                    "plans": explain(client, connection, query) if options.explain else [],
                }
            )

        return {
            "posts": options.posts,
            "write_posts_seconds": write_posts,
            "index_all_seconds": index_all_seconds,
            "index_one_milliseconds": index_one * 1000,
            "repeat": options.repeat,
            "queries": queries,
            "megabytes": database_megabytes(connection),
            "database": database_version(connection),
        }


def print_table(result):
    print(f"search: {result['posts']} posts, {result['database']}")
    print(
        f"  write posts  {result['write_posts_seconds']:.0f} s"
        f"   index all  {result['index_all_seconds']:.0f} s "
        f"({result['posts'] / result['index_all_seconds']:.0f} posts/s)"
        f"   index one  {result['index_one_milliseconds']:.1f} ms"
    )
    print(f"  /search/?q=…, the first page: {result['repeat']} requests per query; the last page a reader can reach: a quarter as many")
    print(f"  {'':<27}{'hits':>7}{'shown':>8}{'p50 ms':>8}{'p95 ms':>8}{'last':>6}{'p50 ms':>8}")
    for row in result["queries"]:
        print(
            f"  {row['kind']:<27}{row['hits']:>7}{row['shown']:>8}{row['p50']:>8.1f}{row['p95']:>8.1f}"
            f"{row['last_page']:>6}{row['last_p50']:>8.1f}  {row['query']}"
        )
    print("  size: " + ", ".join(f"{name} {size:.0f} MB" for name, size in result["megabytes"].items()))
    for row in result["queries"]:
        for plan in row["plans"]:
            print(f"\n--- {row['query']} ({row['kind']})\n{plan}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--posts", type=int, default=10_000, help="Posts to write (default 10,000).")
    parser.add_argument(
        "--repeat", type=int, default=20, help="Timed requests per query (default 20)."
    )
    parser.add_argument(
        "--database-url",
        help="An empty database to use, flushed afterwards (default: a temporary SQLite file).",
    )
    parser.add_argument("--explain", action="store_true", help="Print the plan of every query a page runs.")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kiji-bench-search-") as workdir:
        print_table(run(options, Path(workdir)))


if __name__ == "__main__":
    main()
