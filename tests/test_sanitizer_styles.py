import pytest

from posts.rendering import sanitize
from tests.conftest import article_body, make_post, start_tags

# A product card and search buttons as the imported posts write them (shorter links).
CARD = """\
<div style="border:1px solid #e0e0e0;border-radius:8px;padding:16px;margin:20px 0;background:#fafafa">
<p style="margin:0 0 4px;font-size:13px;color:#888">📦 この記事に関連する商品</p>
<strong style="font-size:16px">HHKB Professional HYBRID Type-S</strong>
<p style="color:#555;margin:8px 0;font-size:14px">エンジニア必携の最高峰キーボード。</p>
<div style="display:flex;gap:8px;flex-wrap:wrap">
<a href="https://www.amazon.co.jp/s?k=HHKB&amp;tag=negi3939-22" target="_blank" rel="noopener sponsored" style="padding:8px 16px;background:#ff9900;color:#fff;text-decoration:none;border-radius:4px;font-size:13px;font-weight:bold">Amazonで見る</a>
<a href="https://hb.afl.rakuten.co.jp/hgc/5000cbfd.5f52567b.5000cbff.924460a4/?pc=https%3A%2F%2Fsearch.rakuten.co.jp%2Fsearch%2Fmall%2FHHKB%2F" target="_blank" rel="noopener sponsored" style="padding:8px 16px;background:#bf0000;color:#fff;text-decoration:none;border-radius:4px;font-size:13px;font-weight:bold">楽天で見る</a>
</div>
<p style="margin:8px 0 0;font-size:11px;color:#aaa">※アフィリエイトリンクを含みます</p>
</div>
"""
SEARCH_BUTTONS = """\
<div style="display: flex; gap: 10px; flex-wrap: wrap; margin: 15px 0;">
<a href="https://www.amazon.co.jp/s?k=Apple%20MacBook%20Pro%20M3&amp;tag=negi3939-22" target="_blank" rel="noopener sponsored" style="padding: 10px 20px; background: linear-gradient(135deg, #ff9900, #ff6600); color: white; text-decoration: none; border-radius: 6px; font-weight: bold;">Amazonで「Apple MacBook Pro M3」を検索</a>
<a href="https://hb.afl.rakuten.co.jp/hgc/5000cbfd.5f52567b.5000cbff.924460a4/?pc=https%3A%2F%2Fsearch.rakuten.co.jp%2Fsearch%2Fmall%2FApple%2520MacBook%2520Pro%2520M3%2F" target="_blank" rel="noopener sponsored" style="padding: 10px 20px; background: linear-gradient(135deg, #bf0000, #8b0000); color: white; text-decoration: none; border-radius: 6px; font-weight: bold;">楽天で検索</a>
</div>

<small style="color: #888;">※上記リンクはアフィリエイトリンクです。</small>
"""

