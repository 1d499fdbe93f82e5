"""The generator of realistic Hugo sites (benchmarks/sitegen.py): figures, hostile files, manifest."""

import datetime as dt
import hashlib
import io
import json
import re
from collections import defaultdict
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

import pytest
import yaml
from PIL import Image

from benchmarks.sitegen import HOSTILE, REAL_FIGURES, generate_site
from posts.slugs import urlize

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    site = tmp_path_factory.mktemp("small-site")
    return generate_site(site, 200)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    site = tmp_path_factory.mktemp("full-site")
    return generate_site(site, 2000)


def site_digest(site):
    digest = hashlib.sha256()
    for path in sorted(site.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(site).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def read(manifest, spec):
    return (manifest.site_dir / spec.key).read_bytes()


def front_matter(manifest, spec):
    text = read(manifest, spec).decode("utf-8-sig").replace("\r\n", "\n")
    raw = text.split("\n---\n", 1)[0].removeprefix("---\n")
    return yaml.safe_load(raw)


def body(manifest, spec):
    return read(manifest, spec).decode().split("\n---\n", 1)[1]


def when(value):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo else value.replace(tzinfo=TOKYO)


# --- Figures -------------------------------------------------------------------------


def test_at_2000_posts_the_site_reaches_the_real_sites_maxima_and_shares(full):
    figures = full.figures()

    assert figures["posts"] == 2000
    for name in ["file_name", "title", "slug", "tag", "keyword", "cover_ref"]:
        assert figures[name] == REAL_FIGURES[name], name
    assert 22_500 <= figures["body_bytes"] <= 23 * 1024
    assert 8_000 <= figures["body_bytes_median"] <= 15_000
    assert figures["bodies_8_to_15_kb"] >= 0.8
    assert figures["cover_sizes"] == {"1024x576": figures["covers"]}
    assert 0.66 <= figures["covers_share"] <= 0.70
    assert 0.03 <= figures["remote_share"] <= 0.04
    assert figures["long_cover_paths"] == 3 and 101 <= figures["cover_storage_path"] <= 106
    assert figures["shared_slug_groups"] >= REAL_FIGURES["shared_slug_groups"]
    assert figures["shared_slug_files"] >= REAL_FIGURES["shared_slug_files"]
    assert 0.16 <= figures["without_description"] <= 0.20
    assert figures["ai_alt_share"] >= 0.9
    assert figures["tags_distinct"] >= 500


def test_file_names_are_half_hex_and_half_english_words(full):
    names = [PurePosixPath(spec.key).stem for spec in full.valid()]
    hexed = [name for name in names if re.fullmatch(r"\d{4}-\d\d-\d\d-[0-9a-f]{8}", name)]
    worded = [name for name in names if re.fullmatch(r"\d{4}-\d\d-\d\d-[a-z0-9-]+", name) and name not in hexed]

    assert len(hexed) + len(worded) == len(names)
    assert 0.4 <= len(hexed) / len(names) <= 0.6


def test_three_covers_are_stored_under_101_to_106_characters_and_no_other_over_100(small):
    lengths = sorted(len("covers/hugo/" + spec.cover_ref.lstrip("/")) for spec in small.valid() if spec.cover == "local")

    assert [length for length in lengths if length > 100] == [101, 103, 106]


def test_remote_covers_are_pollinations_urls_of_a_japanese_prompt(small):
    remote = [spec.cover_ref for spec in small.valid() if spec.cover == "remote"]

    assert remote
    for url in remote:
        assert re.fullmatch(r"https://image\.pollinations\.ai/prompt/(%[0-9A-F]{2}|[A-Za-z-])+\?width=1024&height=576&nologo=true", url)
        assert "%E3%" in url


def test_each_local_cover_is_its_own_file_with_mostly_distinct_pixels(small):
    covers = [small.site_dir / "static" / spec.cover_ref.lstrip("/") for spec in small.valid() if spec.cover == "local"]
    pixels = set()
    for path in covers:
        with Image.open(path) as image:
            assert image.format in ("JPEG", "PNG") and image.size == (1024, 576)
            pixels.add(hashlib.sha256(image.convert("RGB").tobytes()).digest())

    assert len(set(covers)) == len(covers)
    assert len(pixels) >= 0.9 * len(covers)
    assert {path.suffix for path in covers} == {".jpg", ".png"}


# --- The manifest --------------------------------------------------------------------


def test_the_manifests_urls_are_unique_among_imported_posts(full):
    urls = [spec.url for spec in full.imported()]

    assert len(urls) == len(set(urls)) == len(full.valid()) + sum(spec.outcome == "imported" for spec in full.hostile())
    assert all(re.fullmatch(r"/posts/[a-z0-9.-]+/", url) for url in urls)
    assert set(full.published_urls()) == {spec.url for spec in full.imported() if not spec.draft}


def test_the_manifest_predicts_each_valid_posts_title_and_url_from_its_front_matter(small):
    for spec in small.valid():
        meta = front_matter(small, spec)
        assert str(meta["title"]) == spec.title, spec.key
        assert (meta.get("draft") is True) == spec.draft, spec.key
        if not spec.shared_slug:
            wanted = meta.get("slug") or PurePosixPath(str(meta.get("url") or "")).name or PurePosixPath(spec.key).stem
            assert spec.url == f"/posts/{urlize(wanted)}/", spec.key


def test_shared_slugs_stay_with_the_newest_file_and_a_tie_goes_to_the_later_path(small):
    groups = defaultdict(list)
    for spec in small.valid():
        if spec.shared_slug:
            groups[spec.slug_written].append((when(front_matter(small, spec)["date"]), spec.key, spec))
    ties = 0
    for slug, members in groups.items():
        members.sort()
        assert len(members) >= 2 and len({key for _, key, _ in members}) == len(members)
        *others, (_, _, keeper) = members
        assert keeper.url == f"/posts/{urlize(slug)}/"
        for _, key, spec in others:
            assert spec.url == f"/posts/{urlize(PurePosixPath(key).stem)}/"
        ties += members[-1][0] == members[-2][0]

    assert len(groups) >= 2
    assert ties >= 1


def test_by_key_finds_a_file_and_refuses_an_unknown_one(small):
    spec = small.valid()[0]

    assert small.by_key(spec.key) is spec
    with pytest.raises(KeyError):
        small.by_key("content/posts/nothing-here.md")


# --- Hostile files -------------------------------------------------------------------


def test_every_hostile_kind_is_there_once_named_for_what_it_is(small):
    hostile = {spec.kind: spec for spec in small.hostile()}

    assert list(hostile) == list(HOSTILE)
    for kind, (outcome, warning, cover) in HOSTILE.items():
        spec = hostile[kind]
        assert spec.key == f"content/posts/zz-hostile-{kind}.md"
        assert (spec.outcome, spec.warning, spec.cover) == (outcome, warning, cover)
        assert (spec.url is None) == (outcome == "failed")
        assert (small.site_dir / spec.key).is_file()
    assert len(small.files) == 200 + len(HOSTILE)


def test_hostile_files_hold_what_their_names_say(small):
    def data(kind):
        return read(small, small.by_key(f"content/posts/zz-hostile-{kind}.md"))

    nul = data("nul-byte")
    assert nul.count(b"\0") == 1 and 8192 < nul.index(b"\0") and abs(nul.index(b"\0") - len(nul) / 2) < 8
    with pytest.raises(UnicodeDecodeError):
        data("shift-jis").decode("utf-8")
    assert data("bom").startswith(b"\xef\xbb\xbf---\n")
    assert data("crlf").startswith(b"---\r\n") and b"\n" not in data("crlf").replace(b"\r\n", b"")
    assert b"date: 2024-02-30\n" in data("impossible-date")
    assert len(data("huge-body")) > 5 * 1024 * 1024
    assert data("billion-laughs").count(b"&lol") == 9
    assert b"!!python/object/apply:os.system" in data("python-tag")
    assert not re.search(rb"^---\s*$", data("unclosed-front-matter").split(b"\n", 1)[1], re.MULTILINE)
    assert not data("no-front-matter").startswith((b"---", b"+++", b"{"))
    assert (small.site_dir / "secret.png").is_file(), "the naive join of /images/../../secret.png finds a picture"


def test_hostile_covers_are_real_pictures_with_something_nasty_inside(small):
    def cover(kind):
        spec = small.by_key(f"content/posts/zz-hostile-{kind}.md")
        return (small.site_dir / "static" / spec.cover_ref.lstrip("/")).read_bytes()

    polyglot = cover("polyglot-cover")
    assert polyglot.startswith(b"\x89PNG") and b"<script>" in polyglot
    assert small.by_key("content/posts/zz-hostile-polyglot-cover.md").cover_ref.endswith(".html")
    with pytest.raises(OSError), Image.open(io.BytesIO(cover("truncated-jpeg-cover"))) as image:
        image.load()
    with Image.open(io.BytesIO(cover("exif-gps-cover"))) as image:
        assert image.getexif().get_ifd(0x8825)
    with Image.open(io.BytesIO(cover("cmyk-cover"))) as image:
        assert image.mode == "CMYK"
    with Image.open(io.BytesIO(cover("grey16-cover"))) as image:
        assert image.mode == "I;16" and 16384 <= image.getextrema()[0] <= image.getextrema()[1] <= 32768
    gif = cover("gif-script-zip-cover")
    assert gif.startswith(b"GIF89a") and b"<script>" in gif and b"PK\x03\x04" in gif


def test_without_hostile_files_the_valid_posts_are_the_same_bytes(small, tmp_path):
    clean = generate_site(tmp_path, 200, hostile=False)

    assert clean.hostile() == []
    for spec in clean.valid():
        assert read(clean, spec) == read(small, spec), spec.key


# --- Determinism ---------------------------------------------------------------------


def test_the_same_seed_writes_the_same_site_and_another_seed_another(small, tmp_path):
    again = generate_site(tmp_path / "again", 200)
    other = generate_site(tmp_path / "other", 200, seed=1)

    assert site_digest(again.site_dir) == site_digest(small.site_dir)
    assert again.files == small.files
    assert site_digest(other.site_dir) != site_digest(small.site_dir)


# --- What the posts hold -------------------------------------------------------------


def test_front_matter_has_the_real_sites_variety(small):
    quirks = {spec.quirk: spec for spec in small.valid() if spec.quirk}
    metas = {quirk: front_matter(small, spec) for quirk, spec in quirks.items()}

    assert {"draft", "integer-title", "tags-string", "odd-tags", "string-cover", "sanitised-slug", "unknown-keys", "offsite-alias", "aliases", "url", "date-only", "naive-date"} <= set(quirks)
    assert metas["draft"]["draft"] is True and quirks["draft"].draft
    assert metas["integer-title"]["title"] == 2024 and quirks["integer-title"].title == "2024"
    assert metas["tags-string"]["tags"] == "python, django, web"
    assert None in metas["odd-tags"]["tags"] and {"name": "x"} in metas["odd-tags"]["tags"]
    assert quirks["odd-tags"].warning == "tag"
    assert isinstance(metas["string-cover"]["cover"], str) and quirks["string-cover"].cover == "local"
    assert metas["sanitised-slug"]["slug"] == "Hello World!" and quirks["sanitised-slug"].url == "/posts/hello-world/"
    assert metas["unknown-keys"]["weight"] == 3
    assert "https://other.example.com/x/" in metas["offsite-alias"]["aliases"]
    assert quirks["offsite-alias"].warning == "alias" and "https://other.example.com/x/" not in quirks["offsite-alias"].aliases
    assert metas["url"]["url"].startswith("/posts/") and "slug" not in metas["url"]
    assert isinstance(metas["date-only"]["date"], dt.date) and not isinstance(metas["date-only"]["date"], dt.datetime)
    assert when(metas["naive-date"]["date"]).tzinfo is TOKYO
    metas = [front_matter(small, spec) for spec in small.valid()]
    assert sum("lastmod" in meta for meta in metas) >= 5
    assert {"AI News", "AI Tools", "AI Guide", "GUIDE", "AI Buyer Guide", "週刊まとめ"} <= {name for meta in metas for name in meta["categories"]}


def test_bodies_carry_the_old_sites_furniture(small):
    bodies = [body(small, spec) for spec in small.valid()]

    def share(pattern):
        return sum(bool(re.search(pattern, text, re.MULTILINE)) for text in bodies) / len(bodies)

    assert share(r"^## 3行要約\n\n- .+\n- .+\n- .+\n\n\{\{< rawhtml >\}\}\n<div") > 0.4
    assert share(r"^## 🛒 この記事で紹介した関連商品") > 0.15
    assert share(r"^📚 \*\*関連情報をもっと知りたい方へ\*\*") > 0.1
    assert share(r"\]\(https://www\.amazon\.co\.jp/dp/B0[0-9A-Z]{8}\?tag=") > 0.1
    assert share(r"\]\(https://hb\.afl\.rakuten\.co\.jp/hgc/[^/]+/\?pc=") > 0.1
    assert share(r"^<small>※.*アフィリエイト") > 0.02
    assert share(r"^\| 項目 \|") > 0.3
    assert share(r"^```bash\n") > 0.3 and share(r"^```python\n") > 0.3
    assert share(r"^```html\n(.*\n)*?<script>") > 0
    assert share(r"^## よくある質問\n\n### Q1: ") > 0.4 and share(r'"@type": "FAQPage"') > 0.4
    assert share(r"^## あわせて読みたい\n\n- \[") > 0.4
    assert share(r"O'Reilly|It's|Don't") > 0.05 and share(r" -- ") > 0.02 and share(r"\.\.\.") > 0.2
    assert share(r"。\n[^\n]") > 0.5
    assert sum(spec.genre == "digest" for spec in small.valid()) >= 3
    for spec in small.valid():
        text = body(small, spec)
        shop = text.split("## 🛒 この記事で紹介した関連商品", 1)
        if len(shop) == 2:
            assert 2 <= shop[1].count("🛍️") <= 5 and "<small" in shop[1] and shop[1].count("### 📦") == 2


def test_a_few_posts_have_a_product_card_inside_an_faq_answer_and_its_json_ld(small):
    found = 0
    for spec in small.valid():
        text = body(small, spec)
        faq = text.split("## よくある質問", 1)[-1]
        script = re.search(r'<script type="application/ld\+json">\n(.*?)\n</script>', text, re.DOTALL)
        if "### Q2:" in faq and "{{< rawhtml >}}" in faq.split("### Q2:", 1)[1].split("### Q3:")[0] and script:
            answers = [entity["acceptedAnswer"]["text"] for entity in json.loads(script.group(1))["mainEntity"]]
            assert '<div style="border:1px solid #e0e0e0' in answers[1]
            found += 1

    assert found >= 1


def test_read_more_links_name_posts_by_file_name_and_some_name_missing_ones(small):
    names = {PurePosixPath(spec.key).stem for spec in small.valid()}
    targets = [link for spec in small.valid() for link in re.findall(r"^- \[[^\]]+\]\(/posts/([^/)]+)/\)$", body(small, spec), re.MULTILINE)]

    present = [target for target in targets if target in names]
    assert len(present) > 0.8 * len(targets)
    assert len(present) < len(targets), "some links point to posts that do not exist"
