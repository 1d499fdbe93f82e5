"""A realistic Hugo site to import, with a manifest of what importing it must give.

`generate_site(site_dir, posts)` writes a site shaped like the AI-news blog Kiji takes
over (1,860 posts written by a program, eight a day, PaperMod front matter), scaled to
`posts`, and, unless hostile=False, one file of each hostile kind on top, named
`zz-hostile-<kind>.md`. The Manifest it returns says, file by file, what the importer
must do: the URL the post is served at, or the failure it must report, and the word
its report line must hold. Seeded random only: the same arguments write the same bytes.

What the real site has, and how it is reproduced (counts scale with `posts`; each
maximum is written once, on a post picked for it):

- file names: half date + 8 hex digits, half date + English words, up to 80 characters;
  slugs up to 66; titles up to 229 characters with a long tail; tags up to 36 (a Zipf
  tail of about 1,000); Amazon search keywords up to 47; bodies mostly 8–15 KB, up to 23 KB;
- covers: 1024×576 JPEG or PNG on 1,262 of 1,860 posts, each its own file, three with
  `covers/hugo/<path>` of 101–106 characters; Pollinations URLs (up to 564 characters)
  on 64; the alt text "AI generated thumbnail" on nearly all;
- 32 slugs shared by 120 files (the newest file keeps the slug; one group ties on date);
- the bodies' furniture: 3行要約 and a rawhtml product card, 🛒 sections of 2–5 cards,
  📚 closing buttons, Markdown Amazon (/dp/ and search) and Rakuten links with
  disclosures, GitHub tables, code fences (one showing HTML with a <script>), FAQs with
  FAQPage JSON-LD (a few with a product card inside an answer and in the JSON-LD),
  あわせて読みたい lists (some links to missing posts), weekly digests, straight quotes,
  apostrophes, `--`, `...` and soft line breaks after 。;
- front matter variety: drafts, lastmod, aliases (one off-site), tags as one string,
  an integer title, null and mapping tags, a plain-string cover, a slug to sanitise,
  a `url`, dates without a zone or a time, unknown keys.
"""

import datetime as dt
import io
import json
import random
import re
import statistics
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote

from PIL import Image, ImageDraw, PngImagePlugin

from posts.slugs import urlize

SEED = 20260823
BASE_URL = "https://bench.example.com/"
SITE_TITLE = "Kiji Bench AI Lab"
COVER_SIZE = (1024, 576)
AMAZON_TAG = "kijibench-22"
RAKUTEN_ID = "0000bench.00000001.0000bench.00000002"
# What the YAML python tag would create if a loader ever ran it.
PWNED_MARKER = "/tmp/kiji-sitegen-pwned"
COVER_STORAGE_PREFIX = "covers/hugo/"

# The real site, for scaling the counts and checking the maxima.
REAL_POSTS = 1860
REAL_FIGURES = {
    "file_name": 80,
    "title": 229,
    "slug": 66,
    "tag": 36,
    "keyword": 47,
    "cover_ref": 564,
    "body_bytes": 23_000,
    "covers": 1262,
    "remote_covers": 64,
    "shared_slug_groups": 32,
    "shared_slug_files": 120,
}

JST = dt.timezone(dt.timedelta(hours=9))
START = dt.datetime(2026, 1, 5, tzinfo=JST)
POSTS_PER_DAY = 8
DIGEST_EVERY = 7 * POSTS_PER_DAY

# Hostile kind: (outcome, a word the importer's line for it must hold, cover).
HOSTILE = {
    "impossible-date": ("failed", "2024-02-30", None),
    "nul-byte": ("failed", "binary", None),
    "shift-jis": ("failed", "utf-8", None),
    "bom": ("imported", None, None),
    "crlf": ("imported", None, None),
    "billion-laughs": ("failed", "alias", None),
    "python-tag": ("failed", "yaml", None),
    "traversal-cover": ("imported", "cover", "broken"),
    "traversal-static-cover": ("imported", "cover", "broken"),
    "huge-body": ("failed", "mb", None),
    "polyglot-cover": ("imported", None, "local"),
    "truncated-jpeg-cover": ("imported", "cover", "broken"),
    "exif-gps-cover": ("imported", None, "local"),
    "cmyk-cover": ("imported", None, "local"),
    "grey16-cover": ("imported", None, "local"),
    "gif-script-zip-cover": ("imported", None, "local"),
    "unclosed-front-matter": ("failed", "closed", None),
    "no-front-matter": ("failed", "front matter", None),
}
HOSTILE_COVERS = {
    "traversal-cover": "../../../etc/passwd",
    "traversal-static-cover": "/images/../../secret.png",
    "polyglot-cover": "/images/posts/zz-hostile-polyglot-cover.html",
    "truncated-jpeg-cover": "/images/posts/zz-hostile-truncated-jpeg-cover.jpg",
    "exif-gps-cover": "/images/posts/zz-hostile-exif-gps-cover.jpg",
    "cmyk-cover": "/images/posts/zz-hostile-cmyk-cover.jpg",
    "grey16-cover": "/images/posts/zz-hostile-grey16-cover.png",
    "gif-script-zip-cover": "/images/posts/zz-hostile-gif-script-zip-cover.gif",
}
# Valid posts with a front matter quirk whose report line must hold a word.
QUIRK_WARNINGS = {"offsite-alias": "alias", "odd-tags": "tag"}


# --- The manifest --------------------------------------------------------------------


@dataclass
class FileSpec:
    """One file of the generated site and what importing it must give."""

    key: str  # content/posts/<name>.md
    kind: str  # "valid" or a HOSTILE kind
    outcome: str  # "imported" or "failed"
    url: str | None  # /posts/<slug>/, None when the file must fail
    title: str | None
    draft: bool = False
    cover: str | None = None  # "local", "remote", "broken" or None
    cover_ref: str | None = None  # as written in the front matter
    warning: str | None = None  # a lowercase word the importer's line for this file holds
    shared_slug: bool = False
    # What the figures are measured from, and what a test may look at.
    slug_written: str | None = None
    quirk: str | None = None
    genre: str | None = None  # news, tools, guide, buyer, digest
    aliases: tuple = ()  # on-site aliases, which must redirect to `url`
    tags: tuple = ()
    keywords: tuple = ()  # Amazon search keywords, decoded
    body_bytes: int = 0
    has_description: bool = False
    cover_alt: str | None = None


@dataclass
class Manifest:
    site_dir: Path
    files: list = field(default_factory=list)
    posts: int = 0
    seed: int = SEED

    def valid(self):
        return [spec for spec in self.files if spec.kind == "valid"]

    def hostile(self):
        return [spec for spec in self.files if spec.kind != "valid"]

    def imported(self):
        return [spec for spec in self.files if spec.outcome == "imported"]

    def failed(self):
        return [spec for spec in self.files if spec.outcome == "failed"]

    def published_urls(self):
        """URLs that must answer 200: every imported post that is not a draft."""
        return [spec.url for spec in self.imported() if not spec.draft]

    def by_key(self, key):
        for spec in self.files:
            if spec.key == key:
                return spec
        raise KeyError(key)

    def figures(self):
        """The maxima and counts of the valid posts, measured from what was written."""
        valid = self.valid()
        count = len(valid) or 1
        local = [spec for spec in valid if spec.cover == "local"]
        remote = [spec for spec in valid if spec.cover == "remote"]
        storage = [len(COVER_STORAGE_PREFIX + spec.cover_ref.lstrip("/")) for spec in local]
        sizes = Counter()
        for spec in local:
            with Image.open(self.site_dir / "static" / spec.cover_ref.lstrip("/")) as image:
                sizes["{}x{}".format(*image.size)] += 1
        groups = Counter(spec.slug_written for spec in valid if spec.shared_slug)
        bodies = [spec.body_bytes for spec in valid]
        return {
            "posts": len(valid),
            "hostile_files": len(self.hostile()),
            "file_name": max((len(PurePosixPath(spec.key).name) for spec in valid), default=0),
            "title": max((len(spec.title) for spec in valid), default=0),
            "slug": max((len(spec.slug_written or "") for spec in valid), default=0),
            "tag": max((len(tag) for spec in valid for tag in spec.tags), default=0),
            "keyword": max((len(word) for spec in valid for word in spec.keywords), default=0),
            "cover_ref": max((len(spec.cover_ref or "") for spec in valid), default=0),
            "body_bytes": max(bodies, default=0),
            "body_bytes_median": int(statistics.median(bodies)) if bodies else 0,
            "bodies_8_to_15_kb": round(sum(8_000 <= size <= 15_500 for size in bodies) / count, 3),
            "covers": len(local),
            "covers_share": round(len(local) / count, 3),
            "cover_sizes": dict(sizes),
            "remote_covers": len(remote),
            "remote_share": round(len(remote) / count, 3),
            "cover_storage_path": max(storage, default=0),
            "long_cover_paths": sum(length > 100 for length in storage),
            "ai_alt_share": round(sum(spec.cover_alt == "AI generated thumbnail" for spec in valid if spec.cover) / (sum(bool(spec.cover) for spec in valid) or 1), 3),
            "shared_slug_groups": len(groups),
            "shared_slug_files": sum(groups.values()),
            "without_description": round(sum(not spec.has_description for spec in valid) / count, 3),
            "drafts": sum(spec.draft for spec in valid),
            "weekly_digests": sum(spec.genre == "digest" for spec in valid),
            "tags_distinct": len({tag for spec in valid for tag in spec.tags}),
        }

    def _check(self):
        urls = Counter(spec.url for spec in self.imported())
        clashes = [url for url, times in urls.items() if times > 1]
        if clashes:
            raise RuntimeError(f"sitegen bug: several files served at {clashes[:5]}")


