"""How fast `import_hugo` takes over a Hugo site, and how fast it re-reads one.

The benchmark writes a synthetic site of N posts (2,000 by default) shaped like the
blog Kiji replaces: YAML front matter with a cover, categories and a long tail of
tags; a three-line summary followed by a product card in {{< rawhtml >}}; Japanese
prose in 8–15 KB per post; a GitHub table; Python and Bash code; a FAQ with its
FAQPage JSON-LD; links to other posts by file name; and, on a third of the posts,
the closing Amazon/Rakuten search buttons. Each post has its own JPEG cover.

It then imports the site into a throwaway database (a temporary SQLite file, or the
empty database that --database-url names, flushed afterwards), times the first
import and a second, no-change import, and prints:

    first import   the whole takeover: parse, clean, render, save, covers
    re-import      the same site again; every file is unchanged, so this is the
                   cost of reading and hashing the files and checking the database
    posts/s        posts in the site divided by the seconds the step took
    peak RSS       the largest resident memory of this process (site generation
                   included) and of the largest render worker process
    wall time      everything, from the first generated file to the last check

Seeded, so two runs with the same N import the same site; compare figures across
commits on the same machine only. --profile adds a cProfile of the first import's
main process (rendering happens in the workers and is not in it).

    make bench-import N=2000 ARGS="--database-url postgres://…/kiji_bench --json"
"""

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import random
import resource
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SEED = 20260823
COVER_SIZE = (1200, 630)
DISTINCT_COVERS = 50
AMAZON_TAG = "kijibench-22"
RAKUTEN_ID = "0000bench.00000001.0000bench.00000002"


# --- Vocabulary ----------------------------------------------------------------------

CATEGORIES = ["AI News", "AI Tools", "AI Buyer Guide", "ローカルLLM", "開発環境", "週刊まとめ"]

_MODELS = ["Claude", "GPT", "Gemini", "Llama", "Qwen", "DeepSeek", "Mistral", "Phi", "Gemma", "Command R"]
_VERSIONS = ["2", "2.5", "3", "3.5", "4", "4.1", "5"]
_THEMES = [
    "ローカルLLM", "画像生成", "音声認識", "RAG", "AIエージェント", "プロンプト設計",
    "ファインチューニング", "量子化", "ベンチマーク", "AIセキュリティ", "著作権", "AI規制",
    "コード補完", "動画生成", "翻訳AI", "検索AI", "マルチモーダル", "推論コスト",
]  # fmt: skip
_ANGLES = ["入門", "比較", "選び方", "活用術", "最新動向", "導入事例", "トラブル対処"]
_NAMED = [
    "Cursor", "Cline", "Aider", "Ollama", "LM Studio", "vLLM", "llama.cpp", "ComfyUI",
    "Dify", "LangChain", "n8n", "Hugging Face", "Copilot", "Perplexity", "NotebookLM",
    "RTX 4060 Ti 16GB", "RTX 4090", "RTX 5070", "RTX 5090", "M3 Max", "M4 Pro",
    "Mac Studio", "Jetson", "Raspberry Pi", "Python", "TypeScript", "Docker", "WSL2",
    "GenAI", "ツール", "レビュー", "ニュース", "チュートリアル", "資格", "書籍",
]  # fmt: skip
# About 270 tags; earlier ones are drawn far more often (a Zipf tail).
TAGS = _NAMED + [f"{model} {version}" for model in _MODELS for version in _VERSIONS] + [
    f"{theme} {angle}" for theme in _THEMES for angle in _ANGLES
] + [f"{theme}" for theme in _THEMES] + [f"{model}" for model in _MODELS]
_TAG_WEIGHTS = [1 / (rank + 1) for rank in range(len(TAGS))]

