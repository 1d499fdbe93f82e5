"""What search engines and social networks read: titles, descriptions, canonical URLs,
Open Graph and Twitter cards, schema.org JSON-LD, ad slots and the 404 page."""

import json
from datetime import datetime

import pytest
from django.core.files.base import ContentFile

from posts.models import AffiliateBox, Category, SiteSettings, Tag
from tests.conftest import image_bytes, make_post, scripts, start_tags

pytestmark = pytest.mark.django_db

HOSTILE = "</script><script>alert(1)</script>"
FAQ_BODY = """## 3行要約

- 要点。

## 本文

本文です。

## よくある質問

### Q1: ローカルLLMにGPUは必要ですか？

なくても動きますが、
あると**ずっと**速くなります。

### Q2: 量子化とは何ですか？

モデルの重みを少ないビットで表すことです。

- 精度は少し落ちます。
- メモリは大きく減ります。

## まとめ

まとめの段落はFAQに入りません。
"""


@pytest.fixture
def site():
    site = SiteSettings.load()
    site.title = "AIニュースの森"
    site.tagline = "AIの今を、毎日やさしく"
    site.description = "生成AIのニュースを、わかりやすく。"
    site.save()
    return site


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, url
    return response.content.decode()


def metas(html):
    """{name or property: content} of the page's <meta> tags (the last one of a name wins)."""
    return {
        attrs.get("property") or attrs.get("name"): attrs.get("content")
        for _tag, attrs in start_tags(html, "meta")
        if attrs.get("property") or attrs.get("name")
    }


def canonical(html):
    [href] = [attrs["href"] for _tag, attrs in start_tags(html, "link") if attrs.get("rel") == "canonical"]
    return href


def json_ld(html):
    """Every JSON-LD block of the page, parsed."""
    return [json.loads(text) for attrs, text in scripts(html) if attrs.get("type") == "application/ld+json"]


def block(html, schema_type):
    [found] = [data for data in json_ld(html) if data["@type"] == schema_type]
    return found


def script_elements(html):
    """How many <script> elements the HTML opens, as a browser would count them."""
    return html.count("<script")


def post_with_cover(**overrides):
    post = make_post(**overrides)
    post.cover.save("cover.png", ContentFile(image_bytes("PNG", (120, 63))))
    return post


def test_an_article_has_its_title_description_and_absolute_canonical_url(client, site):
    make_post(title="量子コンピュータの現在", slug="quantum-now", description="量子コンピュータの今を三行で。")

    html = page(client, "/posts/quantum-now/?utm_source=x")

    assert "<title>量子コンピュータの現在 | AIニュースの森</title>" in html
    assert metas(html)["description"] == "量子コンピュータの今を三行で。"
    assert canonical(html) == "http://testserver/posts/quantum-now/"


def test_an_article_without_a_description_is_described_by_its_summary(client, site):
    make_post(slug="summary-only", body="## 3行要約\n\n- 一つ目。\n- 二つ目。\n\n本文です。\n")

    html = page(client, "/posts/summary-only/")

    assert metas(html)["description"] == "一つ目。二つ目。"
    assert metas(html)["og:description"] == "一つ目。二つ目。"


def test_an_article_shares_as_an_open_graph_article_and_a_large_twitter_card(client, site, media_root):
    post = post_with_cover(title="GPU価格の動向", slug="gpu-prices", description="GPUの値段を追いかけます。")

    html = page(client, "/posts/gpu-prices/")

    meta = metas(html)
    names = [attrs.get("property") or attrs.get("name") for _tag, attrs in start_tags(html, "meta")]
    assert all(names.count(name) == 1 for name in names if name and name.startswith(("og:", "twitter:")))
    cover = "http://testserver" + post.cover.url
    assert cover.startswith("http://testserver/media/covers/")
    assert meta["og:type"] == "article"
    assert meta["og:site_name"] == "AIニュースの森"
    assert meta["og:title"] == meta["twitter:title"] == "GPU価格の動向"
    assert meta["og:description"] == meta["twitter:description"] == "GPUの値段を追いかけます。"
    assert meta["og:url"] == "http://testserver/posts/gpu-prices/"
    assert meta["og:image"] == meta["twitter:image"] == cover
    assert meta["twitter:card"] == "summary_large_image"


def test_a_post_without_a_cover_shares_the_default_image(client, site, media_root):
    make_post(slug="no-cover")

    meta = metas(page(client, "/posts/no-cover/"))
    assert meta["og:image"] == meta["twitter:image"] == "http://testserver/static/img/share-default.png"

    site.default_share_image.save("share.png", ContentFile(image_bytes("PNG", (120, 63))))
    meta = metas(page(client, "/posts/no-cover/"))
    assert meta["og:image"] == meta["twitter:image"] == "http://testserver" + site.default_share_image.url
    assert meta["og:image"].startswith("http://testserver/media/site/")