# --- Vocabulary ----------------------------------------------------------------------

SLUG_WORDS = [
    "claude", "code", "local", "llm", "gpu", "guide", "review", "benchmark", "setup", "agent",
    "rag", "vram", "mac", "windows", "tutorial", "comparison", "pricing", "api", "update",
    "security", "qwen", "llama", "gemini", "openai", "deepseek", "aider", "ollama", "cursor",
    "hardware", "memory", "speed", "cost", "workflow", "coding", "voice", "image", "video",
    "search", "privacy", "offline", "server", "cli", "budget", "buyer", "tips", "news",
    "release", "test", "howto", "python", "docker", "wsl2", "linux", "ubuntu", "quantization",
    "gguf", "finetuning", "lora", "embedding", "vector", "database", "prompt", "automation",
    "n8n", "dify", "langchain", "mcp", "browser", "extension", "vscode", "copilot", "terminal",
    "dashboard", "streaming", "latency", "context", "japanese", "translation", "ocr",
    "transcription", "whisper", "diffusion", "comfyui", "flux", "edge", "raspberry", "jetson",
    "workstation", "laptop", "desktop", "beginners", "pro", "advanced", "practical", "first",
    "look", "deep", "dive", "vs", "alternative", "migration", "checklist", "2026", "notebooklm",
    "perplexity", "cline", "vllm", "studio", "rtx", "4090", "5090", "m4", "max",
]  # fmt: skip

HEAD_TAGS = {
    "news": ["GenAI", "速報", "AIニュース"],
    "tools": ["GenAI", "ツール", "レビュー"],
    "guide": ["GenAI", "ガイド", "チュートリアル"],
    "buyer": ["GenAI", "ハードウェア", "買い物ガイド"],
}
_TAG_SUBJECTS = [
    "Claude Code", "ローカルLLM", "Ollama", "Cursor", "ChatGPT", "Gemini", "Claude", "RAG",
    "AIエージェント", "llama.cpp", "Qwen3", "DeepSeek", "GPT-5", "Python", "LangChain", "Dify",
    "n8n", "MCP", "Cline", "Aider", "vLLM", "LM Studio", "ComfyUI", "Stable Diffusion", "FLUX.1",
    "Whisper", "NotebookLM", "Perplexity", "GitHub Copilot", "RTX 4090", "RTX 4060 Ti 16GB",
    "RTX 5090", "Mac Studio", "MacBook Pro", "Apple Silicon", "WSL2", "Docker", "Hugging Face",
    "GGUF", "量子化", "ファインチューニング", "LoRA", "プロンプト", "画像生成", "動画生成", "音声認識",
    "AIセキュリティ", "AI規制", "著作権", "生成AI", "OpenAI API", "Anthropic API", "Gemini API",
    "Gemma 3", "Llama 4", "Mistral", "Phi-4", "Open WebUI", "Raspberry Pi 5", "Jetson Orin",
    "NPU", "Copilot+ PC", "Vertex AI", "Amazon Bedrock", "Azure OpenAI", "PyTorch",
    "Transformers", "ベクトルDB", "Qdrant", "Supabase",
]  # fmt: skip
_TAG_SUFFIXES = ["", " 使い方", " 入門", " 比較", " 選び方", " 料金", " 設定", " 導入", " 活用", " 検証", " 連携", " 高速化", " トラブル", " おすすめ"]
# About 1,000 tags, the bare subjects first; earlier ones are drawn far more often.
TAIL_TAGS = [subject + suffix for suffix in _TAG_SUFFIXES for subject in _TAG_SUBJECTS]
_TAIL_WEIGHTS = [1 / (rank + 1) for rank in range(len(TAIL_TAGS))]
LONGEST_TAG = "Qwen3-Coder-480B-A35B-Instruct ローカル化"  # 36 characters

CATEGORIES = {
    "news": ["AI News"],
    "tools": ["AI Tools"],
    "guide": ["AI Guide", "AI Guide", "GUIDE"],
    "buyer": ["AI Buyer Guide"],
    "digest": ["週刊まとめ", "GUIDE"],
}

# (product name, Amazon/Rakuten search keyword, why it is recommended)
PRODUCTS = [
    ("GeForce RTX 4060 Ti 16GB", "RTX 4060 Ti 16GB", "16GBのVRAMで中規模モデルまで手元で回せる、価格と性能の釣り合いが良い一枚"),
    ("GeForce RTX 4090", "RTX 4090 グラフィックボード", "大きめの量子化モデルも待たずに返ってくる、据え置き機の最上位"),
    ("GeForce RTX 5090", "RTX 5090 32GB", "32GBのVRAMで70Bクラスの量子化モデルにも手が届く"),
    ("MacBook Pro M4 Max", "MacBook Pro M4 Max 64GB", "統合メモリの広さがそのまま扱えるモデルの大きさになる"),
    ("Mac Studio", "Mac Studio 128GB", "静かで省電力なまま大型モデルを常駐させたい人向け"),
    ("Mac mini M4 Pro", "Mac mini M4 Pro 48GB", "机の片隅に置ける推論サーバーとして手頃"),
    ("ゼロから作るDeep Learning", "ゼロから作るDeep Learning 書籍", "仕組みを手を動かして理解したいときの定番"),
    ("Pythonではじめる機械学習", "Python 機械学習 書籍", "前処理から評価まで一通りの流れがつかめる"),
    ("大規模言語モデル入門", "大規模言語モデル 入門 書籍", "LLMの内部を日本語で丁寧に追える一冊"),
    ("LLMのプロンプトエンジニアリング", "プロンプトエンジニアリング 書籍", "指示の書き方を体系立てて学び直せる"),
    ("RAG実践ガイド", "RAG 検索拡張生成 書籍", "検索と生成をつなぐ設計の勘所がまとまっている"),
    ("USBコンデンサーマイク", "USB コンデンサーマイク", "音声入力の精度はマイクで大きく変わる"),
    ("NVMe SSD 2TB", "NVMe SSD 2TB Gen4", "モデルファイルは数十GB単位で増えるので容量に余裕を"),
    ("DDR5 メモリ 64GB", "DDR5 64GB メモリ", "GPUに載りきらない層を逃がす先として効く"),
    ("1000W 電源ユニット", "電源ユニット 1000W 80PLUS GOLD", "GPUを増設するなら最初から余裕のある電源を"),
    ("Raspberry Pi 5", "Raspberry Pi 5 8GB", "小さなエッジ推論の実験台として手頃"),
    ("Jetson Orin Nano", "Jetson Orin Nano 開発者キット", "カメラと組み合わせた画像認識の入口に"),
    ("4Kモニター 27インチ", "4K モニター 27インチ USB-C", "エディタとチャット画面を並べても窮屈にならない"),
    ("メカニカルキーボード", "メカニカルキーボード 静音 日本語配列", "長いプロンプトを打つ日々の疲れが違う"),
    ("ノイズキャンセリングヘッドホン", "ノイズキャンセリング ヘッドホン", "集中して検証したい時間を確保できる"),
    ("AWS認定 テキスト", "AWS 資格 テキスト", "クラウドでAIを動かす前提知識の整理に"),
    ("ChatGPT 活用本", "ChatGPT 活用 書籍", "業務での使いどころを具体例で押さえられる"),
    ("外付けGPUボックス", "外付けGPU ボックス Thunderbolt", "ノートPCでもデスクトップ級のGPUを使える"),
    ("小型NAS", "NAS 2ベイ 家庭用", "学習データとモデルの置き場を一か所にまとめられる"),
]  # fmt: skip
LONGEST_KEYWORD = "GeForce RTX 5090 32GB グラフィックボード 水冷モデル 静音 自作PC向け"  # 47 characters
LONGEST_PRODUCT = ("GeForce RTX 5090 水冷モデル", LONGEST_KEYWORD, "長時間の推論でもファンの音が気にならない水冷版")