SLUG_WORDS = [
    "claude", "code", "local", "llm", "gpu", "guide", "review", "benchmark", "setup",
    "agent", "rag", "vram", "mac", "windows", "tutorial", "comparison", "pricing", "api",
    "update", "security", "qwen", "llama", "gemini", "openai", "deepseek", "aider",
    "ollama", "cursor", "hardware", "memory", "speed", "cost", "workflow", "coding",
    "voice", "image", "video", "search", "privacy", "offline", "server", "cli",
    "budget", "buyer", "tips", "news", "release", "test", "howto", "python",
]  # fmt: skip

PRODUCTS = [
    ("GeForce RTX 4060 Ti 16GB", "RTX 4060 Ti 16GB", "16GBのVRAMで中規模モデルまで手元で回せる、価格と性能の釣り合いが良い一枚"),
    ("GeForce RTX 4090", "RTX 4090", "大きめの量子化モデルも待たずに返ってくる、据え置き機の最上位"),
    ("MacBook Pro M4 Max", "MacBook Pro M4 Max 64GB", "統合メモリの広さがそのまま扱えるモデルの大きさになる"),
    ("Mac Studio", "Mac Studio 128GB", "静かで省電力なまま大型モデルを常駐させたい人向け"),
    ("ゼロから作るDeep Learning", "ゼロから作るDeep Learning 書籍", "仕組みを手を動かして理解したいときの定番"),
    ("Pythonではじめる機械学習", "Python 機械学習 書籍", "前処理から評価まで一通りの流れがつかめる"),
    ("大規模言語モデル入門", "大規模言語モデル 入門 書籍", "LLMの内部を日本語で丁寧に追える一冊"),
    ("USBマイク", "USB コンデンサーマイク", "音声入力の精度はマイクで大きく変わる"),
    ("NVMe SSD 2TB", "NVMe SSD 2TB", "モデルファイルは数十GB単位で増えるので容量に余裕を"),
    ("DDR5 メモリ 64GB", "DDR5 64GB メモリ", "GPUに載りきらない層を逃がす先として効く"),
    ("1000W 電源ユニット", "電源ユニット 1000W 80PLUS GOLD", "GPUを増設するなら最初から余裕のある電源を"),
    ("Raspberry Pi 5", "Raspberry Pi 5 8GB", "小さなエッジ推論の実験台として手頃"),
]  # fmt: skip

# Prose is stitched from three columns, so that paragraphs vary without being copied.
_OPENERS = [
    "今回のアップデート", "新しく公開されたAPI", "手元のPCでの推論", "クラウド版との比較",
    "料金体系の見直し", "公式ドキュメントの記述", "コミュニティの反応", "量子化したモデル",
    "エージェント機能", "長いコンテキストの扱い", "日本語での応答品質", "導入にかかる手間",
    "社内での試験運用", "セキュリティ面の設計", "ライセンスの条件", "開発チームの発表",
]  # fmt: skip
_MIDDLES = [
    "は思っていたより堅実で", "については意見が分かれていますが", "を実際に数日試したところ",
    "は数字だけを見ると地味ですが", "に関しては前の版から大きく変わり", "はまだ荒削りな部分もあり",
    "を他の選択肢と並べてみると", "は使う場面を選ぶものの", "の影響は小さくないので",
    "を仕事で使う前提で考えると",
]  # fmt: skip
_CLOSERS = [
    "、導入を検討する価値は十分にあります。", "、しばらくは様子を見るのが無難です。",
    "、現場の使い勝手が一段よくなりました。", "、設定を一つ変えるだけで体感が変わります。",
    "、個人開発なら今すぐ試してよいと感じました。", "、チームで使うなら運用ルールを先に決めたいところです。",
    "、コスト面での差がはっきり出ます。", "、今後の更新次第で評価が変わりそうです。",
    "、ベンチマークの数字以上に手応えがありました。", "、初心者にも勧めやすい仕上がりです。",
]  # fmt: skip
_ASIDES = [
    "手元の環境は{hw}で、設定はほぼ初期値のままです。",
    "なお、`{cmd}` で最新版に上げてから試しています。",
    "**{tool}と組み合わせる**と、この差はさらに広がります。",
    "詳しい仕様は https://example.com/docs/{word} にまとまっています。",
    "{model}と比べると、応答までの待ち時間が短く感じられました。",
]  # fmt: skip
_SECTIONS = [
    "背景と概要", "何が変わったのか", "実際に試してみた", "競合との比較", "導入時の注意点",
    "料金とライセンス", "向いている人・向いていない人", "今後の展望", "私の見解", "まとめ",
]  # fmt: skip
_QUESTIONS = [
    "{tool}は無料で使えますか？", "{hw}で十分に動きますか？", "{model}から乗り換える価値はありますか？",
    "日本語の精度はどの程度ですか？", "業務で使う際の注意点はありますか？", "オフラインでも動作しますか？",
]  # fmt: skip


