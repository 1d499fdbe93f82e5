import pytest

from tests.conftest import article_body, make_post, start_tags

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def goldmark(settings):
    """Hugo's goldmark as a Japanese site configures it: typographer and CJK line breaks on."""
    settings.KIJI_TYPOGRAPHER = True
    settings.KIJI_EAST_ASIAN_LINE_BREAKS = True
    return settings


def body(client, markdown, **fields):
    post = make_post(body=markdown, **fields)
    response = client.get(f"/posts/{post.slug}/")
    assert response.status_code == 200
    return article_body(response.content.decode())


def test_dashes_ellipses_and_guillemets_become_their_characters(client):
    html = body(client, "2019--2024 で --- 大きく変わった... << 引用 >>\n")
    assert "2019–2024 で — 大きく変わった… « 引用 »" in html
    assert "&ndash;" not in html and "&mdash;" not in html and "&hellip;" not in html


def test_quotes_curl_and_apostrophes_in_words_turn(client):
    html = body(client, "She said \"it's O'Reilly's\" and 'twas in the '90s, the Smiths' 'best'.\n")
    assert "She said “it’s O’Reilly’s” and ’twas in the ’90s, the Smiths’ ‘best’." in html


def test_quotes_beside_japanese_are_curled_as_goldmark_does(client):
    # Goldmark curls an opening quote at once; a closing one followed by a letter,
    # Japanese included, stays straight, and so does a pair inside a word.
    html = body(client, '「"引用"」と書き、"テスト"です。日本"語"も。\n')
    assert "「“引用”」と書き、“テスト\"です。日本\"語\"も。" in html


def test_unmatched_and_escaped_quotes_stay_straight(client):
    html = body(client, 'A 5\'6"" person and a \\"literal\\" quote.\n')
    assert "A 5'6\"\" person and a \"literal\" quote." in html


def test_code_is_left_as_written(client):
    markdown = (
        "Run `it's -- \"x\"...` now.\n\n"
        "```python\nprint(\"it's\") -- ...\n```\n\n"
        "    indented 'code' -- ...\n"
    )
    html = body(client, markdown)
    assert "<code>it's -- \"x\"...</code>" in html
    assert "it's" in html and "indented 'code' -- ..." in html
    assert "’" not in html and "–" not in html and "…" not in html


def test_raw_html_and_rawhtml_shortcodes_are_left_as_written(client):
    markdown = (
        '<div title="a--b">"block" -- ...</div>\n\n'
        'Inline <span title="it\'s">"x"</span> here.\n\n'
        "{{< rawhtml >}}\n<p>\"shortcode\" -- it's...</p>\n{{< /rawhtml >}}\n"
    )
    html = body(client, markdown)
    assert '<div title="a--b">"block" -- ...</div>' in html
    assert "<span title=\"it's\">“x”</span>" in html
    assert "<p>\"shortcode\" -- it's...</p>" in html


def test_link_text_is_typeset_but_urls_and_autolinks_are_not(client):
    markdown = (
        "[it's -- \"here\"](https://example.com/a--b...c \"it's\") "
        "<https://example.com/x--y> https://example.com/it's--z\n"
    )
    html = body(client, markdown)
    links = {attrs["href"]: attrs for tag, attrs in start_tags(html, "a")}
    assert links["https://example.com/a--b...c"]["title"] == "it's"
    assert ">it’s – “here”</a>" in html
    assert ">https://example.com/x--y</a>" in html
    assert "https://example.com/it's--z" in links


def test_image_alt_text_is_typeset(client):
    html = body(client, "![it's -- here](/media/x.png)\n")
    [img] = [attrs for tag, attrs in start_tags(html, "img")]
    assert img["alt"] == "it’s – here"


def test_heading_ids_are_taken_from_the_text_as_written(client):
    html = body(client, "## O'Reilly の本\n\n## A -- B\n\n## A -- B\n")
    headings = [attrs["id"] for tag, attrs in start_tags(html, "h2")]
    assert headings == ["oreilly-の本", "a----b", "a----b-1"]
    assert "O’Reilly の本" in html and "A – B" in html


def test_a_line_break_between_japanese_characters_disappears(client):
    html = body(client, "「これは文です。\n次の文です。」\n")
    assert "「これは文です。次の文です。」" in html


def test_a_line_break_next_to_latin_text_stays(client):
    html = body(client, "私はプログラマーです。\nGoで書きます。\nEnglish words\non two lines と\n`code`\n")
    assert "私はプログラマーです。\nGoで書きます。\nEnglish words\non two lines と\n<code>code</code>" in html


def test_a_line_break_after_fullwidth_punctuation_stays_as_in_goldmark(client):
    # Goldmark's East Asian characters are scripts (kana, kanji, hangul) and the CJK
    # punctuation block; fullwidth forms such as ！ are not among them.
    html = body(client, "すごい！\n次へ。読点、\n続く。\n")
    assert "すごい！\n次へ。読点、続く。" in html


def test_the_summary_text_and_table_of_contents_show_the_same_characters(client):
    markdown = (
        "## 3行要約\n\n- O'Reilly の \"本\" -- 入門...\n- 二つ目の\n要点。\n\n"
        "## It's \"new\" -- 本文\n\n本文の\n続き... です。\n"
    )
    post = make_post(body=markdown, description="")
    html = client.get(f"/posts/{post.slug}/").content.decode()
    toc = html[html.index('<details class="toc">') : html.index("</details>")]

    assert "O’Reilly の “本” – 入門…" in post.summary and "二つ目の要点。" in post.summary
    assert "It’s “new” – 本文" in post.body_text and "本文の続き… です。" in post.body_text
    assert ">It’s “new” – 本文</a>" in toc
    assert 'href="#its-new----本文"' in toc


def test_the_faq_shows_the_same_characters(client):
    markdown = "## よくある質問\n\n### Q1: It's \"free\"?\n\nはい...\n無料です。\n"
    post = make_post(body=markdown)
    assert post.faq == [{"question": "It’s “free”?", "answer": "はい… 無料です。"}]


def test_with_both_settings_off_the_text_is_rendered_as_written(client, goldmark):
    goldmark.KIJI_TYPOGRAPHER = False
    goldmark.KIJI_EAST_ASIAN_LINE_BREAKS = False
    html = body(client, "It's \"x\" -- y... << z >>\n「これは文です。\n次の文です。」\n")
    assert "It's \"x\" -- y... &lt;&lt; z &gt;&gt;\n「これは文です。\n次の文です。」" in html