_TOOLS = [
    "Claude Code", "Cursor", "Cline", "Aider", "Ollama", "LM Studio", "vLLM", "llama.cpp",
    "ComfyUI", "Dify", "LangChain", "n8n", "NotebookLM", "Perplexity", "GitHub Copilot",
    "Gemini CLI", "Codex CLI", "Open WebUI", "Whisper", "FLUX.1", "Qwen3", "DeepSeek-R1",
    "Llama 4", "Gemma 3", "Mistral Small", "Phi-4", "GPT-5", "Claude Sonnet 4.5", "Gemini 2.5 Pro",
]  # fmt: skip
_COMPANIES = ["OpenAI", "Anthropic", "Google", "Meta", "Microsoft", "NVIDIA", "Apple", "Amazon", "Alibaba", "Mistral AI", "xAI", "ソフトバンク", "NTT", "楽天"]
_HARDWARE = ["RTX 4060 Ti 16GB", "RTX 4090", "RTX 5090", "Mac Studio", "MacBook Pro M4 Max", "Mac mini M4 Pro", "Jetson Orin Nano"]
_TOPICS = [
    "ローカルLLM", "画像生成", "音声認識", "RAG", "AIエージェント", "プロンプト設計", "コード補完",
    "動画生成", "翻訳AI", "検索AI", "マルチモーダル", "推論コスト", "AIセキュリティ", "著作権", "AI規制",
]  # fmt: skip
_TASKS = [
    "ローカルLLMをAPIとして公開", "社内文書を検索できるRAGを構築", "議事録を自動で要約", "画像生成をバッチ処理",
    "コードレビューを自動化", "PDFから表を抜き出す仕組みを作成", "音声を文字起こし", "小さなエージェントを自作",
    "ブラウザ操作を自動化", "評価用のデータセットを作成", "日報の下書きを自動生成",
]  # fmt: skip
_ANGLES = [
    "開発者が今知っておくべきこと", "料金と性能の釣り合いを検証", "現場で使えるかを見極める", "日本語での実力はどうか",
    "O'Reillyの定番書と読み比べて見えたこと", "\"エージェント時代\"の入口に立つ", "小さなチームほど得をする理由",
]  # fmt: skip
_TITLE_FORMS = {
    "news": [
        "{company}が{tool}の新版を発表：{angle}", "{company}、{topic}に本腰　{angle}",
        "{tool}に大型アップデート、{topic}はどう変わるのか", "速報：{company}の{topic}戦略が見えてきた",
    ],
    "tools": [
        "{tool}の実力を検証｜{topic}はどこまで任せられるか", "「{tool}」を使い倒してみた：{angle}",
        "{tool}レビュー：{topic}の常識が変わるかもしれない", "{tool}は\"買い\"か？{topic}目線での評価",
    ],
    "guide": [
        "{tool}で{task}する方法", "{tool}入門：{task}するまでの手順",
        "30分でできる、{tool}を使って{task}する手順", "{tool}と{tool2}で{task}する完全ガイド",
    ],
    "buyer": [
        "{topic}向けPCの選び方｜{tool}を快適に動かす構成", "{tool}を動かすならどれ？失敗しない{hw}選び",
        "{hw}は買いか？{topic}用途での向き不向き",
    ],
}  # fmt: skip
_TITLE_TAILS = [
    "【2026年版】", "｜初心者がつまずく点と回避策", "：1週間使って分かった長所と短所", "、エンジニア目線で検証",
    "（料金・性能・導入手順まで）", "──現場で使うための設定メモ", "を徹底的に比べてみた結果", "｜ローカルとクラウドの両面から",
    "、そして今から準備しておくべきこと", "：VRAM別のおすすめ構成つき", "｜よくある失敗と、その避け方",
    "──個人開発からチーム導入まで", "（2026年春のアップデート対応）", "：競合3製品との違いを整理",
    "｜月額コストを半分にした設定", "、これからAIを仕事に使う人へ",
]  # fmt: skip

_OPENERS = [
    "今回のアップデート", "新しく公開されたAPI", "手元のPCでの推論", "クラウド版との比較", "料金体系の見直し",
    "公式ドキュメントの記述", "コミュニティの反応", "量子化したモデル", "エージェント機能", "長いコンテキストの扱い",
    "日本語での応答品質", "導入にかかる手間", "社内での試験運用", "セキュリティ面の設計", "ライセンスの条件",
    "開発チームの発表", "ベンチマークの数字", "初期設定のまま", "メモリの使われ方", "推論サーバーの構成",
]  # fmt: skip
_MIDDLES = [
    "は思っていたより堅実で", "については意見が分かれていますが", "を実際に数日試したところ",
    "は数字だけを見ると地味ですが", "に関しては前の版から大きく変わり", "はまだ荒削りな部分もあり",
    "を他の選択肢と並べてみると", "は使う場面を選ぶものの", "の影響は小さくないので", "を仕事で使う前提で考えると",
    "は手順さえ押さえれば難しくなく", "を見直しただけで",
]  # fmt: skip
_CLOSERS = [
    "、導入を検討する価値は十分にあります。", "、しばらくは様子を見るのが無難です。", "、現場の使い勝手が一段よくなりました。",
    "、設定を一つ変えるだけで体感が変わります。", "、個人開発なら今すぐ試してよいと感じました。",
    "、チームで使うなら運用ルールを先に決めたいところです。", "、コスト面での差がはっきり出ます。",
    "、今後の更新次第で評価が変わりそうです。", "、ベンチマークの数字以上に手応えがありました。", "、初心者にも勧めやすい仕上がりです。",
]  # fmt: skip
_ASIDES = [
    "手元の環境は{hw}で、設定はほぼ初期値のままです。",
    "なお、`{cmd}` で最新版に上げてから試しています。",
    "**{tool}と組み合わせる**と、この差はさらに広がります。",
    "詳しい仕様は https://example.com/docs/{word} にまとまっています。",
    "{model}と比べると、応答までの待ち時間が短く感じられました。",
]  # fmt: skip
# Straight quotes, apostrophes, -- and ...: what goldmark's typographer rewrites.
_TYPOGRAPHIC = [
    "O'Reillyの定番書でも触れられている考え方ですが、\"小さく試して早く捨てる\"が結局いちばんの近道です。",
    "設定の `max_tokens` は 4096 -- 8192 の間で様子を見ると安定しました。",
    "ログには \"context window exceeded\" と出るだけで、原因の特定に少し手間取りました...",
    "It's not magic, it's engineering -- という言い回しがしっくりきます。",
    "公式は'beta'と断っていますが、手元では大きな不具合は出ていません。",
    "待ち時間は体感で半分... とまではいきませんが、明らかに短くなりました。",
    "Don't panic. エラーの大半は環境変数の設定漏れです。",
    "\"速い\"\"安い\"\"軽い\"の三拍子がそろうツールは、まだ多くありません。",
]  # fmt: skip
_SECTIONS = {
    "news": ["何が発表されたのか", "背景にある業界の流れ", "技術的なポイント", "競合との比較", "開発者への影響", "私の見解", "今後の注目点", "まとめ"],
    "tools": ["このツールは何か", "主な機能", "実際に触ってみた", "メリット・デメリット", "料金プラン", "向いている人・向いていない人", "結論"],
    "guide": ["なぜこの方法なのか", "Step 1: 準備する", "Step 2: 基本の設定", "Step 3: 動かしてみる", "Step 4: 実運用に近づける", "よくあるつまずきと対処", "次の一歩"],
    "buyer": ["結論: 先に選ぶべき構成", "用途別のおすすめ", "買う前の確認ポイント", "検索するときのキーワード", "予算を抑えるなら", "私ならこう選ぶ"],
}  # fmt: skip
_QUESTIONS = [
    "{tool}は無料で使えますか？", "{hw}で十分に動きますか？", "{tool}から乗り換える価値はありますか？",
    "日本語の精度はどの程度ですか？", "業務で使う際の注意点はありますか？", "オフラインでも動作しますか？",
    "会社のPCに入れても問題ありませんか？", "古いGPUでも試せますか？",
]  # fmt: skip
_SHOP_GROUPS = ["GPU・PCパーツの候補", "読んでおきたい技術書", "作業環境を整える道具", "小さく試すためのハードウェア"]
_PROMPT_PIECES = [
    "未来的なサーバールーム", "青い光に包まれた", "ノートパソコンの前で考えるエンジニア", "抽象的なニューラルネットワーク",
    "日本の街並みとホログラム", "ミニマルなイラスト", "温かみのある色調", "デジタルアート", "高精細",
    "映画のような照明", "ロボットと人間の握手", "回路基板の上の小さな街", "夜明けの東京", "データの流れを表す光の線",
    "フラットデザイン", "水彩画風", "未来の研究室", "静かな書斎とモニターの光",
]  # fmt: skip
_ASCII_FILL = "detailed illustration soft light wide shot trending concept art "


def amazon_url(keyword):
    return f"https://www.amazon.co.jp/s?k={quote(keyword)}&tag={AMAZON_TAG}"


def amazon_item_url(asin):
    return f"https://www.amazon.co.jp/dp/{asin}?tag={AMAZON_TAG}"