# --- The synthetic site ----------------------------------------------------------------


class Writer:
    """Draws the pieces of posts from a seeded random generator."""

    def __init__(self, rng):
        self.rng = rng

    def pick(self, items):
        return self.rng.choice(items)

    def sentence(self):
        if self.rng.random() < 0.2:
            return self.pick(_ASIDES).format(
                hw=self.pick(PRODUCTS[:4])[0],
                cmd=f"pip install -U {self.pick(SLUG_WORDS)}",
                tool=self.pick(_NAMED[:15]),
                word=self.pick(SLUG_WORDS),
                model=f"{self.pick(_MODELS)} {self.pick(_VERSIONS)}",
            )
        return self.pick(_OPENERS) + self.pick(_MIDDLES) + self.pick(_CLOSERS)

    def paragraph(self):
        return "".join(self.sentence() for _ in range(self.rng.randint(2, 6)))

    def question(self):
        return self.pick(_QUESTIONS).format(
            tool=self.pick(_NAMED[:15]), hw=self.pick(PRODUCTS[:4])[0], model=self.pick(_MODELS)
        )

    def title(self, tags):
        first, second = tags[0], self.pick(tags[1:] or _NAMED[:15])
        return self.pick(
            [
                f"{first}を試して分かったこと：{second}と比べた本当の実力",
                f"{first}の最新動向まとめ｜{second}ユーザーが知っておきたい変更点",
                f"失敗しない{first}の選び方と、{second}で組むおすすめ構成",
                f"{first}は買いか？{second}との比較で見えた向き不向き",
            ]
        )


def amazon_url(keyword):
    return f"https://www.amazon.co.jp/s?k={quote(keyword)}&tag={AMAZON_TAG}"


def rakuten_url(keyword):
    search = quote(f"https://search.rakuten.co.jp/search/mall/{quote(keyword)}/", safe="")
    return f"https://hb.afl.rakuten.co.jp/hgc/{RAKUTEN_ID}/?pc={search}&m={search}"


def product_card(name, keyword, reason):
    """The product card the old site placed right after the summary list."""
    button = "padding:10px 18px;color:#fff;text-decoration:none;border-radius:4px;font-size:14px;font-weight:bold"
    return f"""{{{{< rawhtml >}}}}
<div style="border:1px solid #e0e0e0;border-radius:8px;padding:16px;margin:20px 0;background:#fafafa">
<p style="margin:0 0 4px;font-size:13px;color:#888">📦 この記事で取り上げた製品（価格は楽天で確認）</p>
<strong style="font-size:16px">{name}</strong>
<p style="color:#555;margin:8px 0;font-size:14px">{reason}</p>
<div style="display:flex;gap:8px;flex-wrap:wrap">
<a href="{rakuten_url(keyword)}" target="_blank" rel="noopener sponsored" style="{button};background:#bf0000">楽天で価格をチェック</a>
<a href="{amazon_url(keyword)}" target="_blank" rel="noopener sponsored" style="{button};background:#ff9900">Amazonで探す</a>
</div>
<p style="margin:8px 0 0;font-size:11px;color:#aaa">※このボックスにはアフィリエイトリンクが含まれます</p>
</div>
{{{{< /rawhtml >}}}}"""


