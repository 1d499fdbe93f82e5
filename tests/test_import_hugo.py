import json
import os
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from django.utils.html import escape

from posts.models import AffiliateBox, AffiliateSettings, Category, Post, Product, Redirect, SiteSettings, Tag
from tests.conftest import (
    article_body,
    foreign_scripts,
    image_bytes,
    media_files,
    run_command,
    run_failing_command,
    scripts,
    start_tags,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

TOKYO = ZoneInfo("Asia/Tokyo")
AMAZON_TAG = "negi3939-22"
RAKUTEN_ID = "5000cbfd.5f52567b.5000cbff.924460a4"
# The old site's own ids, in its affiliate HTML and its Markdown Amazon links: pages show
# the configured ones instead (stored Markdown links may keep "old-22"; pages may not).
OLD_IDS = ["old-22", "1111aaaa.2222bbbb.3333cccc.4444dddd"]

MAIN = "content/posts/2025-03-01-a1b2c3d4.md"
OLD_STYLE = "content/posts/2025-02-10-e5f6a7b8.md"
FILE_COUNT = 11

# Every published post of tests/fixtures/hugo-site but the one moved with `url`.
PUBLISHED = {
    "/posts/local-llm-gpu-guide/": "手元のGPUでローカルLLMを動かすまでの記録",
    "/posts/aws-cert-study/": "AWS認定の勉強を生成AIと一緒に進める",
    "/posts/genai-weekly-roundup/": "今週の生成AIニュースまとめ（2月第3週）",
    "/posts/2025-01-20-openai-news/": "新しい推論モデルの発表を読む",
    "/posts/2025-01-15-naive-date/": "時刻だけが書かれた記事",
    "/posts/2025-02-01-bundle-post/": "ページバンドルで書いた記事",
    "/posts/prompt-tips/": "プロンプトの書き方のコツ（書き直し版）",
    "/posts/zz-prompt-tips/": "プロンプトの書き方のコツ（最初の版）",
}

FENCED_HTML = (
    "```html\n"
    '<div id="chat-widget"></div>\n'
    '<script src="https://cdn.example.com/widget.js"></script>\n'
    "<script>\n"
    '  startChat({ target: "#chat-widget", endpoint: "http://localhost:8080" });\n'
    "</script>\n"
    "```\n"
)

_ASIDE_RE = re.compile(r'<aside class="affiliate[^"]*"[^>]*>.*?</aside>', re.DOTALL)


@pytest.fixture
def imported(hugo_site, affiliate_settings):
    """The fixture site, imported; what the command printed."""
    return run_command("import_hugo", hugo_site)


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def boxes(html):
    """The affiliate boxes of a page, in order, as (classes, html) pairs."""
    return [(re.match(r'<aside class="([^"]*)"', box).group(1), box) for box in _ASIDE_RE.findall(html)]


def hrefs(html):
    return [attrs.get("href", "") for tag, attrs in start_tags(html, "a")]


def amazon_keyword(url):
    return parse_qs(urlsplit(url).query)["k"][0]


def lines_about(output, key):
    return [line for line in output.splitlines() if line.startswith(f"{key}: ")]


# --- The fixture site, imported ------------------------------------------------------


def test_the_fixture_site_imports_with_no_failure(imported):
    assert "created 11, updated 0, unchanged 0, warnings 1, broken links 1, failed 0." in imported
    assert Post.objects.count() == FILE_COUNT


def test_each_post_answers_at_its_slug_with_its_title_and_summary_list(client, imported):
    for url, title in PUBLISHED.items():
        html = page(client, url)
        assert f'<h1 class="post__title">{escape(title)}</h1>' in html, url
        assert re.search(r'<h2 id="3行要約">.*?</h2>\s*<ul>\s*<li>', article_body(html), re.DOTALL), url


def test_a_post_shows_its_description_table_and_highlighted_code(client, imported):
    html = page(client, "/posts/local-llm-gpu-guide/")
    body = article_body(html)

    assert "中古GPUと小さな量子化モデルで、家庭のPCに対話AIを置いてみた。" in html
    assert "<table>" in body and "<td>Q4_K_M</td>" in body
    assert '<pre class="highlight" data-lang="python">' in body
    assert '<span class="kn">from</span>' in body


def test_a_post_shows_its_cover_with_alt_text(client, hugo_site, imported):
    html = page(client, "/posts/local-llm-gpu-guide/")

    figure = html[html.index('<figure class="post__cover">') : html.index("</figure>")]
    [img] = [attrs for tag, attrs in start_tags(figure, "img")]
    assert img["alt"] == "机の上のグラフィックボード"
    assert (img["width"], img["height"]) == ("64", "48")
    post = Post.objects.get(slug="local-llm-gpu-guide")
    assert img["src"] == post.cover.url
    assert_same_picture(post.cover, hugo_site / "static/images/posts/2025-03-01-a1b2c3d4.png")


def test_a_page_bundle_takes_its_cover_from_beside_its_index(client, hugo_site, imported):
    html = page(client, "/posts/2025-02-01-bundle-post/")

    [img] = [attrs for tag, attrs in start_tags(html, "img") if attrs.get("alt") == "夕焼けの写真"]
    post = Post.objects.get(slug="2025-02-01-bundle-post")
    assert img["src"] == post.cover.url
    assert_same_picture(post.cover, hugo_site / "content/posts/2025-02-01-bundle-post/cover.jpg")


def assert_same_picture(cover, source):
    """The stored cover is the source saved again for the web, under a name of its own."""
    assert Path(cover.name).name != source.name and Path(cover.name).suffix == source.suffix
    with cover.open("rb") as stored, Image.open(stored) as kept, Image.open(source) as given:
        assert (kept.format, kept.size) == (given.format, given.size)
        if given.format == "PNG":
            assert kept.convert("RGB").tobytes() == given.convert("RGB").tobytes()


def test_a_rawhtml_product_card_becomes_a_product_box_where_it_stood(client, imported):
    body = article_body(page(client, "/posts/local-llm-gpu-guide/"))

    [(classes, box)] = boxes(body)
    assert classes == "affiliate affiliate--marker affiliate--product"
    assert body.split("</ul>", 1)[1].lstrip().startswith("<aside"), "the box follows the summary list"
    assert "Jetson Orin Nano 開発者キット" in box
    assert "手のひらサイズで推論を試せる入門機。消費電力も小さい" in box
    [amazon, rakuten] = hrefs(box)
    assert amazon == f"https://www.amazon.co.jp/s?k=Jetson%20Orin%20Nano&tag={AMAZON_TAG}"
    assert rakuten.startswith(f"https://hb.afl.rakuten.co.jp/hgc/{RAKUTEN_ID}/?pc=")
    assert "Jetson%2520Orin%2520Nano" in rakuten


def test_product_cards_at_the_end_stay_at_the_end_under_their_headings(client, imported):
    html = page(client, "/posts/aws-cert-study/")
    body = article_body(html)

    found = boxes(body)
    assert [classes for classes, _ in found] == [
        "affiliate affiliate--marker affiliate--product",
        "affiliate affiliate--marker affiliate--product",
        "affiliate affiliate--marker",
        "affiliate affiliate--marker",
    ]
    text_end = body.index("を一冊だけに絞った。")
    shop = body.index("この記事で紹介した関連商品")
    assert text_end < shop < body.index(found[0][1]), "the cards stay in their section at the end"
    assert body.index("資格対策の参考書") < body.index(found[0][1]) < body.index(found[1][1])
    assert body.index(found[1][1]) < body.index("もっと探す") < body.index(found[2][1])
    assert body.index("関連情報をもっと知りたい方へ") < body.index(found[3][1])
    assert "AWS認定クラウドプラクティショナー模擬問題集" in found[0][1]
    assert "本番に近い形式で弱点を洗い出せる" in found[0][1]
    assert "図解でわかるクラウド入門" in found[1][1]
    for _, box in found:
        amazon, rakuten = hrefs(box)
        assert parse_qs(urlsplit(amazon).query)["tag"] == [AMAZON_TAG]
        assert rakuten.startswith(f"https://hb.afl.rakuten.co.jp/hgc/{RAKUTEN_ID}/")
    for old in OLD_IDS:
        assert old not in html


def test_product_cards_become_registry_products_and_search_buttons_affiliate_markers(imported):
    body = Post.objects.get(source_path=OLD_STYLE).body
    markers = re.findall(r"^\{\{< (affiliate|product) (.+?) >\}\}$", body, re.MULTILINE)

    assert markers == [
        ("product", "aws認定クラウドプラクティショナー模擬問題集"),
        ("product", "図解でわかるクラウド入門"),
        ("affiliate", '"AWS ハンズオン"'),
        ("affiliate", '"AWS 資格 テキスト"'),
    ]
    products = {product.slug: (product.name, product.keyword, product.reason) for product in Product.objects.all()}
    assert products["aws認定クラウドプラクティショナー模擬問題集"] == (
        "AWS認定クラウドプラクティショナー模擬問題集", "AWS クラウドプラクティショナー 問題集", "本番に近い形式で弱点を洗い出せる"
    )
    assert products["図解でわかるクラウド入門"] == ("図解でわかるクラウド入門", "クラウド 入門 図解", "用語の関係を絵でつかめる")
    assert products["jetson-orin-nano-開発者キット"][:2] == ("Jetson Orin Nano 開発者キット", "Jetson Orin Nano")
    assert not AffiliateBox.objects.exists(), "boxes placed in the body are markers, not records"


def test_no_stored_body_keeps_affiliate_html_other_shortcodes_or_json_ld(imported):
    leftovers = ["<div style", "{{< rawhtml", "{{< /rawhtml", "application/ld+json", OLD_IDS[1] + "/?pc=https%3A%2F%2Fsearch.rakuten.co.jp%2Fsearch%2Fmall%2FAWS"]
    for source_path, body in Post.objects.values_list("source_path", "body"):
        for leftover in leftovers:
            assert leftover not in body, (source_path, leftover)
        shortcodes = re.findall(r"\{\{<\s*(\S+)", body)
        assert set(shortcodes) <= {"affiliate", "product"}, (source_path, shortcodes)


def test_a_disclosure_line_after_boxes_goes_and_one_beside_pasted_links_stays(imported):
    assert "※このページのリンクから購入すると" not in Post.objects.get(source_path=OLD_STYLE).body
    assert '<small style="color:#888">※上のリンクはアフィリエイトリンクです。</small>' in Post.objects.get(source_path=MAIN).body_html


def test_a_pasted_rakuten_link_gets_the_rakuten_id_of_the_settings_even_after_it_changes(client, imported, affiliate_settings):
    def rakuten_links():
        html = article_body(page(client, "/posts/local-llm-gpu-guide/"))
        return [href for href in hrefs(html) if "hb.afl.rakuten" in href and "LLM%2F" in href]

    [link] = rakuten_links()
    assert link.startswith(f"https://hb.afl.rakuten.co.jp/hgc/{RAKUTEN_ID}/?pc=")
    affiliate_settings.rakuten_id = "9999zzzz.8888yyyy"
    affiliate_settings.save()
    [link] = rakuten_links()
    assert link.startswith("https://hb.afl.rakuten.co.jp/hgc/9999zzzz.8888yyyy/?pc=")
    assert OLD_IDS[1] not in link


def test_a_fenced_html_block_keeps_its_script_and_div_but_the_page_runs_nothing(client, imported):
    assert FENCED_HTML in Post.objects.get(source_path=MAIN).body

    html = page(client, "/posts/local-llm-gpu-guide/")
    assert start_tags(article_body(html), "script") == []
    assert foreign_scripts(html) == []
    assert '<pre class="highlight" data-lang="html">' in html
    assert "startChat" in html and '<span class="nt">script</span>' in html


def test_the_faq_stays_as_headings_and_its_json_ld_is_made_by_kiji(client, imported):
    assert "ld+json" not in Post.objects.get(source_path=MAIN).body
    html = page(client, "/posts/local-llm-gpu-guide/")

    assert "Q1: ノートPCでも動きますか？" in html
    assert "内蔵GPUでも動くが、7Bモデルでも返答に数十秒かかる。" in html
    faq_pages = [
        json.loads(text)
        for attrs, text in scripts(html)
        if attrs.get("type") == "application/ld+json" and '"FAQPage"' in text
    ]
    assert len(faq_pages) == 1
    assert "ノートPCでも動きますか？" in [q["name"] for q in faq_pages[0]["mainEntity"]]


def test_non_affiliate_raw_html_is_kept_and_sanitized(client, imported):
    body = Post.objects.get(source_path=MAIN).body
    assert "onclick" not in body
    assert '<div class="notice">' in body

    html = article_body(page(client, "/posts/local-llm-gpu-guide/"))
    start = html.index('<div class="notice">')
    notice = html[start : html.index("</div>", start)]
    assert "<p>⚠️ 速度は筆者の自宅PCで測った値です。</p>" in notice
    assert "<p>ドライバの版によって結果は変わります。</p>" in notice
    assert "onclick" not in html


def test_markdown_amazon_links_stay_links_and_get_the_configured_tag(client, imported):
    assert "[ローカルLLMの本](https://www.amazon.co.jp/s?k=" in Post.objects.get(source_path=MAIN).body

    body = _ASIDE_RE.sub("", article_body(page(client, "/posts/local-llm-gpu-guide/")))
    [link] = [href for href in hrefs(body) if "amazon.co.jp" in href]
    assert amazon_keyword(link) == "ローカルLLM 入門"
    assert parse_qs(urlsplit(link).query)["tag"] == [AMAZON_TAG]
    assert ">ローカルLLMの本</a>" in body


# --- URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new",
    [
        ("/posts/2025-03-01-a1b2c3d4/", "/posts/local-llm-gpu-guide/"),
        ("/posts/2025-02-10-e5f6a7b8/", "/posts/aws-cert-study/"),
        ("/posts/2025-02-17-weekly/", "/posts/genai-weekly-roundup/"),
        ("/posts/aa-prompt-tips/", "/posts/prompt-tips/"),
    ],
)
def test_a_file_name_url_redirects_permanently_to_the_slug(client, imported, old, new):
    response = client.get(old)
    assert response.status_code == 301
    assert response["Location"] == new


