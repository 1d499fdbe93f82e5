"""import_hugo against hostile and odd input mixed into valid files: every valid file
imported, one line per bad one, nothing of a bad file left behind, every coercion said
out loud, and the real site's longest values stored on every database."""

import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.db.models.signals import post_save

from posts.models import Category, MediaImage, Post, Product, Redirect, Tag
from tests.conftest import image_bytes, logged_in, media_files, member, opened_form, run_command, run_failing_command

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

FRONT = '---\ntitle: "{title}"\ndate: {date}\n{extra}---\n## 3行要約\n\n- {title}の要点です。\n\n## 本文\n\n本文です。\n'


def front(title, extra="", date="2025-01-01T09:00:00+09:00"):
    return FRONT.format(title=title, extra=extra, date=date)


def billion_laughs():
    lines = ['a: &a ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def write_site(root, files, images=None):
    """A Hugo site under `root` with `files` ({name: text or bytes}) as posts and
    `images` ({path under static/: bytes})."""
    posts = root / "content" / "posts"
    posts.mkdir(parents=True)
    (root / "hugo.toml").write_text(
        'baseURL = "https://blog.example.jp/"\ntitle = "テストの森"\ntimeZone = "Asia/Tokyo"\n', encoding="utf-8"
    )
    for name, content in files.items():
        (posts / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    for relative, data in (images or {}).items():
        path = root / "static" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def lines_about(output, key):
    return [line for line in output.splitlines() if line.startswith(f"content/posts/{key}: ")]


# Valid files, some of them odd, each with a tag of its own.
VALID = {
    "plain.md": front("ふつうの記事", 'tags: ["ふつう"]\n'),
    "bom.md": "\ufeff" + front("BOM付きの記事", 'tags: ["BOM"]\n'),
    "crlf.md": front("改行がCRLFの記事", 'tags: ["CRLF"]\n').replace("\n", "\r\n"),
    "covered.md": front("表紙のある記事", 'cover:\n  image: /images/posts/covered.png\n  alt: "表紙"\n'),
    "traversal.md": front("上の階層を指す表紙", "cover:\n  image: ../../../etc/passwd\n"),
    "toml.md": '+++\ntitle = "TOMLの記事"\ndate = 2025-01-02T09:00:00+09:00\n+++\n本文です。\n',
}
# Hostile files, each with a tag nobody else has, and what their line must say.
HOSTILE = {
    "impossible-date.md": (front("ありえない日付", 'tags: ["日付の罠"]\n', date="2024-02-30"), "date"),
    "nul-byte.md": (front("NULの記事", 'tags: ["NULの罠"]\n').replace("本文です。", "本文\x00です。"), "binary"),
    "shift-jis.md": (front("文字コードが違う記事", 'tags: ["SJISの罠"]\n').encode("shift_jis"), "UTF-8"),
    "alias-bomb.md": (front("エイリアスの爆弾", 'tags: ["爆弾の罠"]\n' + billion_laughs()), "alias"),
    "python-tag.md": (front("危険なタグ", 'tags: ["タグの罠"]\nhook: !!python/object/apply:os.system ["true"]\n'), "YAML"),
    "huge.md": (front("大きすぎる記事", 'tags: ["巨大の罠"]\n') + "長い本文です。" * 260_000, "MB"),
    "unclosed.md": ('---\ntitle: "閉じていない"\ntags: ["閉じの罠"]\n\n本文です。\n', "never closed"),
    "no-front-matter.md": ("本文だけのファイルです。\n", "no front matter"),
    "nul-escape.md": (front('NUL\\0エスケープ', 'tags: ["エスケープの罠"]\n'), "NUL"),
    "list-title.md": ('---\ntitle: [一つ, 二つ]\ndate: 2025-01-01\ntags: ["リストの罠"]\n---\n本文\n', "title"),
}


@pytest.fixture
def mixed_site(tmp_path):
    files = {**VALID, **{name: content for name, (content, _word) in HOSTILE.items()}}
    return write_site(tmp_path / "site", files, {"images/posts/covered.png": image_bytes("PNG", (64, 36))})


def test_a_site_of_valid_and_hostile_files_imports_every_valid_one_in_one_run(client, mixed_site):
    output, error = run_failing_command("import_hugo", mixed_site)

    assert "Traceback" not in output
    for name, (_content, word) in HOSTILE.items():
        [line] = lines_about(output, name)
        assert line.endswith(": not imported") and word.lower() in line.lower(), line
    assert f"{len(HOSTILE)} file(s) could not be imported" in error
    assert f"created {len(VALID)}, updated 0, unchanged 0," in output
    assert f"failed {len(HOSTILE)}." in output
    for name, text in VALID.items():
        title = re.search(r'title ?[:=] "([^"]+)"', text).group(1)
        assert title in client.get(f"/posts/{name[:-3]}/").content.decode(), name
    assert Tag.objects.filter(name__in=["ふつう", "BOM", "CRLF"]).count() == 3


def test_nothing_of_a_hostile_file_is_left_behind(mixed_site, media_root):
    run_failing_command("import_hugo", mixed_site)

    assert Post.objects.count() == len(VALID)
    assert not Tag.objects.filter(name__endswith="の罠").exists()
    assert not Redirect.objects.filter(old_path__contains="impossible").exists()
    [image] = MediaImage.objects.all()  # the one valid cover
    assert set(media_files(media_root)) == {image.file.name}


def test_a_hostile_file_blocks_no_later_import(client, mixed_site):
    run_failing_command("import_hugo", mixed_site)
    (mixed_site / "content" / "posts" / "later.md").write_text(front("あとから来た記事"), encoding="utf-8")

    output, _error = run_failing_command("import_hugo", mixed_site)

    assert f"created 1, updated 0, unchanged {len(VALID)}," in output
    assert "あとから来た記事" in client.get("/posts/later/").content.decode()


def test_a_traversal_cover_imports_the_post_without_it_and_says_so(mixed_site):
    output, _error = run_failing_command("import_hugo", mixed_site)

    [line] = lines_about(output, "traversal.md")
    assert line == "content/posts/traversal.md: cover ../../../etc/passwd: leaves the site folder: imported without a cover"
    assert not Post.objects.get(slug="traversal").cover


@pytest.fixture
def failing_save():
    """A receiver that fails the save of one post, as a bug or a refusing database would."""

    def fail(sender, instance, **kwargs):
        if instance.title == "途中で壊れる記事":
            raise RuntimeError("the database refused the row")

    post_save.connect(fail, sender=Post, weak=False, dispatch_uid="test-failing-save")
    yield
    post_save.disconnect(sender=Post, dispatch_uid="test-failing-save")


def test_a_file_that_fails_while_saving_leaves_no_terms_cover_or_file(client, tmp_path, media_root, failing_save):
    site = write_site(
        tmp_path / "site",
        {
            "a-first.md": front("最初の記事", 'tags: ["共通"]\n'),
            "b-broken.md": front(
                "途中で壊れる記事",
                'categories: ["壊れたカテゴリ"]\ntags: ["壊れたタグ", "共通"]\n'
                "aliases: [/old/broken/]\ncover:\n  image: /images/broken.png\n",
            ),
            "c-last.md": front("最後の記事", 'tags: ["共通"]\n'),
        },
        {"images/broken.png": image_bytes("PNG", (32, 18))},
    )

    output, _error = run_failing_command("import_hugo", site)

    [line] = lines_about(output, "b-broken.md")
    assert line == (
        "content/posts/b-broken.md: unexpected error while saving "
        "(RuntimeError: the database refused the row): not imported"
    )
    assert "Traceback" not in output
    assert sorted(Post.objects.values_list("slug", flat=True)) == ["a-first", "c-last"]
    assert not Category.objects.exists()
    assert list(Tag.objects.values_list("name", flat=True)) == ["共通"]
    assert Tag.objects.get().posts.count() == 2
    assert not Redirect.objects.filter(old_path="/old/broken/").exists()
    assert not MediaImage.objects.exists() and media_files(media_root) == {}


@pytest.fixture
def interrupting_save():
    """Ctrl-C while the third post is being saved."""

    def interrupt(sender, instance, **kwargs):
        if instance.title == "三つ目の記事":
            raise KeyboardInterrupt

    post_save.connect(interrupt, sender=Post, weak=False, dispatch_uid="test-interrupt")
    yield lambda: post_save.disconnect(sender=Post, dispatch_uid="test-interrupt")
    post_save.disconnect(sender=Post, dispatch_uid="test-interrupt")


def test_an_interrupted_run_keeps_every_post_it_finished(client, tmp_path, interrupting_save):
    titles = ["一つ目の記事", "二つ目の記事", "三つ目の記事", "四つ目の記事"]
    site = write_site(
        tmp_path / "site",
        {f"{number}.md": front(title, date=f"2025-01-0{number}T09:00:00+09:00") for number, title in enumerate(titles, 1)},
    )

    with pytest.raises(KeyboardInterrupt):
        call_command("import_hugo", str(site), verbosity=0)

    assert sorted(Post.objects.values_list("title", flat=True)) == sorted(titles[:2])
    interrupting_save()  # the next run is not interrupted
    output = run_command("import_hugo", site)
    assert "created 2, updated 0, unchanged 2," in output
    assert Post.objects.count() == 4


# --- Front matter as Hugo reads it -------------------------------------------------------------

CURIOUS = {
    "number-title.md": "---\ntitle: 2024\ndate: 2025-01-01T09:00:00+09:00\n---\n本文\n",
    "comma-tags.md": front("カンマ区切りのタグ", 'tags: "python, django, web"\n'),
    "odd-tags.md": front("変なタグ", "tags:\n  - ok\n  - null\n  - {name: x}\n  - 42\n"),
    "plain-cover.md": front("文字列の表紙", "cover: /images/plain.png\n"),
    "messy-slug.md": front("汚れたスラッグ", 'slug: "Hello World!"\n'),
    "far-alias.md": front("よそのエイリアス", "aliases:\n  - https://other.example.com/x/\n  - /old/here/\n"),
    "extra-keys.md": front("知らないキー", "weight: 3\nShowToc: false\n"),
}


@pytest.fixture
def curious(tmp_path):
    site = write_site(tmp_path / "site", CURIOUS, {"images/plain.png": image_bytes("PNG", (20, 10))})
    return run_command("import_hugo", site)


def the_line(output, key):
    [line] = lines_about(output, key)
    return line.split(": ", 1)[1]


def test_a_number_as_title_becomes_text_and_says_so(client, curious):
    assert the_line(curious, "number-title.md") == "title 2024 is a number: used as text"
    assert "<h1 class=\"post__title\">2024</h1>" in client.get("/posts/number-title/").content.decode()


def test_a_taxonomy_given_as_one_string_is_one_term_with_a_warning_about_its_commas(curious):
    assert the_line(curious, "comma-tags.md") == (
        "tags is one text “python, django, web”, so it is one term (write a list for several): imported as one term"
    )
    assert list(Post.objects.get(slug="comma-tags").tags.values_list("name", flat=True)) == ["python, django, web"]


def test_tags_that_are_not_names_are_skipped_and_numbers_kept_as_text(curious):
    lines = [line.split(": ", 1)[1] for line in lines_about(curious, "odd-tags.md")]
    assert lines == [
        "tags holds a null (None), not a name: skipped",
        "tags holds a mapping ({'name': 'x'}), not a name: skipped",
        "tags holds the number 42: used as text",
    ]
    assert sorted(Post.objects.get(slug="odd-tags").tags.values_list("name", flat=True)) == ["42", "ok"]
    assert not Tag.objects.filter(name__in=["None", "{'name': 'x'}"]).exists()


def test_a_plain_string_cover_is_used_and_said(curious):
    assert the_line(curious, "plain-cover.md") == "cover is a plain path, not cover.image: used as the cover image"
    assert Post.objects.get(slug="plain-cover").cover_width == 20


def test_a_sanitised_slug_says_where_the_post_is(client, curious):
    assert the_line(curious, "messy-slug.md") == "slug “Hello World!” is not a URL-safe slug: served at /posts/hello-world/"
    assert client.get("/posts/hello-world/").status_code == 200


def test_an_off_site_alias_is_refused_with_a_warning_and_an_on_site_one_kept(client, curious):
    assert the_line(curious, "far-alias.md") == "alias https://other.example.com/x/ is on another site, not this one: ignored"
    assert client.get("/old/here/")["Location"] == "/posts/far-alias/"


def test_front_matter_keys_kiji_does_not_use_are_named(curious):
    assert the_line(curious, "extra-keys.md") == "front matter keys not used by Kiji: ShowToc, weight: ignored"


# --- The real site's longest values -----------------------------------------------------------

LONG_NAME = "2026-04-21-" + "-".join(["llamacpp", "server", "local", "llm", "tutorial", "guide", "for", "beginners"]) + "-and-pro-users1"
LONG_COVER = "images/posts/" + "2026-04-21-" + "very-long-cover-file-name-" * 3 + "x" * 6 + ".png"
REMOTE = "https://image.pollinations.ai/prompt/" + "%E3%83%AD%E3%83%BC%E3%82%AB%E3%83%ABLLM" * 12
REMOTE += "-" * (564 - len(REMOTE) - 34) + "?width=1024&height=576&nologo=true"


def test_the_real_sites_longest_values_are_stored_on_this_database(client, tmp_path):
    title = "ローカルLLMをサーバーとして動かす完全ガイド：" + "量子化と推論速度の関係を実測で確かめる" * 12
    title = title[:229]
    slug = "claude-code-effort-levels-hardware-guide-" + "x" * 25
    tags = ["ローカルLLM 完全ガイド 初心者向け 2026年版 実践テクニック大全", "Llama.cpp 使い方"]
    keyword = "NVIDIA GeForce RTX 4060 Ti 16GB グラフィックボード 白 OC版"
    assert (len(LONG_NAME), len(title), len(slug), len(tags[0]), len(keyword)) == (80, 229, 66, 36, 25 + 22)
    body_card = (
        f'{{{{< rawhtml >}}}}\n<div style="border:1px solid #e0e0e0"><p>📦 関連商品</p><strong>{keyword}</strong>'
        f'<div><a href="https://www.amazon.co.jp/s?k={keyword.replace(" ", "%20")}&tag=x-22">Amazon</a></div></div>\n{{{{< /rawhtml >}}}}\n'
    )
    extra = (
        f'slug: "{slug}"\ntags: {json.dumps(tags, ensure_ascii=False)}\n'
        f"cover:\n  image: /{LONG_COVER}\n  alt: AI generated thumbnail\n"
    )
    long_post = front(title, extra).replace("本文です。", body_card + "長い本文です。" * 1500)
    site = write_site(
        tmp_path / "site",
        {
            f"{LONG_NAME}.md": long_post,
            "remote.md": front("遠くの表紙", f"cover:\n  image: {REMOTE}\n"),
        },
        {LONG_COVER: image_bytes("PNG", (1024, 576))},
    )
    assert len(f"covers/hugo/{LONG_COVER}") > 100 and len(REMOTE) == 564
    assert len(long_post.encode()) > 23_000

    output = run_command("import_hugo", site)

    assert "failed 0" in output and "remote covers not fetched 1" in output
    post = Post.objects.get(slug=slug)
    assert (post.title, post.source_path) == (title, f"content/posts/{LONG_NAME}.md")
    assert sorted(post.tags.values_list("name", flat=True)) == sorted(tags)
    [product] = Product.objects.all()
    assert product.name == keyword and f"{{{{< product {product.slug} >}}}}" in post.body
    assert (post.cover_width, post.cover_height) == (1024, 576) and len(post.cover.name) < 100
    assert client.get(f"/posts/{LONG_NAME}/")["Location"] == f"/posts/{slug}/"
    [line] = lines_about(output, "remote.md")
    assert "is on another site: imported without a cover (--fetch-remote-covers downloads it)" in line
    assert not Post.objects.get(slug="remote").cover


# --- Rendering again ---------------------------------------------------------------------------


def test_rerender_posts_keeps_edit_tokens_so_an_open_form_still_saves(tmp_path):
    editor = member("Editor", "henshu")
    editor_client = logged_in(editor)
    post = Post.objects.create(title="開いたままの記事", slug="open", body="It's here...", status=Post.Status.DRAFT)
    url = f"/admin/posts/post/{post.pk}/change/"
    form = opened_form(editor_client, url, body="書き換えた本文")
    token, updated_at = post.edit_token, post.updated_at

    run_command("rerender_posts")

    post.refresh_from_db()
    assert (post.edit_token, post.updated_at) == (token, updated_at)
    response = editor_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    post.refresh_from_db()
    assert post.body == "書き換えた本文"


def test_rerender_posts_renders_the_stored_body_again(settings):
    settings.KIJI_TYPOGRAPHER = False
    post = Post.objects.create(title="引用符", slug="quotes", body='He said "hello"...', status=Post.Status.PUBLISHED)
    assert '"hello"...' in post.body_html
    settings.KIJI_TYPOGRAPHER = True

    run_command("rerender_posts")

    post.refresh_from_db()
    assert "“hello”…" in post.body_html


def test_an_import_error_is_a_command_error_not_a_traceback(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("import_hugo", str(tmp_path / "nowhere"))