def closing_buttons(keyword):
    """The older posts' closing block of search buttons, outside any shortcode."""
    button = "padding:8px 16px;color:white;text-decoration:none;border-radius:6px;font-size:14px"
    return f"""📚 **関連情報をもっと知りたい方へ**

<div style="display: flex; gap: 10px; flex-wrap: wrap; margin: 15px 0;">
<a href="{amazon_url(keyword)}" target="_blank" rel="noopener sponsored" style="{button};background:#ff9900">📖 Amazonで関連書籍を見る</a>
<a href="{rakuten_url(keyword)}" target="_blank" rel="noopener sponsored" style="{button};background:#bf0000">🛒 楽天で見る</a>
</div>"""


def comparison_table(writer):
    """A GitHub-flavoured Markdown table comparing three tools."""
    tools = writer.rng.sample(_NAMED[:15], 3)
    rows = ["| 項目 | " + " | ".join(tools) + " |", "|------|" + "|".join("------" for _ in tools) + "|"]
    for label in writer.rng.sample(["料金", "導入の手軽さ", "日本語対応", "オフライン動作", "拡張性", "サポート"], 4):
        cells = [writer.pick(["◎ 非常に良い", "○ 十分", "△ 条件付き", "× 非対応", "無料枠あり", "月額制"]) for _ in tools]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def code_blocks(writer, word):
    """A setup section in Bash and a short Python example, as fenced code."""
    package = f"{word}-toolkit"
    return f"""### 環境構築

```bash
python -m venv .venv && source .venv/bin/activate
pip install {package} httpx
export {word.upper()}_API_KEY="sk-..."  # 実際のキーに置き換える
{word}-cli check --verbose
```

### 最小のコード例

```python
import httpx

from {word.replace("-", "_")}_toolkit import Client

# 長い応答でも途中で切れないよう、タイムアウトは長めにしておく
client = Client(timeout=httpx.Timeout(60.0))


def summarize(text: str, limit: int = {writer.rng.randint(100, 400)}) -> str:
    \"\"\"Return a summary of `text` in at most `limit` characters.\"\"\"
    reply = client.complete(prompt=f"次の文章を要約してください: {{text}}", max_tokens=limit)
    return reply.text.strip()


if __name__ == "__main__":
    print(summarize("ここに要約したい文章を入れます。"))
```"""


def faq(writer):
    """The FAQ section and its FAQPage JSON-LD block."""
    pairs = [(writer.question(), writer.paragraph()) for _ in range(3)]
    section = "## よくある質問\n\n" + "\n\n".join(
        f"### Q{number}: {question}\n\n{answer}" for number, (question, answer) in enumerate(pairs, 1)
    )
    data = {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "mainEntity": [
            {"@type": "Question", "name": q, "acceptedAnswer": {"@type": "Answer", "text": a}} for q, a in pairs
        ],
    }
    script = f'<script type="application/ld+json">\n{json.dumps(data, ensure_ascii=False, indent=2)}\n</script>'
    return section, script


def plan_posts(count, rng):
    """File name, slug (or None), date and tags of every post, in date order."""
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    taken, plans = set(), []  # file names and slugs: none clash, so no post is renamed
    for index in range(count):
        when = start + dt.timedelta(hours=12 * index)
        slug = None
        while True:
            if index % 2 == 0:
                slug = "-".join(rng.sample(SLUG_WORDS, rng.randint(3, 6)))
                name = f"{when:%Y-%m-%d}-{slug}"
            else:
                name = f"{when:%Y-%m-%d}-{rng.getrandbits(32):08x}"
            if name not in taken and slug not in taken:
                break
        taken.update([name, slug or name])
        tags = list(dict.fromkeys(rng.choices(TAGS, weights=_TAG_WEIGHTS, k=rng.randint(3, 6))))
        plans.append({"name": name, "slug": slug, "date": when, "tags": tags})
    return plans