@pytest.mark.parametrize("alias", ["/weekly/2025-02-17/", "/posts/weekly-0217/"])
def test_an_alias_redirects_permanently_to_its_post(client, imported, alias):
    response = client.get(alias)
    assert response.status_code == 301
    assert response["Location"] == "/posts/genai-weekly-roundup/"


def test_a_post_that_had_a_url_is_redirected_there_from_it(client, imported):
    response = client.get("/archive/old-moved-post/")

    assert response.status_code == 301
    moved = Post.objects.get(source_path="content/posts/2025-01-10-moved.md")
    assert response["Location"] == moved.get_absolute_url()
    assert "古いURLで公開していた記事" in page(client, response["Location"])


def test_tags_that_differ_only_in_case_are_one_term_page(client, imported):
    assert Tag.objects.filter(name__iexact="genai").count() == 1

    html = page(client, "/tags/genai/")
    for title in ["手元のGPUでローカルLLMを動かすまでの記録", "AWS認定の勉強を生成AIと一緒に進める", "今週の生成AIニュースまとめ（2月第3週）"]:
        assert escape(title) in html


@pytest.mark.parametrize(
    "url, title",
    [
        ("/tags/rtx-4060-ti/", "手元のGPUでローカルLLMを動かすまでの記録"),
        ("/tags/ローカルllm/", "手元のGPUでローカルLLMを動かすまでの記録"),
        ("/tags/claude-code/", "ページバンドルで書いた記事"),
        ("/categories/ai-tools/", "ページバンドルで書いた記事"),
        ("/categories/資格学習/", "AWS認定の勉強を生成AIと一緒に進める"),
        ("/categories/ai-news/", "新しい推論モデルの発表を読む"),
    ],
)
def test_term_pages_are_at_hugos_urlized_names(client, imported, url, title):
    assert escape(title) in page(client, url)