@pytest.mark.parametrize("model, url", [(Tag, "/tags/%E9%87%8F%E5%AD%90%E5%8C%96/"), (Category, "/categories/%E9%87%8F%E5%AD%90%E5%8C%96/")])
def test_a_term_page_shares_under_the_terms_name_and_description(client, site, model, url):
    make_post(tags=["量子化"], categories=["量子化"])
    model.objects.filter(name="量子化").update(description="量子化の記事をまとめました。")

    html = page(client, url)

    assert "<title>量子化 | AIニュースの森</title>" in html
    meta = metas(html)
    assert meta["description"] == "量子化の記事をまとめました。"
    assert "量子化" in meta["og:title"] and "量子化" in meta["twitter:title"]
    assert meta["og:description"] == meta["twitter:description"] == "量子化の記事をまとめました。"
    assert meta["og:url"] == canonical(html) == "http://testserver" + url


def test_every_json_ld_block_of_every_page_parses(client, site, media_root):
    post = post_with_cover(slug="faq-post", body=FAQ_BODY, categories=["AIニュース"], tags=["GPU"])
    for number in range(11):
        make_post(categories=["AIニュース"], tags=["GPU"])
    urls = [
        "/", "/page/2/", "/posts/", "/posts/page/2/", f"/posts/{post.slug}/", "/categories/",
        "/categories/ai%E3%83%8B%E3%83%A5%E3%83%BC%E3%82%B9/", "/tags/", "/tags/gpu/", "/archives/",
        "/search/?q=本文",
    ]  # fmt: skip

    blocks = {url: json_ld(page(client, url)) for url in urls}

    assert [data["@type"] for data in blocks["/"]] == ["WebSite"]
    assert [data["@type"] for data in blocks[f"/posts/{post.slug}/"]] == ["Article", "BreadcrumbList", "FAQPage"]
    for url, found in blocks.items():
        assert all(data["@context"] == "https://schema.org" for data in found), url


def test_the_article_block_describes_the_post_its_author_and_publisher(client, site, media_root, django_user_model):
    author = django_user_model.objects.create_user("hanako", first_name="花子", last_name="山田")
    post = post_with_cover(
        title="ローカルLLM入門",
        slug="local-llm",
        description="自宅のGPUでLLMを動かす。",
        categories=["ローカルLLM"],
        tags=["GPU", "量子化"],
        author=author,
    )

    article = block(page(client, "/posts/local-llm/"), "Article")

    assert article["headline"] == "ローカルLLM入門"
    assert article["description"] == "自宅のGPUでLLMを動かす。"
    assert article["url"] == article["mainEntityOfPage"]["@id"] == "http://testserver/posts/local-llm/"
    assert datetime.fromisoformat(article["datePublished"]) == post.published_at
    assert datetime.fromisoformat(article["dateModified"]) == post.updated_at
    assert article["author"] == {"@type": "Person", "name": "花子 山田"}
    assert article["publisher"] == {
        "@type": "Organization",
        "name": "AIニュースの森",
        "logo": {"@type": "ImageObject", "url": "http://testserver/static/img/logo.png"},
    }
    assert article["image"] == ["http://testserver" + post.cover.url]
    assert article["articleSection"] == "ローカルLLM"
    assert sorted(article["keywords"]) == ["GPU", "量子化"]
    assert article["inLanguage"] == "ja"
    assert article["wordCount"] == post.word_count > 0


def test_a_post_without_an_author_is_by_the_sites_author_or_the_site(client, site):
    make_post(slug="anonymous")
    assert block(page(client, "/posts/anonymous/"), "Article")["author"]["name"] == "AIニュースの森"

    site.author_name = "AIニュース編集部"
    site.save()
    assert block(page(client, "/posts/anonymous/"), "Article")["author"]["name"] == "AIニュース編集部"


def test_the_breadcrumbs_lead_from_home_through_the_first_category_to_the_post(client, site):
    make_post(title="GPU価格の動向", slug="gpu-prices", categories=["ハードウェア"])

    crumbs = block(page(client, "/posts/gpu-prices/"), "BreadcrumbList")["itemListElement"]

    assert crumbs == [
        {"@type": "ListItem", "position": 1, "name": "ホーム", "item": "http://testserver/"},
        {
            "@type": "ListItem",
            "position": 2,
            "name": "ハードウェア",
            "item": "http://testserver/categories/%E3%83%8F%E3%83%BC%E3%83%89%E3%82%A6%E3%82%A7%E3%82%A2/",
        },
        {"@type": "ListItem", "position": 3, "name": "GPU価格の動向", "item": "http://testserver/posts/gpu-prices/"},
    ]


def test_the_faq_section_becomes_a_faq_page_of_its_questions_and_answers(client, site):
    make_post(slug="faq", body=FAQ_BODY)

    faq = block(page(client, "/posts/faq/"), "FAQPage")

    assert faq["mainEntity"] == [
        {
            "@type": "Question",
            "name": "ローカルLLMにGPUは必要ですか？",
            "acceptedAnswer": {"@type": "Answer", "text": "なくても動きますが、あるとずっと速くなります。"},
        },
        {
            "@type": "Question",
            "name": "量子化とは何ですか？",
            "acceptedAnswer": {
                "@type": "Answer",
                "text": "モデルの重みを少ないビットで表すことです。 精度は少し落ちます。 メモリは大きく減ります。",
            },
        },
    ]