def front_matter(writer, plan):
    """The YAML front matter of one post, between its two `---` lines."""
    lines = ["---", f"title: {json.dumps(writer.title(plan['tags']), ensure_ascii=False)}"]
    lines.append(f"date: {plan['date'].isoformat()}")
    if plan["slug"]:
        lines.append(f'slug: "{plan["slug"]}"')
    if writer.rng.random() < 0.6:
        lines.append(f"description: {json.dumps(writer.sentence() + writer.sentence(), ensure_ascii=False)}")
    lines += [
        "cover:",
        f'  image: "/images/posts/{plan["name"]}.jpg"',
        f'  alt: "{writer.pick(["AI generated thumbnail", "記事のサムネイル画像", ""])}"',
        "  relative: false",
        "categories:",
    ]
    lines += [f'  - "{name}"' for name in writer.rng.sample(CATEGORIES, writer.rng.choice([1, 1, 1, 2]))]
    lines.append("tags:")
    lines += [f"  - {json.dumps(tag, ensure_ascii=False)}" for tag in plan["tags"]]
    return "\n".join(lines + ["---"])


def post_text(writer, index, plans):
    """The whole Markdown file of post `index`, 8–15 KB."""
    rng, plan = writer.rng, plans[index]
    product = writer.pick(PRODUCTS)
    head = "## 3行要約\n\n" + "\n".join(f"- {writer.sentence()}{writer.sentence()}" for _ in range(3))
    head += "\n\n" + product_card(*product)
    faq_section, faq_script = faq(writer)
    word = writer.pick(SLUG_WORDS)
    others = rng.sample(range(len(plans) - 1), min(3, len(plans) - 1))
    links = [plans[other + (other >= index)] for other in others]  # never the post itself
    tail = "---\n\n## あわせて読みたい\n\n" + "\n".join(
        f"- [{other['tags'][0]}の関連記事](/posts/{other['name']}/)" for other in links
    )
    if rng.random() < 1 / 3:
        tail += "\n\n---\n\n" + closing_buttons(writer.pick(PRODUCTS)[1])
    tail += "\n\n" + faq_script

    headings = rng.sample(_SECTIONS, rng.randint(4, 6))
    sections = [[heading, writer.paragraph()] for heading in headings]
    sections.insert(1, ["比較表", writer.paragraph(), comparison_table(writer)])
    sections.insert(2, ["使い方", writer.paragraph(), code_blocks(writer, word)])
    fixed = front_matter(writer, plan), head, faq_section, tail
    size = sum(len(part.encode()) for part in fixed) + sum(len("\n\n".join(s).encode()) for s in sections)
    target = rng.randint(8_000, 15_000)
    while size < target:
        paragraph = writer.paragraph()
        rng.choice(sections).append(paragraph)
        size += len(paragraph.encode()) + 2
    body = "\n\n".join(f"## {heading}\n\n" + "\n\n".join(parts) for heading, *parts in sections)
    return "\n".join([fixed[0], head, "", body, "", faq_section, "", tail, ""])