def test_a_link_to_a_post_by_its_file_name_is_rewritten_to_its_slug(client, imported):
    body = Post.objects.get(source_path=MAIN).body

    assert "[資格の勉強にもAIを使う](/posts/aws-cert-study/)" in body
    assert "/posts/2025-02-10-e5f6a7b8/" not in body
    assert "[今週の生成AIまとめ](/posts/genai-weekly-roundup/)" in body
    assert "/posts/aws-cert-study/" in hrefs(page(client, "/posts/local-llm-gpu-guide/"))


def test_a_link_to_a_missing_post_is_reported_as_broken_and_left_alone(imported):
    [line] = [line for line in imported.splitlines() if "2024-12-31-removed-article" in line]
    assert line.startswith(f"{MAIN}: ")
    assert "/posts/2024-12-31-removed-article/" in line
    assert "[去年の検証記事](/posts/2024-12-31-removed-article/)" in Post.objects.get(source_path=MAIN).body


def test_when_two_files_claim_one_slug_the_newer_keeps_it_as_on_the_hugo_site(client, imported):
    assert Post.objects.get(source_path="content/posts/aa-prompt-tips.md").slug == "prompt-tips"
    assert Post.objects.get(source_path="content/posts/zz-prompt-tips.md").slug == "zz-prompt-tips"
    assert "（書き直し版）" in page(client, "/posts/prompt-tips/")
    assert "（最初の版）" in page(client, "/posts/zz-prompt-tips/")

    [line] = lines_about(imported, "content/posts/zz-prompt-tips.md")
    assert "“prompt-tips” is also claimed by newer content/posts/aa-prompt-tips.md" in line
    assert line.endswith("served at /posts/zz-prompt-tips/")
    assert lines_about(imported, "content/posts/aa-prompt-tips.md") == []