def test_a_post_without_a_faq_section_has_no_faq_page(client, site):
    make_post(slug="plain", body="## 3行要約\n\n- 要点。\n\n## 質問がある方へ\n\n### Q1: ではない見出し\n\n本文です。\n")

    html = page(client, "/posts/plain/")

    assert [data["@type"] for data in json_ld(html)] == ["Article", "BreadcrumbList"]
    assert "FAQPage" not in html


def test_the_home_page_tells_search_engines_how_to_search_the_site(client, site):
    website = block(page(client, "/"), "WebSite")

    assert website["name"] == "AIニュースの森"
    assert website["url"] == "http://testserver/"
    assert website["inLanguage"] == "ja"
    action = website["potentialAction"]
    assert action["@type"] == "SearchAction"
    assert action["target"]["urlTemplate"] == "http://testserver/search/?q={search_term_string}"
    assert action["query-input"] == "required name=search_term_string"


def test_a_hostile_title_and_faq_question_stay_inside_their_json(client, site):
    body = FAQ_BODY.replace("ローカルLLMにGPUは必要ですか？", "`</script><!--` を本文に書くと？")
    make_post(title="普通の記事", slug="ordinary", body=body, categories=["AIニュース"], tags=["GPU"])
    make_post(title=HOSTILE, slug="hostile", body=body, categories=["AIニュース"], tags=["GPU"])

    ordinary, hostile = page(client, "/posts/ordinary/"), page(client, "/posts/hostile/")

    assert script_elements(hostile) == script_elements(ordinary) == len(scripts(ordinary))
    assert "<script>alert(1)" not in hostile and "<!--" not in hostile
    assert block(hostile, "Article")["headline"] == HOSTILE
    assert block(hostile, "BreadcrumbList")["itemListElement"][-1]["name"] == HOSTILE
    assert block(hostile, "FAQPage")["mainEntity"][0]["name"] == "</script><!-- を本文に書くと？"
    assert metas(hostile)["og:title"] == HOSTILE


def test_a_hostile_site_title_stays_inside_the_home_pages_json(client, site):
    plain = page(client, "/")
    site.title = HOSTILE
    site.description = "</script>説明"
    site.save()

    html = page(client, "/")

    assert script_elements(html) == script_elements(plain)
    website = block(html, "WebSite")
    assert (website["name"], website["description"]) == (HOSTILE, "</script>説明")


def ad_pages(client, post):
    return {url: page(client, url) for url in ["/", "/posts/", f"/posts/{post.slug}/", "/tags/gpu/", "/archives/"]}


def ad_slots(html):
    return [attrs for _tag, attrs in start_tags(html, "ins") if "adsbygoogle" in attrs.get("class", "")]


def test_there_are_no_ads_unless_the_site_settings_ask_for_them(client, site):
    post = make_post(tags=["GPU"])
    post.affiliate_boxes.create(keyword="GPU", placement=AffiliateBox.Placement.END)

    for url, html in ad_pages(client, post).items():
        assert "googlesyndication" not in html, url
        assert "adsbygoogle" not in html, url

    site.ad_slot_top, site.ad_slot_bottom = "1111111111", "2222222222"
    site.save()
    for url, html in ad_pages(client, post).items():
        assert "googlesyndication" not in html and "adsbygoogle" not in html, url


def test_with_a_client_id_and_slot_ids_the_article_shows_its_two_ad_slots(client, site):
    post = make_post(tags=["GPU"])
    site.adsense_client = "ca-pub-1234567890123456"
    site.save()
    assert ad_slots(page(client, f"/posts/{post.slug}/")) == []

    site.ad_slot_top, site.ad_slot_bottom = "1111111111", "2222222222"
    site.save()
    html = page(client, f"/posts/{post.slug}/")

    slots = ad_slots(html)
    assert [(slot["data-ad-client"], slot["data-ad-slot"]) for slot in slots] == [
        ("ca-pub-1234567890123456", "1111111111"),
        ("ca-pub-1234567890123456", "2222222222"),
    ]
    [loader] = [attrs for attrs, _text in scripts(html) if "googlesyndication" in attrs.get("src", "")]
    assert loader["src"] == "https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?client=ca-pub-1234567890123456"
    body = html[html.index("<body") :]
    assert body.index("1111111111") < body.index('<div class="post__body">') < body.index("2222222222")
    assert ad_slots(page(client, "/")) == []


@pytest.mark.parametrize("url", ["/no-such-page/", "/posts/no-such-post/", "/tags/no-such-tag/"])
def test_the_404_page_has_the_sites_layout_and_a_way_home(client, site, url):
    html = page(client, url, status=404)

    assert "<title>ページが見つかりません | AIニュースの森</title>" in html
    assert '<a class="site-title" href="/">AIニュースの森</a>' in html
    assert '<nav class="menu"' in html and "<footer" in html
    assert '<a class="button" href="/">トップページへ戻る</a>' in html
    assert '<link rel="stylesheet" href="/static/css/kiji.css">' in html