def make_covers(folder, count, rng):
    """`count` distinct JPEG files of cheap two-colour gradients with a little grain."""
    folder.mkdir(parents=True, exist_ok=True)
    shapes = [
        Image.linear_gradient("L").resize(COVER_SIZE),
        Image.linear_gradient("L").rotate(90).resize(COVER_SIZE),
        Image.radial_gradient("L").resize(COVER_SIZE),
    ]
    shapes.append(Image.blend(shapes[0], shapes[1], 0.5))
    grain = Image.effect_noise(COVER_SIZE, 24)
    paths = []
    for number in range(count):
        shape = Image.blend(shapes[number % len(shapes)], grain, 0.15)
        start, end = ([rng.randrange(256) for _ in range(3)] for _ in range(2))
        bands = [shape.point([a + (b - a) * v // 255 for v in range(256)]) for a, b in zip(start, end)]
        path = folder / f"cover-{number:02d}.jpg"
        Image.merge("RGB", bands).save(path, "JPEG", quality=85)
        paths.append(path)
    return paths


def generate_site(site, count, seed=SEED):
    """Write a Hugo site of `count` posts under `site`; return the bytes of Markdown."""
    rng = random.Random(seed)
    writer = Writer(rng)
    (site / "content" / "posts").mkdir(parents=True)
    (site / "hugo.toml").write_text(
        'baseURL = "https://bench.example.com/"\nlanguageCode = "ja"\ntitle = "Kiji Bench"\n',
        encoding="utf-8",
    )
    covers = make_covers(site / "covers-source", DISTINCT_COVERS, rng)
    images = site / "static" / "images" / "posts"
    images.mkdir(parents=True)
    plans = plan_posts(count, rng)
    total = 0
    for index, plan in enumerate(plans):
        data = post_text(writer, index, plans).encode()
        (site / "content" / "posts" / f"{plan['name']}.md").write_bytes(data)
        # Each post owns its file, as on the real site, though many share their pixels.
        shutil.copyfile(rng.choice(covers), images / f"{plan['name']}.jpg")
        total += len(data)
    shutil.rmtree(site / "covers-source")
    return total


# --- The run ---------------------------------------------------------------------------


def peak_rss_mib(who):
    """Peak resident memory of this process (RUSAGE_SELF) or its largest child."""
    # Linux reports KiB, macOS bytes.
    return resource.getrusage(who).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def database_version(connection):
    """'PostgreSQL 15.20', 'SQLite 3.40.1'."""
    version = ".".join(str(part) for part in connection.get_database_version())
    return f"{connection.display_name} {version}"


def refuse_unless_empty(connection):
    """Stop before migrating if the database holds data: the benchmark flushes it."""
    from django.apps import apps

    tables = set(connection.introspection.table_names())
    # migrate itself fills these two, so a database left by an earlier run has them.
    skipped = {"contenttypes.contenttype", "auth.permission"}
    for model in apps.get_models():
        if model._meta.label_lower in skipped or model._meta.db_table not in tables:
            continue
        if model._default_manager.exists():
            sys.exit(
                f"--database-url: {model._meta.db_table} holds rows; give an empty database, "
                "which the benchmark flushes when it is done."
            )


@contextmanager
def throwaway_database(database_url, workdir):
    """Django on the test settings (production's, with DEBUG off so that no query log
    grows, no HTTPS redirect, and static files that need no `collectstatic`), migrated,
    on a temporary SQLite file in `workdir` or on the empty database `database_url`
    names, which is flushed afterwards. Yields the database connection."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["CACHE_URL"] = "locmem://"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if database_url:
        refuse_unless_empty(connection)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield connection
    finally:
        if database_url:
            call_command("flush", verbosity=0, interactive=False)
        connection.close()


def timed_import(site, profile=False):
    """Seconds `import_hugo` took, and what it reported: at verbosity 0, only problems."""
    from django.core.management import CommandError, call_command

    output = io.StringIO()
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    try:
        call_command("import_hugo", str(site), verbosity=0, stdout=output, stderr=output)
    except CommandError as error:
        sys.exit(f"import_hugo failed: {error}\n{output.getvalue()}")
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs().sort_stats("cumulative")
        print("\nFirst import, main process (render workers not included):", file=sys.stderr)
        stats.print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
    return seconds, output.getvalue()


def counts():
    """How many rows of each kind the import wrote."""
    from posts.models import AffiliateBox, Category, Post, Redirect, Tag

    return {
        "posts": Post.objects.count(),
        "categories": Category.objects.count(),
        "tags": Tag.objects.count(),
        "affiliate_boxes": AffiliateBox.objects.count(),
        "redirects": Redirect.objects.count(),
    }


def run(options, workdir):
    """Generate the site, import it twice and return the figures as a dict."""
    started = time.perf_counter()
    site = workdir / "site"
    site_bytes = generate_site(site, options.posts)
    generated = time.perf_counter() - started

    os.environ["DJANGO_SETTINGS_MODULE"] = "cms.settings"
    os.environ["DATABASE_URL"] = options.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    # Production-like: with DEBUG on, Django would keep a log of every query.
    os.environ["DEBUG"] = "0"
    os.environ["SECRET_KEY"] = "kiji-benchmark-only"
    os.environ["CACHE_URL"] = "locmem://"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from posts.models import AffiliateBox

    if options.database_url:
        refuse_unless_empty(connection)
    try:
        mark = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        migrated = time.perf_counter() - mark
        rss_before = peak_rss_mib(resource.RUSAGE_SELF)

        first, problems = timed_import(site, profile=options.profile)
        after_first = counts()
        if problems or after_first["posts"] != options.posts:
            sys.exit(f"The first import went wrong ({after_first['posts']} of {options.posts} posts):\n{problems}")
        boxes = set(AffiliateBox.objects.values_list("id", flat=True))
        again, problems = timed_import(site)
        # A post that was written again would have had its boxes replaced.
        if problems or counts() != after_first or set(AffiliateBox.objects.values_list("id", flat=True)) != boxes:
            sys.exit(f"The re-import changed the database, though no file changed:\n{problems}")

        return {
            "posts": options.posts,
            "site_megabytes": round(site_bytes / 1e6, 1),
            "first_import": {"seconds": round(first, 2), "posts_per_second": round(options.posts / first, 1)},
            "reimport": {"seconds": round(again, 2), "posts_per_second": round(options.posts / again, 1)},
            "generate_seconds": round(generated, 2),
            "migrate_seconds": round(migrated, 2),
            "wall_seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mib": {
                "before_import": round(rss_before),
                "main": round(peak_rss_mib(resource.RUSAGE_SELF)),
                "largest_worker": round(peak_rss_mib(resource.RUSAGE_CHILDREN)),
            },
            "imported": after_first,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "database": database_version(connection),
        }
    finally:
        if options.database_url:
            call_command("flush", verbosity=0, interactive=False)
        connection.close()


def print_table(result):
    first, again, rss = result["first_import"], result["reimport"], result["peak_rss_mib"]
    imported = result["imported"]
    print(
        f"import_hugo: {result['posts']} posts, {result['site_megabytes']} MB of Markdown, "
        f"{imported['tags']} tags, {imported['affiliate_boxes']} boxes, {imported['redirects']} redirects"
    )
    print(f"  {'':<22}{'seconds':>9}{'posts/s':>10}")
    print(f"  {'first import':<22}{first['seconds']:>9.2f}{first['posts_per_second']:>10.1f}")
    print(f"  {'re-import, no change':<22}{again['seconds']:>9.2f}{again['posts_per_second']:>10.1f}")
    print(f"  {'generate site':<22}{result['generate_seconds']:>9.2f}")
    print(f"  {'migrate':<22}{result['migrate_seconds']:>9.2f}")
    print(f"  {'wall time':<22}{result['wall_seconds']:>9.2f}")
    workers = f"{rss['largest_worker']} MiB largest render worker" if rss["largest_worker"] else "no render workers"
    print(f"  peak RSS: {rss['main']} MiB main ({rss['before_import']} MiB before importing), {workers}")
    print(
        f"  {result['cpus']} CPUs · Python {result['python']} · Django {result['django']} · {result['database']}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--posts", type=int, default=2000, help="Posts in the generated site (default 2000).")
    parser.add_argument(
        "--database-url",
        help="An existing, empty database to use instead of a temporary SQLite file; flushed afterwards.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the site, media and SQLite file; print where.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="Profile the first import's main process with cProfile, on stderr (it runs about twice as slow).",
    )
    options = parser.parse_args(argv)
    if options.posts < 2:
        parser.error("--posts: give at least 2, so that posts have others to link to")

    workdir = Path(tempfile.mkdtemp(prefix="kiji-bench-"))
    try:
        result = run(options, workdir)
        if options.json:
            print(json.dumps(result, indent=2, ensure_ascii=False))
        else:
            print_table(result)
    finally:
        sys.stdout.flush()
        if options.keep:
            print(f"Kept the site, media and any SQLite file in {workdir}", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
