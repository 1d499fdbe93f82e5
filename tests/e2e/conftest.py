"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

Without /usr/bin/chromium every test here is skipped, unless KIJI_REQUIRE_BROWSER=1
(CI sets it), where a missing browser is a failure rather than a silent pass.
"""

import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the test extras are not installed; the browser fixture says so
    expect = sync_playwright = None

from posts.models import AffiliateBox, SiteSettings
from tests.conftest import image_bytes, make_post

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_CHROMIUM = f"Debian's chromium is not installed at {CHROMIUM}: apt-get install chromium"
NO_PLAYWRIGHT = "Playwright for Python is not installed: pip install -e '.[test]'"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SCREENSHOT_WIDTHS = (390, 1280)
TOKYO = ZoneInfo("Asia/Tokyo")

SITE_TITLE = "AIニュースの森"
SITE_TAGLINE = "AIの今を、毎日やさしく"

PYTHON_CODE = """from llama_cpp import Llama

llm = Llama(model_path="models/elyza-7b-q4_k_m.gguf", n_gpu_layers=-1)
print(llm("量子化とは何ですか？", max_tokens=64)["choices"][0]["text"])"""
SHELL_CODE = "pip install llama-cpp-python\nnvidia-smi --query-gpu=memory.used --format=csv"

ARTICLE_BODY = f"""## 3行要約

- 量子化したモデルなら、家庭用GPUでもLLMが動く。
- VRAM 12GBで7Bモデルが快適に使える。
- まずは llama.cpp から試すのがおすすめ。

## 量子化の基本

量子化は、モデルの重みを少ないビット数で表す技術です。精度を少し犠牲にして、
メモリと速度を大きく稼ぎます。

### ビット数と必要なVRAM

| 量子化 | 7Bモデルのサイズ | 必要なVRAM |
|---|---|---|
| Q8_0 | 7.2GB | 10GB |
| Q4_K_M | 4.1GB | 6GB |
| Q2_K | 2.7GB | 4GB |

## 動かしてみる

まずはライブラリを入れます。

```bash
{SHELL_CODE}
```

次にPythonから呼び出します。

```python
{PYTHON_CODE}
```

## よくある質問

### Q1: 量子化すると精度はどのくらい落ちますか？

Q4_K_Mなら、多くの用途で違いはほとんど感じられません。

### Q2: GPUがなくても動きますか？

CPUだけでも動きますが、応答はかなり遅くなります。

## まとめ