def rakuten_url(keyword):
    search = quote(f"https://search.rakuten.co.jp/search/mall/{quote(keyword)}/", safe="")
    return f"https://hb.afl.rakuten.co.jp/hgc/{RAKUTEN_ID}/?pc={search}&m={search}"


_AMAZON_KEYWORD_RE = re.compile(r"amazon\.co\.jp/s\?k=([^&\"')\s]+)")


class Writer:
    """The prose writer of the first import benchmark, kept draw for draw: with the same
    seed, benchmarks/search.py (which imports it) writes the same corpus as before."""

    _HARDWARE = ("GeForce RTX 4060 Ti 16GB", "GeForce RTX 4090", "MacBook Pro M4 Max", "Mac Studio")
    _NAMED = (
        "Cursor", "Cline", "Aider", "Ollama", "LM Studio", "vLLM", "llama.cpp", "ComfyUI",
        "Dify", "LangChain", "n8n", "Hugging Face", "Copilot", "Perplexity", "NotebookLM",
    )  # fmt: skip
    _MODELS = ("Claude", "GPT", "Gemini", "Llama", "Qwen", "DeepSeek", "Mistral", "Phi", "Gemma", "Command R")
    _VERSIONS = ("2", "2.5", "3", "3.5", "4", "4.1", "5")
    _TITLES = (
        "{first}を試して分かったこと：{second}と比べた本当の実力",
        "{first}の最新動向まとめ｜{second}ユーザーが知っておきたい変更点",
        "失敗しない{first}の選び方と、{second}で組むおすすめ構成",
        "{first}は買いか？{second}との比較で見えた向き不向き",
    )

    def __init__(self, rng):
        self.rng = rng

    def pick(self, items):
        return self.rng.choice(items)

    def sentence(self):
        if self.rng.random() < 0.2:
            return self.pick(_ASIDES).format(
                hw=self.pick(self._HARDWARE),
                cmd=f"pip install -U {self.pick(SLUG_WORDS[:50])}",
                tool=self.pick(self._NAMED),
                word=self.pick(SLUG_WORDS[:50]),
                model=f"{self.pick(self._MODELS)} {self.pick(self._VERSIONS)}",
            )
        return self.pick(_OPENERS[:16]) + self.pick(_MIDDLES[:10]) + self.pick(_CLOSERS[:10])

    def paragraph(self):
        return "".join(self.sentence() for _ in range(self.rng.randint(2, 6)))

    def title(self, tags):
        first, second = tags[0], self.pick(tags[1:] or self._NAMED)
        return self.pick(self._TITLES).format(first=first, second=second)


# --- Planning the posts --------------------------------------------------------------


@dataclass
class _Plan:
    index: int
    when: dt.datetime
    genre: str
    style: str  # "hex" or "words"
    date_text: str = ""
    name: str = ""
    slug: str | None = None  # as written in the front matter
    url_field: str | None = None
    served: str = ""
    title: str = ""
    tags: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    cover: str | None = None
    cover_ref: str | None = None
    cover_ext: str = "jpg"
    roles: list = field(default_factory=list)
    quirk: str | None = None
    group: int | None = None
    draft: bool = False
    described: bool = True
    aliases: list = field(default_factory=list)

    @property
    def day(self):
        return self.when.strftime("%Y-%m-%d")

    @property
    def key(self):
        return f"content/posts/{self.name}.md"


def _scaled(posts, real):
    return round(posts * real / REAL_POSTS)


def _word_slug(rng, length, exact=False):
    """English words joined by '-': at most `length` characters, or exactly that many."""
    while True:
        words = []
        while len("-".join(words)) < length:
            words.append(rng.choice(SLUG_WORDS))
        slug = "-".join(words)
        if exact:
            # Cut mid-word, as the old generator cut its long slugs.
            slug = slug[:length]
            if not slug.endswith("-"):
                return slug
        else:
            slug = "-".join(words[:-1]) if len(slug) > length else slug
            if slug:
                return slug


def _title(rng, genre, roles):
    if genre == "digest":
        return ""
    form = rng.choice(_TITLE_FORMS[genre])
    tool, tool2 = rng.sample(_TOOLS, 2)
    title = form.format(
        company=rng.choice(_COMPANIES), tool=tool, tool2=tool2, topic=rng.choice(_TOPICS),
        angle=rng.choice(_ANGLES), task=rng.choice(_TASKS), hw=rng.choice(_HARDWARE),
    )  # fmt: skip
    draw = rng.random()
    extra = 0 if draw < 0.8 else rng.randint(1, 2) if draw < 0.96 else rng.randint(3, 6)
    target = 229 if "longest-title" in roles else 200
    tails = rng.sample(_TITLE_TAILS, len(_TITLE_TAILS))
    for tail in tails[: 16 if target == 229 else extra]:
        if len(title + tail) > target and target == 200:
            break
        title += tail
    return title[:target] if target == 229 else title