def test_a_post_keeps_its_url_when_a_newer_file_claims_its_slug_later(client, hugo_site, imported):
    newest = hugo_site / "content" / "posts" / "2025-04-01-prompt-tips-v3.md"
    newest.write_text(
        '---\ntitle: "三つ目の版"\ndate: 2025-04-01T09:00:00+09:00\nslug: "prompt-tips"\n---\n本文です。\n',
        encoding="utf-8",
    )

    output = run_command("import_hugo", hugo_site)

    assert "（書き直し版）" in page(client, "/posts/prompt-tips/")
    assert "三つ目の版" in page(client, "/posts/2025-04-01-prompt-tips-v3/")
    [line] = lines_about(output, "content/posts/2025-04-01-prompt-tips-v3.md")
    assert "is also claimed by content/posts/aa-prompt-tips.md, which keeps it" in line


# --- Publication and dates -----------------------------------------------------------


def test_a_draft_is_not_found_by_readers(client, imported):
    post = Post.objects.get(source_path="content/posts/2025-03-05-unfinished.md")

    assert post.status == Post.Status.DRAFT
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    assert "書きかけの下書き記事" not in client.get("/posts/").content.decode()


def test_an_expired_post_is_not_found(client, imported):
    post = Post.objects.get(source_path="content/posts/2025-01-05-newyear-sale.md")

    assert post.expires_at == datetime(2025, 1, 31, 23, 59, 59, tzinfo=TOKYO)
    assert client.get(f"/posts/{post.slug}/").status_code == 404
    assert "年始セール" not in client.get("/tags/セール/").content.decode()