# What the sanitizer made of them before values were checked; the new filter must agree.
CARD_SANITIZED = """\
<div style="border:1px solid #e0e0e0;border-radius:8px;padding:16px;margin:20px 0">
<p style="margin:0 0 4px;font-size:13px;color:#888">📦 この記事に関連する商品</p>
<strong style="font-size:16px">HHKB Professional HYBRID Type-S</strong>
<p style="color:#555;margin:8px 0;font-size:14px">エンジニア必携の最高峰キーボード。</p>
<div style="display:flex;gap:8px;flex-wrap:wrap">
<a href="https://www.amazon.co.jp/s?k=HHKB&amp;tag=negi3939-22" target="_blank" rel="sponsored noopener" style="padding:8px 16px;color:#fff;text-decoration:none;border-radius:4px;font-size:13px;font-weight:bold">Amazonで見る</a>
<a href="https://hb.afl.rakuten.co.jp/hgc/5000cbfd.5f52567b.5000cbff.924460a4/?pc=https%3A%2F%2Fsearch.rakuten.co.jp%2Fsearch%2Fmall%2FHHKB%2F" target="_blank" rel="sponsored noopener" style="padding:8px 16px;color:#fff;text-decoration:none;border-radius:4px;font-size:13px;font-weight:bold">楽天で見る</a>
</div>
<p style="margin:8px 0 0;font-size:11px;color:#aaa">※アフィリエイトリンクを含みます</p>
</div>
"""
SEARCH_BUTTONS_SANITIZED = """\
<div style="display:flex;gap:10px;flex-wrap:wrap;margin:15px 0">
<a href="https://www.amazon.co.jp/s?k=Apple%20MacBook%20Pro%20M3&amp;tag=negi3939-22" target="_blank" rel="sponsored noopener" style="padding:10px 20px;color:white;text-decoration:none;border-radius:6px;font-weight:bold">Amazonで「Apple MacBook Pro M3」を検索</a>
<a href="https://hb.afl.rakuten.co.jp/hgc/5000cbfd.5f52567b.5000cbff.924460a4/?pc=https%3A%2F%2Fsearch.rakuten.co.jp%2Fsearch%2Fmall%2FApple%2520MacBook%2520Pro%2520M3%2F" target="_blank" rel="sponsored noopener" style="padding:10px 20px;color:white;text-decoration:none;border-radius:6px;font-weight:bold">楽天で検索</a>
</div>

<small style="color:#888">※上記リンクはアフィリエイトリンクです。</small>
"""

# Every (tag, style) the sample and fixture Hugo posts use, and the style it rendered as.
REAL_POST_STYLES = [
    ("div", "border: 1px solid #e0e0e0; border-radius: 8px; padding: 16px; margin: 8px 0; background: #fafafa;",
     "border:1px solid #e0e0e0;border-radius:8px;padding:16px;margin:8px 0"),
    ("div", "border: 1px solid #ddd; border-radius: 8px; padding: 16px; margin: 8px 0; background: #fafafa;",
     "border:1px solid #ddd;border-radius:8px;padding:16px;margin:8px 0"),
    ("div", "border:1px solid #e0e0e0;border-radius:8px;padding:16px;margin:20px 0;background:#fafafa",
     "border:1px solid #e0e0e0;border-radius:8px;padding:16px;margin:20px 0"),
    ("strong", "font-size: 16px;", "font-size:16px"),
    ("strong", "font-size:16px", "font-size:16px"),
    ("p", "color: #666; margin: 8px 0; font-size: 14px;", "color:#666;margin:8px 0;font-size:14px"),
    ("p", "color: #666; margin: 8px 0;", "color:#666;margin:8px 0"),
    ("p", "color:#555;margin:8px 0;font-size:14px", "color:#555;margin:8px 0;font-size:14px"),
    ("p", "margin:0 0 4px;font-size:13px;color:#888", "margin:0 0 4px;font-size:13px;color:#888"),
    ("p", "margin:8px 0 0;font-size:11px;color:#aaa", "margin:8px 0 0;font-size:11px;color:#aaa"),
    ("div", "display: flex; gap: 8px; flex-wrap: wrap;", "display:flex;gap:8px;flex-wrap:wrap"),
    ("div", "display:flex;gap:8px;flex-wrap:wrap", "display:flex;gap:8px;flex-wrap:wrap"),
    ("div", "display: flex; gap: 10px; flex-wrap: wrap; margin: 15px 0;", "display:flex;gap:10px;flex-wrap:wrap;margin:15px 0"),
    ("small", "color: #888;", "color:#888"),
    ("a", "padding: 6px 12px; background: #ff9900; color: white; text-decoration: none; border-radius: 4px; font-size: 13px;",
     "padding:6px 12px;color:white;text-decoration:none;border-radius:4px;font-size:13px"),
    ("a", "padding: 6px 12px; background: #bf0000; color: white; text-decoration: none; border-radius: 4px;",
     "padding:6px 12px;color:white;text-decoration:none;border-radius:4px"),
    ("a", "padding: 8px 16px; background: #ff9900; color: white; text-decoration: none; border-radius: 6px; font-size: 14px;",
     "padding:8px 16px;color:white;text-decoration:none;border-radius:6px;font-size:14px"),
    ("a", "padding: 10px 20px; background: linear-gradient(135deg, #ff9900, #ff6600); color: white; text-decoration: none; border-radius: 6px; font-weight: bold;",
     "padding:10px 20px;color:white;text-decoration:none;border-radius:6px;font-weight:bold"),
    ("a", "padding:8px 16px;background:#bf0000;color:#fff;text-decoration:none;border-radius:4px;font-size:13px;font-weight:bold",
     "padding:8px 16px;color:#fff;text-decoration:none;border-radius:4px;font-size:13px;font-weight:bold"),
    ("a", "padding:10px 18px;background:#bf0000;color:#fff;text-decoration:none;border-radius:4px;font-size:14px;font-weight:bold",
     "padding:10px 18px;color:#fff;text-decoration:none;border-radius:4px;font-size:14px;font-weight:bold"),
    ("a", "padding:8px 16px;background:#ff9900;color:#fff", "padding:8px 16px;color:#fff"),
]  # fmt: skip

