"""How fast site search indexes posts and answers queries, on SQLite or PostgreSQL.

The benchmark writes N synthetic Japanese posts (10,000 by default, bodies of about
5,000 characters) straight into a throwaway database (a temporary SQLite file, or the
empty database that --database-url names, flushed afterwards), then prints:

    index all      search.index_all() over every post: split into words, upsert the
                   documents, and the database's own indexing (FTS5 triggers, GIN)
    index one      the mean cost of search.index(post), as Post.save() pays it
    /search/?q=    the whole search page (count, page of ten, excerpts, template),
                   the median of several requests, for common and rare words
    size           what the documents and their index add to the database

The prose is the import benchmark's, interleaved with words drawn, Zipf-like, from a
vocabulary of made-up kanji compounds and katakana words; 「量子計算」, 「鯨骨」, "RTX 3090"
and "Mixtral" are sprinkled into a known share of the posts. Seeded, so two runs with
the same N write the same posts; compare figures across commits on one machine only.

    .venv/bin/python benchmarks/search.py --posts 10000 --database-url postgres://…/kiji_bench
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

from import_hugo import Writer, database_version, throwaway_database  # noqa: E402

SEED = 20261130
BODY_CHARACTERS = 5000
# Word, share of posts it is sprinkled into.
PLANTED = [("量子計算", 0.01), ("鯨骨", 0.005), ("RTX 3090", 0.02), ("Mixtral", 0.01)]
QUERIES = [
    ("量子", "2 characters, in most posts"),
    ("鯨骨", "2 characters, rare"),
    ("量子計", "3 characters, rare"),
    ("量子計算", "4 characters, rare"),
    ("量", "1 character (prefix)"),
    ("RTX 4090", "English, common"),
    ("mixtral", "English, rare"),
    ("rt", "English prefix"),
    ("RTX 3090 量子計算", "two parts"),
    ("存在しない語", "no match"),
]
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


def body(writer, words, weights, planted):
    parts, length = [], 0
    for word in planted:
        parts.insert(writer.rng.randrange(len(parts) + 1), f"ここで{word}についても触れておきます。")
    while length < BODY_CHARACTERS:
        if writer.rng.random() < 0.5:
            picked = writer.rng.choices(words, weights, k=3)
            sentence = f"{picked[0]}と{picked[1]}の関係は、{picked[2]}を考えるうえで欠かせません。"
        else:
            sentence = writer.sentence()
        parts.insert(writer.rng.randrange(len(parts) + 1), sentence)
        length += len(sentence)
        if writer.rng.random() < 0.05:
            parts.append("\n")
    return "".join(parts)


def make_posts(count):
    from django.utils import timezone

    from posts.models import Post

    rng = random.Random(SEED)
    writer = Writer(rng)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    now = timezone.now()
    posts = []
    for number in range(count):
        planted = [word for word, share in PLANTED if rng.random() < share]
        text = body(writer, words, weights, planted)
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


def timed(function, repeat=1):
    """The median seconds `function` took over `repeat` calls, after one call to warm up."""
    function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


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
        from django.db import transaction
        from django.test import Client

        from posts import search
        from posts.models import Post

        make_posts(options.posts)
        characters = sum(len(text) for text in Post.objects.values_list("body_text", flat=True))

        started = time.perf_counter()
        with transaction.atomic():
            search.index_all(Post.objects.all())
        index_all = time.perf_counter() - started
        if connection.vendor == "postgresql":
            # As autovacuum would soon after a bulk load: the GIN index's own statistics
            # are only written by VACUUM, and the planner needs them.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE posts_searchdocument")
                cursor.execute("ANALYZE posts_post")

        sample = list(Post.objects.order_by("?")[:100])
        started = time.perf_counter()
        with transaction.atomic():  # as in the admin, so that no commit is timed
            for post in sample:
                search.index(post)
        index_one = (time.perf_counter() - started) / len(sample)

        client = Client()
        client.get("/")  # the site settings are now cached
        queries = []
        for query, kind in QUERIES:
            response = client.get("/search/", {"q": query})
            assert response.status_code == 200, query
            hits = search.search(Post.objects.published(), query).count()
            seconds = timed(lambda: client.get("/search/", {"q": query}), options.repeat)
            queries.append({"query": query, "kind": kind, "hits": hits, "milliseconds": seconds * 1000})

        return {
            "posts": options.posts,
            "characters": characters,
            "index_all_seconds": index_all,
            "index_one_milliseconds": index_one * 1000,
            "queries": queries,
            "megabytes": database_megabytes(connection),
            "database": database_version(connection),
        }


def print_table(result):
    print(
        f"search: {result['posts']} posts, {result['characters'] / 1e6:.1f} M characters of text, "
        f"{result['database']}"
    )
    print(
        f"  index all  {result['index_all_seconds']:.1f} s "
        f"({result['posts'] / result['index_all_seconds']:.0f} posts/s)"
        f"   index one  {result['index_one_milliseconds']:.1f} ms"
    )
    print(f"  {'/search/?q=…':<30}{'hits':>6}{'ms':>9}")
    for row in result["queries"]:
        print(f"  {row['kind']:<30}{row['hits']:>6}{row['milliseconds']:>9.1f}  {row['query']}")
    print("  size: " + ", ".join(f"{name} {size:.0f} MB" for name, size in result["megabytes"].items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--posts", type=int, default=10_000, help="Posts to write (default 10,000).")
    parser.add_argument(
        "--repeat", type=int, default=5, help="Requests per query; the median is shown (default 5)."
    )
    parser.add_argument(
        "--database-url",
        help="An empty database to use, flushed afterwards (default: a temporary SQLite file).",
    )
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kiji-bench-search-") as workdir:
        print_table(run(options, Path(workdir)))


if __name__ == "__main__":
    main()