def test_lastmod_becomes_the_updated_date_shown(client, imported):
    html = page(client, "/posts/aws-cert-study/")

    assert '<time datetime="2025-02-10T07:30:00+09:00">' in html
    assert '<time datetime="2025-02-20T12:00:00+09:00">' in html
    post = Post.objects.get(slug="aws-cert-study")
    assert post.updated_at == datetime(2025, 2, 20, 12, 0, tzinfo=TOKYO)


def test_a_post_without_lastmod_shows_no_update(client, imported):
    html = page(client, "/posts/local-llm-gpu-guide/")

    start = html.index('<p class="post__meta">')
    meta = html[start : html.index("</p>", start)]
    assert re.findall(r'<time datetime="([^"]+)">', meta) == ["2025-03-01T08:00:00+09:00"]


def test_a_date_without_a_zone_takes_the_time_zone_of_the_site_config(hugo_site, affiliate_settings):
    config = hugo_site / "hugo.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("Asia/Tokyo", "America/New_York"), encoding="utf-8")

    run_command("import_hugo", hugo_site)

    naive = Post.objects.get(source_path="content/posts/2025-01-15-naive-date.md")
    assert naive.published_at == datetime(2025, 1, 15, 9, 30, tzinfo=ZoneInfo("America/New_York"))
    zoned = Post.objects.get(source_path=MAIN)
    assert zoned.published_at == datetime(2025, 3, 1, 8, 0, tzinfo=TOKYO)