HOSTILE_STYLES = [
    "width: expression(alert(1))",
    "width: e&#x78;pression(alert(1))",  # nh3 decodes the entity before the filter sees it
    "width: \\65 xpression(alert(1))",
    "width: &#92;65 xpression(alert(1))",
    "width: ｅxpression(alert(1))",
    "background-color: url(javascript:alert(1))",
    "background-color: url('https://evil.example/track.gif')",
    "color: javascript:alert(1)",
    "behavior: url(xss.htc)",
    "-moz-binding: url(https://evil.example/xss.xml#x)",
    "color: r/**/ed",
    "col/**/or: red",
    "color: \\72 ed",
    "col\\6f r: red",
    "color: @red",
    "color: <b>",
    "color: red\x01",
    "color: var(--x)",
    "width: calc(100% - 2px)",
    "color: rgb(calc(1), 2, 3)",
    "margin: -200px 0 0",
    "position: fixed",
    "z-index: 9999",
    "transform: scale(10)",
    "background: linear-gradient(135deg, #ff9900, #ff6600)",
    "font-family: 'Comic Sans MS'",
    "display: table",
    "border: solid solid",
    "margin: 1px 2px 3px 4px 5px",
    "width: " + "1" * 200 + "px",
]

GOOD_STYLES = [
    ("COLOR: RED", "color:red"),
    ("color: #ABC", "color:#abc"),
    ("color: #aabbcc80", "color:#aabbcc80"),
    ("color: rgb( 1 , 2 , 3 )", "color:rgb(1,2,3)"),
    ("color: rgba(0, 0, 0, .5)", "color:rgba(0,0,0,.5)"),
    ("color: rgb(10% 20% 30% / 50%)", "color:rgb(10% 20% 30%/50%)"),
    ("color: hsl(120deg 50% 50%)", "color:hsl(120deg 50% 50%)"),
    ("background-color: transparent", "background-color:transparent"),
    ("border-color: currentColor", "border-color:currentcolor"),
    ("border-left: 4px solid rebeccapurple", "border-left:4px solid rebeccapurple"),
    ("border: #ddd dashed thin", "border:#ddd dashed thin"),
    ("margin: 0  auto", "margin:0 auto"),
    ("padding: .5em 1rem 2% 3px", "padding:.5em 1rem 2% 3px"),
    ("width: 100%; max-width: 40ch", "width:100%;max-width:40ch"),
    ("line-height: 1.6", "line-height:1.6"),
    ("font-weight: 700; font-style: italic", "font-weight:700;font-style:italic"),
    ("text-decoration: underline dotted red", "text-decoration:underline dotted red"),
    ("display: inline-flex; justify-content: space-between; align-items: center", "display:inline-flex;justify-content:space-between;align-items:center"),
    ("white-space: nowrap; vertical-align: middle; text-align: center", "white-space:nowrap;vertical-align:middle;text-align:center"),
]  # fmt: skip