量子化を使えば、ローカルLLMはぐっと身近になります。
"""


def other_body(topic):
    return (
        f"## 3行要約\n\n- {topic}の最新動向をまとめました。\n- 実際に試した結果も紹介します。\n\n"
        f"## 本文\n\n{topic}について、この一か月の動きを振り返ります。\n"
    )


def at(*ymd_hm):
    return datetime(*ymd_hm, tzinfo=TOKYO)


def add_cover(post):
    post.cover_alt = f"{post.title}のイメージ"
    post.cover.save("cover.png", ContentFile(image_bytes("PNG", (800, 450))))


def seed_site():
    """A small blog: one full article among seven more, over two years and five months."""
    site = SiteSettings.load()
    site.title = SITE_TITLE
    site.tagline = SITE_TAGLINE
    site.description = "生成AIとローカルLLMのニュースを、わかりやすく届けるブログです。"
    site.save()

    older = [
        make_post(title="ChatGPTの新機能まとめ", slug="chatgpt-new-features", body=other_body("ChatGPT"),
                  categories=["AIニュース"], tags=["ChatGPT"], published_at=at(2025, 11, 4, 9, 0)),
        make_post(title="RTX 4090と3090を比べてみた", slug="rtx-4090-vs-3090", body=other_body("GPU"),
                  categories=["ローカルLLM"], tags=["GPU"], published_at=at(2025, 12, 2, 9, 0)),
        make_post(title="ローカルRAGで社内文書を検索する", slug="local-rag", body=other_body("RAG"),
                  categories=["ローカルLLM"], tags=["Python"], published_at=at(2025, 12, 20, 9, 0)),
    ]
    article = make_post(
        title="ローカルLLM入門：量子化モデルを自宅のGPUで動かす",
        slug="local-llm-quantization",
        description="量子化したモデルを家庭用GPUで動かす手順と、よくある疑問への答え。",
        body=ARTICLE_BODY,
        categories=["ローカルLLM"],
        tags=["量子化", "GPU", "Python"],
        published_at=at(2026, 1, 14, 9, 0),
    )
    article.affiliate_boxes.create(
        keyword="RTX 4060 Ti 16GB",
        product_name="GeForce RTX 4060 Ti 16GB",
        reason="VRAM 16GBで、量子化した13Bモデルまで動かせます。",
        placement=AffiliateBox.Placement.SUMMARY,
    )
    article.affiliate_boxes.create(keyword="大規模言語モデル 入門", placement=AffiliateBox.Placement.END)
    newer = [
        make_post(title="量子化ツールの比較：GGUFとAWQ", slug="gguf-vs-awq", body=other_body("量子化ツール"),
                  categories=["ローカルLLM"], tags=["量子化", "GPU"], published_at=at(2026, 1, 30, 9, 0)),
        make_post(title="AIコーディング助手の比較", slug="ai-coding-assistants", body=other_body("AIコーディング"),
                  categories=["AIニュース"], tags=["Python"], published_at=at(2026, 2, 27, 9, 0)),
        make_post(title="週刊AIダイジェスト", slug="weekly-ai-digest", body=other_body("AI業界"),
                  categories=["AIニュース"], tags=["ChatGPT"], published_at=at(2026, 2, 28, 9, 0)),
        make_post(title="コーディングエージェントの安全対策", slug="coding-agent-security", body=other_body("エージェント"),
                  categories=["AIニュース"], tags=["セキュリティ"], published_at=at(2026, 3, 5, 9, 0)),
    ]  # fmt: skip
    for post in [article, older[1], older[2], newer[0], newer[1]]:
        add_cover(post)


@pytest.fixture
def content(transactional_db, affiliate_settings):
    """The seeded blog, with affiliate ids set."""
    seed_site()


def unavailable(reason):
    """Skip the test, or fail it where KIJI_REQUIRE_BROWSER=1 (CI) says it must run."""
    if os.environ.get("KIJI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (KIJI_REQUIRE_BROWSER=1: browser tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser():
    """One chromium for the session's browser tests (they run together: pytest-django
    runs every transactional test after the others), closed when they are done."""
    if not CHROMIUM.exists():
        unavailable(NO_CHROMIUM)
    if sync_playwright is None:
        unavailable(NO_PLAYWRIGHT)
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an event loop running in the test thread, and
        # Django refuses ORM calls (seeding, the database flush after each test) from a
        # thread with a running loop. The variable is set only while the browser is
        # open: later tests run `manage.py check --deploy`, which rejects it.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()


def _fresh_context(browser, live_server):
    """A context with nothing stored, Japanese, the system's light scheme."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="ja-JP",
        color_scheme="light",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def page(browser, live_server):
    """A page in a fresh context that may use the clipboard."""
    context = _fresh_context(browser, live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def new_context(browser, live_server):
    """Makes fresh contexts, one per person in a test (a writer, an editor, a reader);
    each keeps its own cookies and localStorage across its pages."""
    contexts = []

    def make():
        contexts.append(_fresh_context(browser, live_server))
        return contexts[-1]

    yield make
    for context in contexts:
        context.close()


def log_in(page, username, password="pw"):
    """Log in through the admin's login form, as a person would."""
    page.goto("/admin/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator('#login-form [type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def screenshot(page, name, widths=SCREENSHOT_WIDTHS):
    """Full-page screenshots of the current page at a phone's and a desktop's width
    (or `widths`), checking on the way that the page never scrolls sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    # Lazy images below the fold would be blank in a full-page capture.
    page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") == width, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size(size)