def _plan(posts, rng):
    """Every valid post's date, genre, name, slug, title, tags and cover, in date order."""
    plans = []
    for index in range(posts):
        day = START + dt.timedelta(days=index // POSTS_PER_DAY)
        if index % DIGEST_EVERY == 0 and index:
            plans.append(_Plan(index, day.replace(hour=1, minute=rng.randrange(60), second=rng.randrange(60)), "digest", "words"))
            continue
        genre = rng.choices(["news", "tools", "guide", "buyer"], weights=[35, 25, 28, 12])[0]
        when = day
        if rng.random() < 0.45:  # the others were written at midnight, as on the real site
            when = day.replace(hour=3 * (index % POSTS_PER_DAY), minute=rng.randrange(60), second=rng.randrange(60))
        plans.append(_Plan(index, when, genre, ""))
    ordinary = [plan for plan in plans if plan.genre != "digest"]
    styles = ["hex", "words"] * (len(ordinary) // 2 + 1)
    rng.shuffle(styles)
    for plan, style in zip(ordinary, styles):
        plan.style = style

    # Posts picked for a maximum, a quirk or a body feature: one role each where possible.
    words_pool = [plan for plan in ordinary if plan.style == "words"]
    rng.shuffle(words_pool)
    for role in ["name-80", "cover-path-103", "cover-path-101", "url"]:
        if words_pool:
            words_pool.pop().roles.append(role)
    pool = [plan for plan in ordinary if not plan.roles]
    rng.shuffle(pool)
    roles = ["longest-title", "longest-tag", "longest-keyword", "longest-body", "longest-remote"]
    roles += ["draft"] * max(1, posts // 200) + ["unknown-keys"] * max(1, posts // 100)
    roles += ["aliases"] * max(1, posts // 100) + ["offsite-alias", "integer-title", "tags-string"]
    roles += ["odd-tags", "string-cover", "sanitised-slug", "date-only", "naive-date"]
    for role in roles:
        if pool:
            pool.pop().roles.append(role)
    for plan in plans:
        quirks = [role for role in plan.roles if not role.startswith(("longest-", "name-", "cover-path-"))]
        plan.quirk = quirks[0] if quirks else None
        plan.draft = plan.quirk == "draft"

    # Shared slugs: different files, the same `slug:`; one group ties on date.
    groups = max(2 if posts >= 50 else 1 if posts >= 10 else 0, _scaled(posts, REAL_FIGURES["shared_slug_groups"]))
    members = max(2 * groups, _scaled(posts, REAL_FIGURES["shared_slug_files"])) if groups else 0
    sizes = [2] * groups
    for _ in range(members - 2 * groups):
        sizes[rng.randrange(groups)] += 1
    free = [plan for plan in pool if plan.genre != "digest"]
    rng.shuffle(free)
    for number, size in enumerate(sizes):
        chosen, days = [], set()
        while free and len(chosen) < size:
            plan = free.pop()
            if plan.day not in days or (number == 0 and len(chosen) == 1):
                chosen.append(plan)
                days.add(plan.day)
        for plan in chosen:
            plan.group = number
        if number == 0 and len(chosen) >= 2:
            # The two newest files of group 0 were written at the same second: the later
            # file path keeps the slug.
            chosen[1].when = chosen[0].when = max(plan.when for plan in chosen) + dt.timedelta(minutes=1)
            chosen[0].style, chosen[1].style = "hex", "words"

    taken_names, taken_slugs = set(), set()

    def unique_slug(length, exact=False):
        while True:
            slug = _word_slug(rng, length, exact)
            if slug not in taken_slugs:
                taken_slugs.add(slug)
                return slug

    group_slugs = [unique_slug(rng.randint(18, 52)) for _ in sizes]
    exact_lengths = {"name-80": 66, "cover-path-103": 63, "cover-path-101": 61}
    for plan in plans:
        day = plan.day
        if plan.genre == "digest":
            plan.name = f"{day}-weekly-digest-{day}"
        elif plan.group is not None:
            plan.slug = group_slugs[plan.group]
            plan.name = f"{day}-{plan.slug}" if plan.style == "words" else None
        elif plan.style == "words":
            role = next((role for role in plan.roles if role in exact_lengths), None)
            if role:
                plan.slug = unique_slug(exact_lengths[role], exact=True)
            elif plan.quirk == "url":
                plan.url_field = f"/posts/{unique_slug(rng.randint(15, 30))}/"
            elif rng.random() < 0.85:
                plan.slug = unique_slug(min(60, max(12, int(rng.triangular(14, 58, 36)))))
            else:  # no `slug:`: the file name is the slug
                plan.name = f"{day}-{unique_slug(rng.randint(12, 40))}"
            plan.name = plan.name or f"{day}-{plan.slug or urlize(PurePosixPath(plan.url_field).name)}"
        if plan.quirk == "sanitised-slug":
            plan.slug = "Hello World!"
        while not plan.name or plan.name in taken_names:
            plan.name = f"{day}-{rng.getrandbits(32):08x}"
        taken_names.add(plan.name)
        if plan.quirk == "date-only":
            plan.when = plan.when.replace(hour=0, minute=0, second=0)
            plan.date_text = day
        elif plan.quirk == "naive-date":
            plan.date_text = plan.when.replace(tzinfo=None).isoformat()
        else:
            plan.date_text = plan.when.isoformat()

    # The URL each post is served at. Shared slugs: the newest file by date (ties: the
    # later file path) keeps it; the others fall back to their file name.
    for plan in plans:
        wanted = plan.slug or (PurePosixPath(plan.url_field).name if plan.url_field else plan.name)
        plan.served = urlize(wanted)
    for number in range(len(sizes)):
        chosen = [plan for plan in plans if plan.group == number]
        if not chosen:
            continue
        keeper = max(chosen, key=lambda plan: (plan.when, plan.key))
        for plan in chosen:
            if plan is not keeper:
                plan.served = urlize(plan.name)

    # Titles, tags and categories: links and digests name other posts by them.
    for plan in plans:
        plan.title = _title(rng, plan.genre, plan.roles)
        if plan.genre == "digest":
            plan.tags = ["週刊ダイジェスト", "まとめ", "AIニュース"]
        elif plan.style == "hex" and rng.random() < 0.8:
            plan.tags = list(HEAD_TAGS[plan.genre])
        else:
            plan.tags = list(dict.fromkeys(rng.choices(TAIL_TAGS, weights=_TAIL_WEIGHTS, k=rng.randint(3, 5))))
        if "longest-tag" in plan.roles:
            plan.tags.append(LONGEST_TAG)
        plan.categories = [rng.choice(CATEGORIES[plan.genre])]
        if plan.genre != "digest" and rng.random() < 0.08:
            plan.categories.append(rng.choice([c for c in ("AI News", "AI Tools", "AI Guide") if c not in plan.categories]))
        if plan.genre == "digest":
            plan.title = f"【週刊AIまとめ】{plan.when:%m/%d}週：今週押さえておきたいAIの動き{rng.choice(['TOP10', '10選', 'ベスト8'])}"

    _plan_covers(plans, posts, rng)
    for plan in rng.sample(ordinary, round(len(ordinary) * 0.18)):
        plan.described = False
    for plan in plans:
        if plan.quirk in ("aliases", "offsite-alias"):
            plan.aliases = [f"/posts/{plan.served}-old/"]
            if rng.random() < 0.5 or plan.quirk == "offsite-alias":
                plan.aliases.append(f"/{plan.when:%Y/%m}/{plan.served}/")
    return plans


def _plan_covers(plans, posts, rng):
    """Local covers on 1,262/1,860 of the posts, Pollinations URLs on 64/1,860."""
    local_count = _scaled(posts, REAL_FIGURES["covers"])
    remote_count = max(1 if posts >= 20 else 0, _scaled(posts, REAL_FIGURES["remote_covers"]))
    forced = [plan for plan in plans if plan.genre == "digest" or plan.quirk == "string-cover" or any(r.startswith(("name-", "cover-path-")) for r in plan.roles)]
    remote_forced = [plan for plan in plans if "longest-remote" in plan.roles]
    # Only the three picked posts may have a cover stored under more than 100 characters.
    others = [plan for plan in plans if plan not in forced and plan not in remote_forced and len(plan.name) <= 71]
    rng.shuffle(others)
    local = forced + others[: max(0, local_count - len(forced))]
    remote = remote_forced + others[len(local) - len(forced) :][: max(0, remote_count - len(remote_forced))]
    for plan in local:
        plan.cover = "local"
        if plan.genre == "digest" or plan.style == "hex":
            plan.cover_ext = "png"
        else:
            plan.cover_ext = "png" if rng.random() < 0.2 else "jpg"
        plan.cover_ref = f"/images/posts/{plan.name}.{plan.cover_ext}"
    for plan in remote:
        plan.cover = "remote"
        plan.cover_ref = _pollinations_url(rng, 564 if "longest-remote" in plan.roles else rng.randint(180, 480))


def _pollinations_url(rng, length):
    """A Pollinations cover URL of a Japanese prompt, exactly `length` characters long."""
    head, tail = "https://image.pollinations.ai/prompt/", "?width=1024&height=576&nologo=true"
    room = length - len(head) - len(tail)
    prompt = ""
    for piece in rng.sample(_PROMPT_PIECES, len(_PROMPT_PIECES)):
        encoded = quote(("、" if prompt else "") + piece)
        if len(prompt) + len(encoded) <= room - 12:
            prompt += encoded
    # Then plain English words, one character each ("-" for the spaces), to the length.
    filler = (_ASCII_FILL * (room // len(_ASCII_FILL) + 1)).replace(" ", "-")
    prompt += "%20" + filler[: room - len(prompt) - 3]
    return head + prompt + tail


# --- Writing the posts ---------------------------------------------------------------


class _Writer:
    """Draws the pieces of posts from a seeded random generator."""

    def __init__(self, rng, plans):
        self.rng = rng
        self.plans = plans

    def pick(self, items):
        return self.rng.choice(items)

    def sentence(self):
        draw = self.rng.random()
        if draw < 0.06:
            return self.pick(_TYPOGRAPHIC)
        if draw < 0.2:
            return self.pick(_ASIDES).format(
                hw=self.pick(_HARDWARE), cmd=f"pip install -U {self.pick(SLUG_WORDS)}", tool=self.pick(_TOOLS),
                word=self.pick(SLUG_WORDS), model=self.pick(_TOOLS[20:]),
            )  # fmt: skip
        return self.pick(_OPENERS) + self.pick(_MIDDLES) + self.pick(_CLOSERS)

    def paragraph(self, low=2, high=6):
        # Half the paragraphs break their lines after 。, as the old generator did.
        joiner = "\n" if self.rng.random() < 0.5 else ""
        return joiner.join(self.sentence() for _ in range(self.rng.randint(low, high)))

    def product(self, plan):
        return LONGEST_PRODUCT if "longest-keyword" in plan.roles else self.pick(PRODUCTS)

    def card(self, product):
        """The product card the old site put right after the summary list."""
        name, keyword, reason = product
        button = "text-decoration:none;border-radius:4px;font-weight:bold"
        amazon = f'<a href="{amazon_url(keyword)}" target="_blank" rel="noopener sponsored" style="padding:8px 16px;background:#ff9900;color:#fff;{button};font-size:13px">{self.pick(["Amazonで見る", "Amazonでも確認", "Amazonで探す"])}</a>'
        rakuten = f'<a href="{rakuten_url(keyword)}" target="_blank" rel="noopener sponsored" style="padding:10px 18px;background:#bf0000;color:#fff;{button};font-size:14px">{self.pick(["楽天で見る", "楽天で価格を確認", "楽天で価格をチェック"])}</a>'
        buttons = [amazon, rakuten] if self.rng.random() < 0.6 else [rakuten, amazon]
        label = self.pick(["この記事で取り上げた製品", "記事に関連する商品", "この記事に関連する商品（価格は楽天で確認）"])
        return (
            '<div style="border:1px solid #e0e0e0;border-radius:8px;padding:16px;margin:20px 0;background:#fafafa">\n'
            f'<p style="margin:0 0 4px;font-size:13px;color:#888">📦 {label}</p>\n'
            f'<strong style="font-size:16px">{name}</strong>\n'
            f'<p style="color:#555;margin:8px 0;font-size:14px">{reason}</p>\n'
            '<div style="display:flex;gap:8px;flex-wrap:wrap">\n' + "\n".join(buttons) + "\n</div>\n"
            '<p style="margin:8px 0 0;font-size:11px;color:#aaa">※アフィリエイトリンクを含みます</p>\n'
            "</div>"
        )

    def rawhtml(self, html):
        return "{{< rawhtml >}}\n" + html + "\n{{< /rawhtml >}}"

    def shop_card(self, product):
        name, keyword, reason = product
        style = "color: white; text-decoration: none; border-radius: 4px; font-size: 13px;"
        return (
            '<div style="border: 1px solid #e0e0e0; border-radius: 8px; padding: 16px; margin: 8px 0; background: #fafafa;">\n'
            f'  <strong style="font-size: 16px;">🛍️ {name}</strong>\n'
            f'  <p style="color: #666; margin: 8px 0; font-size: 14px;">{reason}</p>\n'
            '  <div style="display: flex; gap: 8px; flex-wrap: wrap;">\n'
            f'    <a href="{amazon_url(keyword)}" target="_blank" rel="noopener sponsored" style="padding: 6px 12px; background: #ff9900; {style}">Amazonで見る</a>\n'
            f'    <a href="{rakuten_url(keyword)}" target="_blank" rel="noopener sponsored" style="padding: 6px 12px; background: #bf0000; {style}">楽天で見る</a>\n'
            "  </div>\n"
            "</div>"
        )

    def search_buttons(self, keyword, labels):
        style = "color: white; text-decoration: none; border-radius: 6px; font-size: 14px;"
        return (
            '<div style="display: flex; gap: 10px; flex-wrap: wrap; margin: 15px 0;">\n'
            f'<a href="{amazon_url(keyword)}" target="_blank" rel="noopener sponsored" style="padding: 8px 16px; background: #ff9900; {style}">{labels[0]}</a>\n'
            f'<a href="{rakuten_url(keyword)}" target="_blank" rel="noopener sponsored" style="padding: 8px 16px; background: #bf0000; {style}">{labels[1]}</a>\n'
            "</div>"
        )

    def shop_section(self, count):
        """The 🛒 block at the end: 2–5 cards under ### 📦 headings, a search row, a disclosure."""
        products = self.rng.sample(PRODUCTS, count)
        split = self.rng.randint(1, count - 1)
        groups = [products[:split], products[split:]]
        parts = ["---", "## 🛒 この記事で紹介した関連商品", ""]
        for heading, items in zip(self.rng.sample(_SHOP_GROUPS, 2), groups):
            # The old generator glued the cards together: "</div><div".
            parts.append(f"### 📦 {heading}\n\n" + "".join(self.shop_card(item) for item in items))
        keyword = self.pick(PRODUCTS)[1]
        parts.append("### 🔎 もっと探す\n\n" + self.search_buttons(keyword, [f"Amazonで「{keyword}」を検索", "楽天で検索"]))
        parts.append('<small style="color: #888;">※リンク先で購入されると、当サイトに紹介料が入ることがあります。</small>')
        return "\n\n".join(parts)

    def closing_buttons(self):
        keyword = self.pick(PRODUCTS)[1]
        return "---\n\n📚 **関連情報をもっと知りたい方へ**\n\n" + self.search_buttons(keyword, ["📖 Amazonで関連書籍を探す", "🛒 楽天で探す"])

    def tip(self, product):
        name, keyword, reason = product
        return f"> 💡 **あわせて手元に置きたい一冊・一台**\n> \n> **[{name}]({amazon_url(keyword)})** - {reason}"

    def prose_links(self):
        """Markdown Amazon and Rakuten links in prose, a disclosure beside some."""
        name, keyword, reason = self.pick(PRODUCTS)
        asin = "B0" + "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))
        lines = [
            (
                f"私が普段使っているのは[{name}]({amazon_item_url(asin)})で、{reason}と感じています。"
                f"価格は[楽天市場の検索結果]({rakuten_url(keyword)})でも比べられます。"
            )
        ]
        if self.rng.random() < 0.5:
            other = self.pick(PRODUCTS)
            lines.append(f"\n- **[{other[0]}]({amazon_url(other[1])})** - {other[2]}\n- **[{name}]({amazon_url(keyword)})** - {reason}")
        if self.rng.random() < 0.6:
            lines.append(self.pick(["\n<small>※上記はアフィリエイトリンクです。</small>", "\n※この段落のリンクにはアフィリエイトリンクを含みます。"]))
        return "\n".join(lines)

    def table(self):
        tools = self.rng.sample(_TOOLS, 3)
        rows = ["| 項目 | " + " | ".join(tools) + " |", "|------|" + "|".join("------" for _ in tools) + "|"]
        for label in self.rng.sample(["料金", "導入の手軽さ", "日本語対応", "オフライン動作", "拡張性", "サポート", "必要なVRAM"], 4):
            cells = [self.pick(["◎ 非常に良い", "○ 十分", "△ 条件付き", "× 非対応", "無料枠あり", "月額制", "`8GB` 以上"]) for _ in tools]
            rows.append(f"| {label} | " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def code(self):
        word = self.pick(SLUG_WORDS)
        package = f"{word}-toolkit"
        return (
            f"```bash\npython -m venv .venv && source .venv/bin/activate\npip install {package} httpx\n"
            f'export {word.upper()}_API_KEY="sk-..."  # 実際のキーに置き換える\n{word}-cli check --verbose\n```\n\n'
            f"{self.paragraph(1, 2)}\n\n"
            f"```python\nimport httpx\n\nfrom {word.replace('-', '_')}_toolkit import Client\n\n"
            "# 長い応答でも途中で切れないよう、タイムアウトは長めにしておく\n"
            "client = Client(timeout=httpx.Timeout(60.0))\n\n\n"
            f"def summarize(text: str, limit: int = {self.rng.randint(100, 400)}) -> str:\n"
            '    """Return a summary of `text` in at most `limit` characters."""\n'
            '    reply = client.complete(prompt=f"次の文章を要約してください: {text}", max_tokens=limit)\n'
            "    return reply.text.strip()\n```"
        )

    def html_fence(self):
        """A fence that shows HTML with a <script>: text to read, never to run."""
        return (
            "```html\n<div id=\"kiji-widget\"></div>\n"
            '<script src="https://cdn.example.com/widget.js"></script>\n'
            "<script>\n  mountWidget({ target: \"#kiji-widget\", endpoint: \"http://localhost:8080\" });\n</script>\n```"
        )

    def read_more(self, plan):
        links = []
        for _ in range(3):
            if self.rng.random() < 0.1:
                missing = f"2025-12-{self.rng.randint(1, 28):02d}-{_word_slug(self.rng, 30)}"
                links.append(f"- [{self.pick(_TOOLS)}の使い方まとめ](/posts/{missing}/)")
            else:
                other = self.pick(self.plans)
                if other is not plan:
                    links.append(f"- [{other.title}](/posts/{other.name}/)")
        return "---\n\n## あわせて読みたい\n\n" + "\n".join(links or ["- [記事一覧](/posts/)"])

    def faq(self, card=None):
        """The FAQ section and its FAQPage JSON-LD; `card` goes inside the second answer."""
        pairs = []
        for number in range(self.rng.randint(2, 4)):
            question = self.pick(_QUESTIONS).format(tool=self.pick(_TOOLS), hw=self.pick(_HARDWARE))
            answer = self.paragraph(2, 4).replace("\n", "")
            pairs.append((question, answer, card if number == 1 else None))
        section = "## よくある質問\n\n" + "\n\n".join(
            f"### Q{number}: {question}\n\n{answer}" + (f"\n\n{self.rawhtml(html)}" if html else "")
            for number, (question, answer, html) in enumerate(pairs, 1)
        )
        entities = []
        for question, answer, html in pairs:
            text = answer.replace("`", "").replace("**", "") + (f"\n{html}" if html else "")
            entities.append({"@type": "Question", "name": question, "acceptedAnswer": {"@type": "Answer", "text": text}})
        if self.rng.random() < 0.3:  # the old generator let a trailing rule into the last answer
            entities[-1]["acceptedAnswer"]["text"] += " ---"
        data = {"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": entities}
        script = f'<script type="application/ld+json">\n{json.dumps(data, ensure_ascii=False, indent=2)}\n</script>'
        return section, script

    def description(self):
        text = "".join(self.pick(_OPENERS) + self.pick(_MIDDLES) + self.pick(_CLOSERS) for _ in range(2))
        if self.rng.random() < 0.1:
            text = text.replace("。", "。。", 1)
        return text[: self.rng.randint(50, 90)] + "..." if self.rng.random() < 0.7 else text

    # Whole posts

    def front_matter(self, plan, description, lastmod=None):
        rng = self.rng
        if plan.quirk == "integer-title":
            lines = ["---", "title: 2024"]
        else:
            lines = ["---", f"title: {json.dumps(plan.title, ensure_ascii=False)}"]
        quoted = rng.random() < 0.03 and ":" in plan.date_text
        lines.append(f'date: "{plan.date_text}"' if quoted else f"date: {plan.date_text}")
        if lastmod:
            lines.append(f"lastmod: {lastmod}")
        if plan.draft:
            lines.append("draft: true")
        elif plan.genre == "digest" or rng.random() < 0.05:
            lines.append("draft: false")
        if plan.slug:
            lines.append(f"slug: {json.dumps(plan.slug)}")
        if plan.url_field:
            lines.append(f'url: "{plan.url_field}"')
        if description and plan.genre != "digest":
            lines.append(f"description: {json.dumps(description, ensure_ascii=False)}")
        if plan.aliases:
            lines.append("aliases:")
            lines += [f'  - "{alias}"' for alias in plan.aliases]
            if plan.quirk == "offsite-alias":
                lines.append('  - "https://other.example.com/x/"')
        alt = self.cover_alt(plan)
        cover = []
        if plan.quirk == "string-cover":
            cover = [f"cover: {plan.cover_ref}"]
        elif plan.cover_ref:
            cover = ["cover:", f'  image: "{plan.cover_ref}"', f"  alt: {json.dumps(alt, ensure_ascii=False)}", "  relative: false"]
        terms = ["categories:"]
        quote_names = plan.genre != "digest"
        terms += [f'  - "{name}"' if quote_names else f"  - {name}" for name in plan.categories]
        if plan.quirk == "tags-string":
            terms.append('tags: "python, django, web"')
        else:
            terms.append("tags:")
            terms += [f"  - {json.dumps(tag, ensure_ascii=False)}" if quote_names else f"  - {tag}" for tag in plan.tags]
            if plan.quirk == "odd-tags":
                terms[-1:-1] = ["  - null", "  - {name: x}"]
        if plan.genre == "digest":  # the digests' own order, as the old generator wrote them
            lines += terms + ([f"description: {json.dumps(description, ensure_ascii=False)}"] if description else []) + cover
        else:
            lines += cover + terms
        if plan.quirk == "unknown-keys":
            lines += ["weight: 3", "ShowToc: true"]
        return "\n".join(lines + ["---"]) + "\n"

    def cover_alt(self, plan):
        if plan.genre == "digest":
            return f"週刊まとめ {plan.when:%m/%d}"
        return "AI generated thumbnail" if self.rng.random() < 0.97 else self.pick(["", "記事のサムネイル画像"])

    def post(self, plan, size=None):
        """(front matter, body) of a valid post."""
        rng = self.rng
        description = None
        if plan.genre == "digest":
            description = f"{(plan.when - dt.timedelta(days=7)):%m/%d}〜{plan.when:%m/%d}のAIニュースとツールをまとめて振り返り"
        elif plan.described:
            description = self.description()
        lastmod = None
        if rng.random() < 0.1:
            lastmod = (plan.when + dt.timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 23))).isoformat()
        front = self.front_matter(plan, description, lastmod)
        body = self.digest(plan) if plan.genre == "digest" else self.article(plan, size)
        return front, body, description is not None

    def article(self, plan, size=None):
        rng = self.rng
        head = []
        if rng.random() < 0.1:
            head.append("> ⚠️ この記事の検証部分は想定に基づく再現で、実測の結果ではありません。")
        if plan.genre == "guide" and rng.random() < 0.5:
            head.append(f"**所要時間:** 約{rng.choice([20, 30, 40, 60])}分 | **難易度:** {rng.choice(['★★☆☆☆', '★★★☆☆', '★★★★☆'])}")
            head.append("## この記事で作るもの\n\n" + "\n".join(f"- {self.sentence()}" for _ in range(3)))
        else:
            head.append("## 3行要約\n\n" + "\n".join(f"- {self.sentence()}{self.sentence()}" for _ in range(3)))
        product = self.product(plan)
        draw = rng.random()
        if draw < 0.75 or "longest-keyword" in plan.roles:
            head.append(self.rawhtml(self.card(product)))
        elif draw < 0.9:
            head.append(self.tip(product))

        headings = sorted(rng.sample(_SECTIONS[plan.genre], rng.randint(4, 6)), key=_SECTIONS[plan.genre].index)
        sections = [[heading, self.paragraph()] for heading in headings]
        if rng.random() < 0.55:
            rng.choice(sections).append(self.table())
        if plan.genre == "guide" or rng.random() < (0.6 if plan.genre == "tools" else 0.15):
            sections[min(1, len(sections) - 1)].append(self.code())
        if "html-fence" in plan.roles:
            sections[-1].append(self.html_fence())
        if rng.random() < 0.3:
            rng.choice(sections).append(self.prose_links())

        tail, end = [], []
        faq_card = "faq-card" in plan.roles
        if faq_card or rng.random() < 0.55:
            section, script = self.faq(self.card(self.pick(PRODUCTS)) if faq_card else None)
            tail.append(section)
            end.append(script)
        if rng.random() < 0.65:
            tail.append(self.read_more(plan))
        draw = rng.random()
        if draw < 0.3 and not faq_card:
            end.append(self.shop_section(rng.randint(2, 5)))
        elif draw < 0.55:
            end.append(self.closing_buttons())

        def assemble():
            body = "\n\n".join(f"## {heading}\n\n" + "\n\n".join(parts) for heading, *parts in sections)
            return "\n\n".join(head + [body] + tail + end) + "\n"

        if size is None:
            draw = rng.random()
            size = rng.randint(5_000, 8_000) if draw < 0.05 else rng.randint(8_000, 15_000) if draw < 0.97 else rng.randint(15_000, 21_000)
            if "longest-body" in plan.roles:
                size = 23_000
        total = len(assemble().encode())
        while total < size - (900 if "longest-body" in plan.roles else 400):
            paragraph = self.paragraph()
            rng.choice(sections).append(paragraph)
            total += len(paragraph.encode()) + 2
        if "longest-body" in plan.roles:
            while total < size - 60:
                sentence = self.sentence()
                sections[-1][-1] += sentence
                total += len(sentence.encode())
        return assemble()

    def digest(self, plan):
        rng = self.rng
        week = [other for other in self.plans if plan.when - dt.timedelta(days=7) <= other.when < plan.when and other.genre != "digest" and not other.draft]
        week = rng.sample(week, min(len(week), rng.randint(8, 12)))
        parts = [f"# {plan.title}", self.paragraph(3, 5).replace("\n", ""), "---"]
        number = 0
        for heading, genres in [("🏛 ビジネス・業界の動き（NEWS）", {"news", "buyer"}), ("🛠 注目のツール（TOOLS）", {"tools"}), ("📘 解説・ガイド（GUIDES）", {"guide"})]:
            items = [other for other in week if other.genre in genres]
            if not items:
                continue
            lines = [f"## {heading}"]
            for other in items:
                number += 1
                link = f"[→ 記事を読む](/posts/{other.name}/)" if rng.random() < 0.7 else "[→ 記事詳細を読む]"
                lines.append(f"### {number}. {other.title}\n{self.paragraph(2, 3)}\n{link}")
            parts.append("\n\n".join(lines))
            parts.append("---")
        parts.append("## 🚀 来週の見どころ\n" + self.paragraph(2, 3))
        parts.append(f"[SHOPPING: AI {self.pick(_TOPICS)} 週刊まとめ]\n[HASHTAGS: #AI #生成AI #週刊まとめ #{self.pick(_TOPICS)}]")
        return "\n\n".join(parts) + "\n"


# --- Covers --------------------------------------------------------------------------


class _Covers:
    """Cheap, mostly distinct 1024×576 covers: a few gradients, each file marked apart."""

    def __init__(self, seed):
        rng = random.Random(f"{seed}-covers")
        linear = Image.linear_gradient("L")
        shapes = [
            linear.resize(COVER_SIZE),
            linear.rotate(90).resize(COVER_SIZE),
            Image.radial_gradient("L").resize(COVER_SIZE),
            linear.transpose(Image.Transpose.ROTATE_180).resize(COVER_SIZE),
        ]
        self.bases = []
        for shape in shapes * 2:
            start, end = ([rng.randrange(256) for _ in range(3)] for _ in range(2))
            bands = [shape.point([a + (b - a) * v // 255 for v in range(256)]) for a, b in zip(start, end)]
            self.bases.append(Image.merge("RGB", bands))

    def image(self, number):
        # One cover in forty repeats the pixels of the one before, as re-used art does.
        mark = number - 1 if number % 40 == 39 else number
        image = self.bases[mark % len(self.bases)].copy()
        draw = ImageDraw.Draw(image)
        width, height = COVER_SIZE
        x, y = (mark * 7919) % (width - 160), (mark * 104729) % (height - 90)
        colour = ((mark * 37) % 256, (mark * 91) % 256, (mark * 53) % 256)
        draw.rectangle([x, y, x + 40 + mark % 120, y + 30 + mark % 60], fill=colour)
        draw.text(((mark * 31) % (width - 120), (mark * 17) % (height - 20)), f"Kiji No.{mark:05d}", fill=(255, 255, 255))
        return image

    def write(self, path, number):
        image = self.image(number)
        if path.suffix == ".png":
            image.save(path, "PNG", compress_level=1)
        else:
            image.save(path, "JPEG", quality=82)


def _encoded(image, image_format, **options):
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def _hostile_cover(kind, covers):
    """The bytes of a hostile cover file."""
    picture = covers.image(90_000 + len(kind))
    if kind == "polyglot-cover":
        html = b"<html><body><script>alert('kiji')</script></body></html>"
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", html.decode())
        return _encoded(picture, "PNG", pnginfo=info, compress_level=1) + html
    if kind == "truncated-jpeg-cover":
        data = _encoded(picture, "JPEG", quality=85)
        return data[: len(data) // 3]
    if kind == "exif-gps-cover":
        exif = Image.Exif()
        exif[0x0110] = "KijiCam 1"
        exif.get_ifd(0x8825).update({1: "N", 2: (35.0, 40.0, 12.5), 3: "E", 4: (139.0, 45.0, 30.0)})
        return _encoded(picture, "JPEG", quality=85, exif=exif)
    if kind == "cmyk-cover":
        return _encoded(picture.convert("CMYK"), "JPEG", quality=85)
    if kind == "grey16-cover":
        # 16384–32704 of 65535: a mid grey that a naive 8-bit conversion turns white.
        grey = Image.linear_gradient("L").resize(COVER_SIZE).convert("I").point(lambda v: v * 64 + 16384)
        return _encoded(grey.convert("I;16"), "PNG")
    if kind == "gif-script-zip-cover":
        data = _encoded(picture.convert("P"), "GIF", comment=b"<script>alert('kiji')</script>")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr(zipfile.ZipInfo("payload.html", date_time=(2026, 1, 1, 0, 0, 0)), "<script>alert('kiji')</script>")
        return data + archive.getvalue()
    raise ValueError(kind)


# --- The site ------------------------------------------------------------------------


def _billion_laughs():
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\ntags: *lol8\n"


def _write_hostile(site, plans, covers, seed, kinds):
    """One file of each of `kinds`, named for it; their FileSpecs."""
    images = site / "static" / "images" / "posts"
    # What "/images/../../secret.png" reaches when joined naively under static/.
    (site / "secret.png").write_bytes(_encoded(covers.image(99_999).resize((64, 36)), "PNG"))
    specs = []
    for number, (kind, (outcome, warning, cover)) in enumerate(HOSTILE.items()):
        if kind not in kinds:
            continue
        rng = random.Random(f"{seed}-hostile-{kind}")
        writer = _Writer(rng, plans)
        name = f"zz-hostile-{kind}"
        when = START + dt.timedelta(days=number, hours=12)
        plan = _Plan(-1, when, "news", "words", date_text=when.isoformat(), name=name, served=name)
        plan.title = f"【検証用】{_title(rng, 'news', [])}"
        plan.tags = list(HEAD_TAGS["news"])
        plan.categories = ["AI News"]
        plan.cover_ref = HOSTILE_COVERS.get(kind)
        if kind == "impossible-date":
            plan.date_text = "2024-02-30"
        # The NUL goes past the first 8 KB of a 20 KB file: a check of the head alone misses it.
        front, body, has_description = writer.post(plan, size=20_000 if kind == "nul-byte" else rng.randint(9_000, 12_000))
        text = front + body
        if kind == "billion-laughs":
            text = f"---\ntitle: {json.dumps(plan.title, ensure_ascii=False)}\ndate: {plan.date_text}\n{_billion_laughs()}---\n{body}"
        elif kind == "python-tag":
            hook = json.dumps([f"touch {PWNED_MARKER}"])
            text = f"---\ntitle: !!python/object/apply:os.system {hook}\ndate: {plan.date_text}\n---\n{body}"
        elif kind == "huge-body":
            chunk = "\n\n".join(writer.paragraph() for _ in range(12)) + "\n\n"
            text = front + body + chunk * (5 * 1024 * 1024 // len(chunk.encode()) + 1)
        elif kind in ("unclosed-front-matter", "no-front-matter", "shift-jis"):
            # No "---" rules in the body: one would close the front matter after all.
            prose = "\n\n".join(writer.paragraph() for _ in range(14)) + "\n"
            opening = f"---\ntitle: {json.dumps(plan.title, ensure_ascii=False)}\ndate: {plan.date_text}\n"
            text = {
                "unclosed-front-matter": f"{opening}\n## 3行要約\n\n{prose}",
                "no-front-matter": f"# {plan.title}\n\n{prose}",
                "shift-jis": f'{opening}tags:\n  - "速報"\n---\n## 3行要約\n\n{prose}',
            }[kind]
        if kind == "shift-jis":
            data = text.encode("shift_jis", errors="replace")
        elif kind == "bom":
            data = text.encode("utf-8-sig")
        elif kind == "crlf":
            data = text.replace("\n", "\r\n").encode()
        else:
            data = text.encode()
        if kind == "nul-byte":
            # Half way through a 20 KB file, past the first 8 KB that a quick check reads.
            middle = len(data) // 2
            while data[middle] & 0xC0 == 0x80:  # not inside a UTF-8 sequence
                middle += 1
            data = data[:middle] + b"\0" + data[middle:]
        (site / "content" / "posts" / f"{name}.md").write_bytes(data)
        if cover in ("local", "broken") and plan.cover_ref.startswith("/images/posts/"):
            (images / PurePosixPath(plan.cover_ref).name).write_bytes(_hostile_cover(kind, covers))
        imported = outcome == "imported"
        specs.append(
            FileSpec(
                key=plan.key, kind=kind, outcome=outcome, url=f"/posts/{urlize(name)}/" if imported else None,
                title=None if kind in ("python-tag", "no-front-matter") else plan.title, cover=cover,
                cover_ref=plan.cover_ref, warning=warning, genre="news", tags=tuple(plan.tags),
                keywords=_keywords(body), body_bytes=len(data) - len(front.encode()), has_description=has_description,
                cover_alt="AI generated thumbnail" if cover else None,
            )
        )
    return specs


def _keywords(text):
    return tuple(unquote(match) for match in _AMAZON_KEYWORD_RE.findall(text))


def _hugo_config():
    return (
        "# A generated site for Kiji's import tests and benchmarks (benchmarks/sitegen.py).\n"
        f'baseURL = "{BASE_URL}"\nlanguageCode = "ja"\ndefaultContentLanguage = "ja"\n'
        f'title = "{SITE_TITLE}"\ntheme = "PaperMod"\ntimeZone = "Asia/Tokyo"\nhasCJKLanguage = true\n\n'
        '[params]\n  description = "AIのニュースとツールを毎日届ける、検証用のブログ"\n  author = "Kiji Bench"\n\n'
        "[markup.goldmark.renderer]\n  unsafe = true\n"
    )


def generate_site(site_dir, posts=2000, *, seed=SEED, hostile=True):
    """Write a Hugo site of `posts` valid posts under `site_dir`, and one file of each
    hostile kind (or of the kinds `hostile` names); return its Manifest."""
    site = Path(site_dir)
    rng = random.Random(seed)
    plans = _plan(posts, rng)
    # Which posts carry a FAQ card or an HTML fence does not move the other draws.
    extras = random.Random(f"{seed}-extras")
    ordinary = [plan for plan in plans if plan.genre != "digest"]
    for role, count in (("faq-card", -(-posts // 500)), ("html-fence", max(1, posts // 100))):
        for plan in extras.sample(ordinary, min(count, len(ordinary))):
            plan.roles.append(role)

    content = site / "content" / "posts"
    images = site / "static" / "images" / "posts"
    content.mkdir(parents=True, exist_ok=True)
    images.mkdir(parents=True, exist_ok=True)
    (site / "hugo.toml").write_text(_hugo_config(), encoding="utf-8")
    covers = _Covers(seed)
    writer = _Writer(rng, plans)
    specs = []
    for plan in plans:
        front, body, has_description = writer.post(plan)
        (content / f"{plan.name}.md").write_bytes((front + body).encode())
        if plan.cover == "local":
            covers.write(images / f"{plan.name}.{plan.cover_ext}", plan.index)
        specs.append(
            FileSpec(
                key=plan.key, kind="valid", outcome="imported", url=f"/posts/{plan.served}/",
                title="2024" if plan.quirk == "integer-title" else plan.title, draft=plan.draft,
                cover=plan.cover, cover_ref=plan.cover_ref, warning=QUIRK_WARNINGS.get(plan.quirk),
                shared_slug=plan.group is not None, slug_written=plan.slug, quirk=plan.quirk, genre=plan.genre,
                aliases=tuple(plan.aliases), tags=tuple(plan.tags) if plan.quirk != "tags-string" else ("python, django, web",),
                keywords=_keywords(body), body_bytes=len(body.encode()), has_description=has_description,
                cover_alt=_written_alt(front),
            )
        )
    kinds = list(HOSTILE) if hostile is True else [kind for kind in HOSTILE if kind in (hostile or ())]
    unknown = set(hostile) - set(HOSTILE) if hostile not in (True, False, None) else set()
    if unknown:
        raise ValueError(f"unknown hostile kinds: {sorted(unknown)}; known: {list(HOSTILE)}")
    if kinds:
        specs += _write_hostile(site, plans, covers, seed, kinds)
    manifest = Manifest(site, specs, posts=posts, seed=seed)
    manifest._check()
    return manifest


def _written_alt(front):
    match = re.search(r"^  alt: (.*)$", front, re.MULTILINE)
    return json.loads(match.group(1)) if match else None