# --- Importing again -----------------------------------------------------------------


def database_state():
    return {
        "posts": list(
            Post.objects.order_by("id").values_list("id", "slug", "updated_at", "body_html", "cover")
        ),
        "boxes": list(
            AffiliateBox.objects.order_by("id").values_list("id", "post_id", "keyword", "position")
        ),
        "redirects": list(Redirect.objects.order_by("id").values_list("id", "old_path", "new_path")),
        "categories": list(Category.objects.order_by("id").values_list("id", "name")),
        "tags": list(Tag.objects.order_by("id").values_list("id", "name")),
        "post tags": sorted(Post.tags.through.objects.values_list("post_id", "tag_id")),
    }


def test_importing_again_changes_nothing(hugo_site, imported, media_root):
    before, files = database_state(), media_files(media_root)

    output = run_command("import_hugo", hugo_site)

    assert f"created 0, updated 0, unchanged {FILE_COUNT}," in output
    assert database_state() == before
    assert media_files(media_root) == files
    assert len(files) == 3


def test_an_edited_file_updates_only_its_post(client, hugo_site, imported):
    before = database_state()
    source = hugo_site / MAIN
    source.write_text(
        source.read_text(encoding="utf-8").replace("電気代と騒音は思ったより控えめで", "電気代は月に数百円ほどで"),
        encoding="utf-8",
    )

    output = run_command("import_hugo", hugo_site)

    assert f"created 0, updated 1, unchanged {FILE_COUNT - 1}," in output
    html = page(client, "/posts/local-llm-gpu-guide/")
    assert "電気代は月に数百円ほどで" in html and "電気代と騒音" not in html
    after = database_state()
    edited = Post.objects.get(source_path=MAIN).id
    assert [post[0] for post in after["posts"]] == [post[0] for post in before["posts"]]
    others = [[post for post in state["posts"] if post[0] != edited] for state in (before, after)]
    assert others[0] == others[1]
    assert after["redirects"] == before["redirects"]


def test_a_new_file_is_created_on_the_next_import(client, hugo_site, imported):
    (hugo_site / "content/posts/2025-03-10-new-post.md").write_text(
        '---\ntitle: "あとから足した記事"\ndate: 2025-03-10T08:00:00+09:00\n---\n## 3行要約\n\n- 新しく書いた。\n',
        encoding="utf-8",
    )

    output = run_command("import_hugo", hugo_site)

    assert f"created 1, updated 0, unchanged {FILE_COUNT}," in output
    assert "あとから足した記事" in page(client, "/posts/2025-03-10-new-post/")


def test_a_deleted_file_is_reported_as_gone_and_its_post_kept(client, hugo_site, imported):
    gone = "content/posts/2025-01-15-naive-date.md"
    (hugo_site / gone).unlink()

    output = run_command("import_hugo", hugo_site)

    [line] = lines_about(output, gone)
    assert "gone" in line and "--prune" in line
    assert f"created 0, updated 0, unchanged {FILE_COUNT - 1}," in output
    assert client.get("/posts/2025-01-15-naive-date/").status_code == 200