def style_of(fragment):
    """The style attribute of the first tag `sanitize` leaves, or None when it has none."""
    return start_tags(sanitize(fragment))[0][1].get("style")


def test_a_product_card_renders_as_it_did_before_values_were_checked():
    assert sanitize(CARD) == CARD_SANITIZED


def test_gradient_buttons_keep_their_other_styles_and_render_without_a_background():
    assert sanitize(SEARCH_BUTTONS) == SEARCH_BUTTONS_SANITIZED


@pytest.mark.parametrize(("tag", "written", "rendered"), REAL_POST_STYLES)
def test_every_style_the_imported_posts_use_renders_as_before(tag, written, rendered):
    assert style_of(f'<{tag} style="{written}">x</{tag}>') == rendered


@pytest.mark.parametrize("hostile", HOSTILE_STYLES)
def test_an_unsafe_declaration_is_dropped_and_its_neighbours_kept(hostile):
    html = sanitize(f'<div style="margin: 4px; {hostile}; color: navy">x</div>')
    assert start_tags(html, "div") == [("div", {"style": "margin:4px;color:navy"})]


@pytest.mark.parametrize("hostile", HOSTILE_STYLES)
def test_a_style_with_nothing_safe_left_is_removed(hostile):
    assert sanitize(f'<p style="{hostile}">x</p>') == "<p>x</p>"


def test_semicolons_inside_strings_comments_and_escapes_do_not_start_declarations():
    style = "content: 'a; color: red'; x: y /* ; color: red; */; z: a\\; color: red; font-size: 12px"
    assert style_of(f'<div style="{style}">x</div>') == "font-size:12px"


@pytest.mark.parametrize("unclosed", ["color: rgb(1, 2, 3", "color: red}body{display: none"])
def test_an_unclosed_bracket_swallows_the_rest_of_the_style_as_in_a_browser(unclosed):
    assert style_of(f'<div style="margin: 4px; {unclosed}; color: navy">x</div>') == "margin:4px"


@pytest.mark.parametrize(("written", "kept"), GOOD_STYLES)
def test_safe_values_are_kept_in_a_normalised_form(written, kept):
    assert style_of(f'<span style="{written}">x</span>') == kept


def test_important_is_dropped_but_its_declaration_kept():
    assert style_of('<p style="color: red !important; margin: 0 ! IMPORTANT">x</p>') == "color:red;margin:0"


def test_an_empty_style_attribute_is_removed():
    assert sanitize('<p style="">x</p><p style=" ; ">y</p>') == "<p>x</p><p>y</p>"


def test_attributes_other_than_style_pass_through_unchanged():
    html = '<a href="https://example.com/?a=1&amp;b=2" title="&quot;A&quot; &amp; B" style="color: red">x</a>'
    assert sanitize(html) == (
        '<a href="https://example.com/?a=1&amp;b=2" title="&quot;A&quot; &amp; B" style="color:red">x</a>'
    )


@pytest.mark.django_db
def test_a_post_page_keeps_the_card_styles_and_none_of_the_hostile_ones(client):
    hostile = "".join(f'<span style="{style}">罠</span>\n' for style in HOSTILE_STYLES)
    body = f"## 商品\n\n{{{{< rawhtml >}}}}\n{CARD}{{{{< /rawhtml >}}}}\n\n<div>\n{hostile}</div>\n"
    post = make_post(body=body)
    html = article_body(client.get(f"/posts/{post.slug}/").content.decode())
    styles = [attrs["style"] for tag, attrs in start_tags(html) if "style" in attrs]
    assert styles == [attrs["style"] for tag, attrs in start_tags(CARD_SANITIZED) if "style" in attrs]
    assert html.count("罠") == len(HOSTILE_STYLES)
    for word in ["expression", "url(", "javascript", "binding", "behavior", "position", "gradient"]:
        assert word not in html