def test_prune_deletes_the_post_of_a_deleted_file(client, hugo_site, imported):
    gone = "content/posts/2025-01-15-naive-date.md"
    (hugo_site / gone).unlink()

    output = run_command("import_hugo", hugo_site, "--prune")

    [line] = lines_about(output, gone)
    assert "deleted" in line
    assert not Post.objects.filter(source_path=gone).exists()
    assert Post.objects.count() == FILE_COUNT - 1
    assert client.get("/posts/2025-01-15-naive-date/").status_code == 404


def test_a_dry_run_reports_what_it_would_do_and_writes_nothing(hugo_site, media_root):
    output = run_command("import_hugo", hugo_site, "--dry-run")

    assert "Dry run" in output
    assert f"created {FILE_COUNT}, updated 0, unchanged 0," in output
    for model in (Post, AffiliateBox, Category, Tag, Redirect, SiteSettings, AffiliateSettings):
        assert model.objects.count() == 0, model.__name__
    assert media_files(media_root) == {}


# --- Broken files --------------------------------------------------------------------

FRONT = '---\ntitle: "{title}"\ndate: 2025-01-01T09:00:00+09:00\n{extra}---\n## 3行要約\n\n- 本文です。\n'


def billion_laughs():
    lines = ['a: &a ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.fixture
def broken_site(tmp_path):
    """A site with one good post and a dozen files that are each wrong in their own way;
    returns (site, {file: what its line must end with, …}, paths that must stay untouched)."""
    site = tmp_path / "broken-site"
    posts = site / "content" / "posts"
    images = site / "static" / "images"
    posts.mkdir(parents=True)
    images.mkdir(parents=True)
    (site / "hugo.toml").write_text(
        'baseURL = "https://blog.example.jp/"\ntitle = "壊れたファイルの山"\ntimeZone = "Asia/Tokyo"\n',
        encoding="utf-8",
    )
    outside = tmp_path / "outside" / "secret.png"
    outside.parent.mkdir()
    outside.write_bytes(image_bytes("PNG", (17, 13)))
    pwned = tmp_path / "pwned.txt"
    (images / "notes.png").write_text("これは画像ではなくメモです。", encoding="utf-8")

    def front(title, extra=""):
        return FRONT.format(title=title, extra=extra)

    files = {
        "good.md": front("ちゃんとした記事"),
        "shift-jis.md": front("文字コードが違う記事").encode("shift_jis"),
        "binary.md": image_bytes("PNG"),
        "huge.md": front("大きすぎる記事") + ("長い本文。" * 60 + "\n") * 2600,
        "no-title.md": "---\ndate: 2025-01-01T09:00:00+09:00\n---\n本文です。\n",
        "unclosed.md": '---\ntitle: "閉じていない記事"\ndate: 2025-01-01T09:00:00+09:00\n\n本文です。\n',
        "invalid-yaml.md": "---\ntitle: [閉じない括弧\ndate: 2025-01-01T09:00:00+09:00\n---\n本文です。\n",
        "python-tag.md": front(
            "危険なタグ",
            f"hook: !!python/object/apply:os.system {json.dumps([f'echo pwned > {pwned}'])}\n",
        ),
        "alias-bomb.md": front("エイリアスの爆弾", billion_laughs()),
        "toml-error.md": '+++\ntitle = "閉じない文字列\ndate = 2025-01-01T09:00:00+09:00\n+++\n本文です。\n',
        "cover-traversal.md": front("上の階層を指す表紙", "cover:\n  image: ../../etc/passwd\n"),
        "cover-absolute.md": front("サイトの外を指す表紙", f"cover:\n  image: {json.dumps(str(outside))}\n"),
        "cover-missing.md": front("表紙が見つからない記事", "cover:\n  image: /images/nothing-here.png\n"),
        "cover-not-image.md": front("表紙が画像でない記事", "cover:\n  image: /images/notes.png\n"),
    }
    for name, content in files.items():
        path = posts / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    assert (posts / "huge.md").stat().st_size > 2 * 1024 * 1024
    endings = {name: "not imported" for name in files if not name.startswith(("good", "cover-"))}
    endings.update({name: "imported without a cover" for name in files if name.startswith("cover-")})
    return site, endings, {"pwned": pwned, "outside": outside}


# What each line must say is wrong, in a word or two.
PROBLEMS = {
    "shift-jis.md": "UTF-8",
    "binary.md": "binary",
    "huge.md": "MB",
    "no-title.md": "title",
    "unclosed.md": "never closed",
    "invalid-yaml.md": "YAML",
    "python-tag.md": "YAML",
    "alias-bomb.md": "alias",
    "toml-error.md": "TOML",
    "cover-traversal.md": "leaves the site",
    "cover-absolute.md": "not found",
    "cover-missing.md": "not found",
    "cover-not-image.md": "notes.png",
}


def test_each_broken_file_gets_one_clear_line_and_the_good_file_is_imported(client, broken_site):
    site, endings, _ = broken_site

    output, error = run_failing_command("import_hugo", site)

    for name, ending in endings.items():
        key = f"content/posts/{name}"
        lines = lines_about(output, key)
        assert len(lines) == 1, (name, lines)
        assert re.fullmatch(rf"{re.escape(key)}: .+: {ending}", lines[0]), lines[0]
        assert PROBLEMS[name].lower() in lines[0].lower(), lines[0]
    assert lines_about(output, "content/posts/good.md") == []
    assert "created 5, updated 0, unchanged 0, warnings 4, broken links 0, failed 9." in output
    assert "9 file(s)" in error
    assert "ちゃんとした記事" in page(client, "/posts/good/")
    assert "表紙が画像でない記事" in page(client, "/posts/cover-not-image/")


def test_a_yaml_python_tag_runs_nothing(broken_site):
    site, _, untouched = broken_site

    run_failing_command("import_hugo", site)

    assert not untouched["pwned"].exists()
    assert not Post.objects.filter(title="危険なタグ").exists()


def test_a_cover_outside_the_site_is_never_read(broken_site, media_root):
    site, _, _ = broken_site

    run_failing_command("import_hugo", site)

    for name in ["cover-traversal", "cover-absolute"]:
        post = Post.objects.get(slug=name)
        assert not post.cover
    assert media_files(media_root) == {}, "no cover was stored, the outside image included"


def test_verbosity_0_prints_only_the_problem_lines(broken_site):
    site, endings, _ = broken_site

    output, _ = run_failing_command("import_hugo", site, "--verbosity", "0")

    lines = [line for line in output.splitlines() if line.strip()]
    keys = sorted(line.split(": ", 1)[0] for line in lines)
    assert keys == sorted(f"content/posts/{name}" for name in endings)
    assert "created" not in output and "site settings" not in output


# --- A real Hugo site ----------------------------------------------------------------

SAMPLES = os.environ.get("KIJI_HUGO_SAMPLES")


@pytest.mark.skipif(not SAMPLES, reason="KIJI_HUGO_SAMPLES names no Hugo site to import (CI sets it)")
def test_a_real_hugo_site_imports_cleanly(client, affiliate_settings):
    output = run_command("import_hugo", SAMPLES)

    assert "failed 0." in output
    assert Post.objects.count() == 10
    for post in Post.objects.all():
        html = page(client, f"/posts/{post.slug}/")
        assert escape(post.title) in html, post.slug
        source = (Path(SAMPLES) / post.source_path).read_text(encoding="utf-8")
        if re.search(r"^\|.*\|\s*$", source, re.MULTILINE):
            assert "<table>" in html, post.slug
        for leftover in ["hb.afl.rakuten", "rawhtml", "ld+json"]:
            assert leftover not in post.body, (post.source_path, leftover)
        # The old boxes are Kiji's markers now; no other shortcode is left.
        assert not re.search(r"\{\{<(?!\s*(?:product|affiliate)\s)", post.body), post.source_path
