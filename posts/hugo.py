"""Hugo sites in and out: `import_hugo` takes a site over, `export_hugo` writes one back.

The import keeps every URL Hugo served, turns the old site's affiliate HTML into
AffiliateBox records, repairs internal links and never stops for a bad file: each
problem becomes one line, `file: what is wrong: what was done`.
"""

import datetime as dt
import hashlib
import json
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

import reversion
import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from . import images
from .models import AffiliateBox, AffiliateSettings, Category, Post, Redirect, SiteSettings, Tag
from .rendering import render_many, sanitize
from .slugs import urlize

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FRONT_MATTER_VALUES = 5000
CONFIG_NAMES = [f"{stem}.{ext}" for stem in ("hugo", "config") for ext in ("toml", "yaml", "yml", "json")]
# The front matter key that holds affiliate boxes in exported (and demo) posts.
AFFILIATE_KEY = "affiliate"
COVER_STORAGE_DIR = "covers/hugo"


class SourceError(Exception):
    """A post file Kiji cannot import; the message says what is wrong."""


# --- Reading files -------------------------------------------------------------------


# libyaml's safe loader where PyYAML has it: several times faster on 2,000 files.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_size(value, budget=MAX_FRONT_MATTER_VALUES):
    """Raise SourceError if `value`, with aliases expanded, holds more than `budget`
    values: YAML aliases can make a small file (a "billion laughs") enormous."""
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > budget:
            raise SourceError(f"front matter holds more than {budget} values (YAML aliases?)")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


_DELIMITERS = {"---": "YAML", "+++": "TOML"}


def split_front_matter(text):
    """(front matter as a dict, Markdown body) of a Hugo content file."""
    first_line, _, rest = text.partition("\n")
    marker = first_line.strip()
    if marker in _DELIMITERS:
        closing = re.search(rf"^{re.escape(marker)}[ \t]*\r?$", rest, re.MULTILINE)
        if closing is None:
            raise SourceError(f"front matter opened with '{marker}' on line 1 is never closed")
        raw, body = rest[: closing.start()], rest[closing.end() :]
        meta = _load_front_matter(_DELIMITERS[marker], raw)
    elif text.lstrip().startswith("{"):
        decoder = json.JSONDecoder()
        start = len(text) - len(text.lstrip())
        try:
            meta, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as error:
            raise SourceError(f"front matter is not valid JSON (line {error.lineno}: {error.msg})")
        body = text[end:]
    else:
        raise SourceError("no front matter (the file must start with ---, +++ or {)")
    if not isinstance(meta, dict):
        raise SourceError("front matter is not a mapping of keys to values")
    return meta, body.lstrip("\r\n")


def _load_front_matter(kind, raw):
    try:
        if kind == "TOML":
            return tomllib.loads(raw)
        meta = yaml.load(raw, Loader=_YamlLoader) or {}
    except tomllib.TOMLDecodeError as error:
        raise SourceError(f"front matter is not valid TOML ({error})")
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 2}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SourceError(f"front matter is not valid YAML ({where}{problem})")
    _check_size(meta)
    return meta


def decode(data):
    """The text of a Markdown file, or SourceError if it is binary or not UTF-8."""
    if b"\x00" in data[:8192]:
        raise SourceError("binary file, not Markdown text")
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as error:
        raise SourceError(f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})")


def read_config(site_dir):
    """The site configuration (hugo.toml, config.yaml, …) as a dict; {} if there is none."""
    for name in CONFIG_NAMES:
        path = site_dir / name
        if path.is_file():
            text = path.read_text(encoding="utf-8-sig")
            if name.endswith(".toml"):
                return tomllib.loads(text)
            if name.endswith(".json"):
                return json.loads(text)
            return yaml.load(text, Loader=_YamlLoader) or {}
    return {}


def parse_datetime(value, tz, what):
    """An aware datetime from a front matter value; naive ones take the site's zone."""
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str) and value.strip():
        try:
            result = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise SourceError(f"{what} {value!r} is not a date")
    else:
        raise SourceError(f"{what} is missing or is not a date")
    return result if timezone.is_aware(result) else result.replace(tzinfo=tz)


def _names(value):
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise SourceError("categories and tags must be a list or a single name")
    return [" ".join(str(name).split()) for name in value if str(name).strip()]


# --- Affiliate HTML ------------------------------------------------------------------


class _BlockReader(HTMLParser):
    """What an old affiliate box holds: its links, bold text and paragraphs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.strong, self.paragraphs = [], [], []
        self._capture = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        elif tag in ("strong", "b", "p"):
            self._capture = (tag, [])

    def handle_data(self, data):
        if self._capture:
            self._capture[1].append(data)

    def handle_endtag(self, tag):
        if self._capture and tag == self._capture[0]:
            text = " ".join("".join(self._capture[1]).split())
            (self.paragraphs if tag == "p" else self.strong).append(text)
            self._capture = None


def keyword_from_url(url):
    """The search words of an Amazon or Rakuten search (or Rakuten affiliate) link."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    query = parse_qs(parts.query)
    if host.endswith("amazon.co.jp") and parts.path.rstrip("/") == "/s" and query.get("k"):
        return query["k"][0].strip()
    if host == "hb.afl.rakuten.co.jp":
        inner = (query.get("pc") or query.get("m") or [""])[0]
        return keyword_from_url(inner) if inner else None
    if host == "search.rakuten.co.jp" and parts.path.startswith("/search/mall/"):
        return unquote(parts.path[len("/search/mall/") :].strip("/")).strip() or None
    return None


def _strip_decoration(text):
    """'🛍️ Python入門' → 'Python入門': drop leading emoji and symbols."""
    return re.sub(r"^[^\w「『(（\[]+", "", text).strip()


def read_affiliate_block(html):
    """An unsaved AffiliateBox if `html` is one of the old site's affiliate blocks
    (every link an Amazon or Rakuten search), else None."""
    reader = _BlockReader()
    reader.feed(html)
    reader.close()
    keywords = [keyword_from_url(href) for href in reader.links]
    if not keywords or None in keywords:
        return None
    box = AffiliateBox(keyword=keywords[0][:200], placement=AffiliateBox.Placement.SUMMARY)
    if reader.strong:
        box.product_name = _strip_decoration(reader.strong[0])[:200]
        reasons = [p for p in reader.paragraphs if p and not p.startswith(("📦", "※"))]
        box.reason = reasons[0][:300] if reasons else ""
    return box


# --- Body clean-up -------------------------------------------------------------------

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DIV_TAG_RE = re.compile(r"<(/?)div\b[^>]*>", re.IGNORECASE)
_SCRIPT_RE = re.compile(r"<script\b([^>]*)>.*?</script\s*>\n?", re.IGNORECASE | re.DOTALL)
_RAWHTML_RE = re.compile(
    r"\{\{[<%]\s*rawhtml\s*[>%]\}\}\n?(.*?)\{\{[<%]\s*/rawhtml\s*[>%]\}\}", re.DOTALL
)
_SHORTCODE_RE = re.compile(r"\{\{[<%]\s*/?\s*([\w./-]+)")
_END_LABEL_RE = re.compile(r"[^\n]*関連情報をもっと知りたい方へ[^\n]*\n\s*$")
_DISCLOSURE_RE = re.compile(r"^<small\b[^>]*>\s*※[^<]*アフィリエイト[^<]*</small>\s*$", re.MULTILINE)
_BOX_MARK = "\x00kiji-box\x00"
_HEADING_RE = re.compile(r"^(#{1,6})\s")
_RULE_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")


def _segments(text):
    """Split Markdown into (is_code, text) runs, so that HTML clean-up never touches
    fenced code, where a <script> or a <div> is what the writer wants to show."""
    runs, current, fence, is_code = [], [], None, False
    for line in text.splitlines(keepends=True):
        match = _FENCE_RE.match(line)
        if fence is None and match:
            if current:
                runs.append((False, "".join(current)))
            current, fence, is_code = [line], match.group(1), True
        elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            current.append(line)
            runs.append((True, "".join(current)))
            current, fence, is_code = [], None, False
        else:
            current.append(line)
    if current:
        runs.append((is_code, "".join(current)))
    return runs


def _top_level_divs(text):
    """(start, end) of every top-level <div>…</div> in an HTML-bearing text."""
    spans, depth, start = [], 0, None
    for match in _DIV_TAG_RE.finditer(text):
        if match.group(1):
            if depth:
                depth -= 1
                if depth == 0:
                    spans.append((start, match.end()))
        else:
            if depth == 0:
                start = match.start()
            depth += 1
    return spans


def _take_boxes(text, boxes):
    """Replace the affiliate blocks in `text` with markers, appending their boxes."""
    out, last = [], 0
    for start, end in _top_level_divs(text):
        box = read_affiliate_block(text[start:end])
        if box is None:
            continue
        before = text[last:start]
        label = _END_LABEL_RE.search(before)
        if label:
            box.placement = AffiliateBox.Placement.END
            before = before[: label.start()]
        out.append(before + _BOX_MARK)
        boxes.append(box)
        last = end
    out.append(text[last:])
    return "".join(out)


def _drop_emptied_sections(text):
    """Remove what taking the boxes out leaves behind: headings whose sections now
    hold nothing but markers, the old disclosure line, and dangling rules."""
    text = _DISCLOSURE_RE.sub("", text) if _BOX_MARK in text else text
    lines = text.split("\n")
    keep = [True] * len(lines)
    for index, line in enumerate(lines):
        heading = _HEADING_RE.match(line)
        if not heading:
            continue
        level, has_box, empty = len(heading.group(1)), False, True
        for follower in lines[index + 1 :]:
            deeper = _HEADING_RE.match(follower)
            if deeper and len(deeper.group(1)) <= level:
                break
            if _BOX_MARK in follower:
                has_box = True
            elif follower.strip() and not deeper and not _RULE_RE.match(follower):
                empty = False
                break
        if has_box and empty:
            keep[index] = False
    text = "\n".join(line for line, kept in zip(lines, keep) if kept).replace(_BOX_MARK, "")
    # Rules and blank lines left hanging at the end of the body.
    text = re.sub(r"(\n\s*(?:[-*_]\s*){3,}\s*)+\s*\Z", "\n", "\n" + text)[1:]
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _unwrap_raw_html(text):
    """Drop {{< rawhtml >}} wrappers: an emptied one goes, any other keeps its
    contents, sanitized and without blank lines, so Markdown still reads them as HTML."""

    def unwrap(match):
        inner = match.group(1).replace(_BOX_MARK, "").strip()
        if not inner:
            return _BOX_MARK if _BOX_MARK in match.group(1) else ""
        cleaned = sanitize(inner)
        return "\n".join(line for line in cleaned.splitlines() if line.strip()) + "\n"

    return _RAWHTML_RE.sub(unwrap, text)


@dataclass
class Body:
    markdown: str
    boxes: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    links: list = field(default_factory=list)  # (url as written, post key) pairs


_POST_LINK_RE = re.compile(r"""(\]\(\s*<?|href\s*=\s*["'])((?:https?://[^/\s"')>]+)?/posts/([^/\s"')>#?]+)/?)""")


def clean_body(markdown, base_host=None):
    """The Markdown of an old post with its affiliate HTML taken out as boxes, its
    FAQ JSON-LD and other scripts removed and its raw-HTML shortcodes unwrapped."""
    result = Body("")
    parts = []
    for is_code, text in _segments(markdown):
        if is_code:
            parts.append(text)
            continue
        scripts = [m.group(1) for m in _SCRIPT_RE.finditer(text)]
        text = _SCRIPT_RE.sub("", text)
        others = [attrs for attrs in scripts if "ld+json" not in attrs]
        if others:
            result.notes.append(f"removed {len(others)} <script> block(s); pages never run scripts from posts")
        text = _take_boxes(text, result.boxes)
        text = _unwrap_raw_html(text)
        for name in sorted({m.group(1) for m in _SHORTCODE_RE.finditer(text)}):
            result.notes.append(f"shortcode {{{{< {name} >}}}} is not supported: left as text")
        parts.append(text)
    result.markdown = _drop_emptied_sections("".join(parts))
    for is_code, text in _segments(result.markdown):
        if not is_code:
            for match in _POST_LINK_RE.finditer(text):
                host = urlsplit(match.group(2)).hostname
                if host is None or host == base_host:
                    result.links.append(unquote(match.group(3)))
    return result


def rewrite_post_links(markdown, targets, base_host=None):
    """Point links to /posts/<name>/ at the post's current URL where `targets`
    ({name: slug}) knows better; fenced code is left alone."""

    def replace(match):
        host = urlsplit(match.group(2)).hostname
        name = unquote(match.group(3))
        if (host is None or host == base_host) and targets.get(name, name) != name:
            return match.group(1) + f"/posts/{targets[name]}/"
        return match.group(0)

    return "".join(
        text if is_code else _POST_LINK_RE.sub(replace, text) for is_code, text in _segments(markdown)
    )


# --- Import --------------------------------------------------------------------------


@dataclass
class Source:
    """One post file, read and checked, not yet saved."""

    key: str  # path relative to the site, e.g. content/posts/2026-01-15-854daf8d.md
    name: str  # file name without extension, or the page bundle's folder name
    path: Path
    digest: str
    meta: dict = field(default_factory=dict)
    body: Body = None
    published_at: dt.datetime = None
    slug: str = ""


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: int = 0
    failed: int = 0
    broken_links: list = field(default_factory=list)  # (source key, link)
    missing: list = field(default_factory=list)  # source keys no longer in the site


class HugoImporter:
    """Import (or re-import) the posts of a Hugo site; see `import_hugo --help`."""

    def __init__(self, site_dir, *, dry_run=False, prune=False, report=print, progress=None):
        self.site_dir = Path(site_dir).resolve()
        self.dry_run = dry_run
        self.prune = prune
        self.report = report
        self.progress = progress or (lambda done, total: None)
        self.summary = Summary()
        self._stored_covers = {}
        self._terms = {Category: {}, Tag: {}}

    # Reporting

    def warn(self, key, problem, action):
        self.summary.warnings += 1
        self.report(f"{key}: {problem}: {action}")

    def fail(self, key, problem):
        self.summary.failed += 1
        self.report(f"{key}: {problem}: not imported")

    # The run

    def run(self):
        if not self.site_dir.is_dir():
            raise SourceError(f"{self.site_dir} is not a folder")
        try:
            config = read_config(self.site_dir)
        except (ValueError, yaml.YAMLError, SourceError) as error:
            config = {}
            self.warn("site config", f"cannot be read ({error})", "using defaults")
        self.tz = self._time_zone(config)
        self.base_host = urlsplit(str(config.get("baseURL") or "")).hostname
        with transaction.atomic():
            sources = self._read_sources()
            self._save(sources)
            self._import_term_pages()
            self._bootstrap_settings(config, sources)
            if self.dry_run:
                transaction.set_rollback(True)
        return self.summary

    def _time_zone(self, config):
        name = config.get("timeZone") or config.get("timezone") or settings.TIME_ZONE
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.warn("site config", f"unknown timeZone {name!r}", f"using {settings.TIME_ZONE}")
            return zoneinfo.ZoneInfo(settings.TIME_ZONE)

    def _files(self):
        root = self.site_dir / "content" / "posts"
        found = []
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if path.suffix.lower() not in (".md", ".markdown") or path.name.startswith("_index."):
                continue
            if not path.resolve().is_relative_to(self.site_dir):
                self.fail(self._key(path), "links outside the site folder")
                continue
            name = path.parent.name if path.stem == "index" else path.stem
            found.append((path, name))
        return found

    def _key(self, path):
        return PurePosixPath(path.relative_to(self.site_dir)).as_posix()

    def _read_sources(self):
        """Every post file: unchanged ones by digest, the rest parsed and cleaned."""
        files = self._files()
        self.known = {
            post["source_path"]: post
            for post in Post.objects.filter(source_path__isnull=False).values("id", "slug", "source_path", "source_digest")
        }
        self.seen, changed = set(), []
        for done, (path, name) in enumerate(files, 1):
            self.progress(done, len(files))
            key = self._key(path)
            self.seen.add(key)
            try:
                size = path.stat().st_size
                if size > MAX_FILE_BYTES:
                    raise SourceError(f"file is {size / 1024 / 1024:.1f} MB, over the {MAX_FILE_BYTES // 1024 // 1024} MB limit")
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                known = self.known.get(key)
                if known and known["source_digest"] == digest:
                    self.summary.unchanged += 1
                    changed.append(Source(key, name, path, digest, slug=known["slug"]))
                    continue
                changed.append(self._parse(Source(key, name, path, digest), data))
            except SourceError as error:
                self.fail(key, error)
        return changed

    def _parse(self, source, data):
        meta, body = split_front_matter(decode(data))
        title = meta.get("title")
        if not isinstance(title, str) or not title.strip():
            raise SourceError("front matter has no title")
        if len(title) > Post._meta.get_field("title").max_length:
            raise SourceError(f"title is longer than {Post._meta.get_field('title').max_length} characters")
        when = meta.get("publishDate") or meta.get("date")
        if when is None:
            when = dt.datetime.fromtimestamp(source.path.stat().st_mtime, self.tz)
            self.warn(source.key, "no date in front matter", "using the file's modification time")
        source.published_at = parse_datetime(when, self.tz, "date")
        source.meta = meta
        source.body = clean_body(body, self.base_host)
        for note in source.body.notes:
            self.warn(source.key, note, "imported")
        return source

    # Slugs

    def _assign_slugs(self, sources):
        """Give each new or changed post its Hugo slug; when two claim one, the one
        already here, then the earliest by date, keeps it and the other falls back to
        its file name."""
        owners = dict(Post.objects.values_list("slug", "source_path"))
        pending = sorted((s for s in sources if s.body), key=lambda s: (s.published_at, s.key))
        for source in pending:
            if self.known.get(source.key):
                owners.pop(self.known[source.key]["slug"], None)
        for source in pending:
            url_name = PurePosixPath(str(source.meta.get("url") or "").strip("/")).name
            wanted = urlize(str(source.meta.get("slug") or url_name or source.name))
            slug = wanted
            if slug in owners and owners[slug] != source.key:
                holder = owners[slug] or "a post written in Kiji"
                slug = urlize(source.name) or wanted
                number = 2
                while slug in owners and owners[slug] != source.key:
                    slug, number = f"{urlize(source.name)}-{number}", number + 1
                self.warn(source.key, f"slug “{wanted}” is already taken by {holder}, which keeps it", f"served at /posts/{slug}/")
            owners[slug] = source.key
            source.slug = slug

    def _link_targets(self, sources):
        """{name a link may use: slug now}, from file names, slugs and old redirects."""
        targets = {slug: slug for slug in Post.objects.values_list("slug", flat=True)}
        prefix = "/posts/"
        for old, new in Redirect.objects.filter(old_path__startswith=prefix, new_path__startswith=prefix).values_list("old_path", "new_path"):
            targets[old[len(prefix) :].strip("/")] = new[len(prefix) :].strip("/")
        for source in sources:
            targets[source.slug] = source.slug
            targets.setdefault(source.name, source.slug)
            targets.setdefault(urlize(source.name), source.slug)
        return targets

    # Saving

    def _save(self, sources):
        self._assign_slugs(sources)
        targets = self._link_targets(sources)
        pending = [source for source in sources if source.body is not None]
        for source in pending:
            for name in source.body.links:
                if name not in targets:
                    self.summary.broken_links.append((source.key, f"/posts/{name}/"))
            source.body.markdown = rewrite_post_links(source.body.markdown, targets, self.base_host)
        rendered = render_many([source.body.markdown for source in pending])
        self.redirects = []
        for source, result in zip(pending, rendered):
            try:
                # A revision per post: an import never silently replaces an editor's work.
                with transaction.atomic(), reversion.create_revision():
                    reversion.set_comment(f"import_hugo: {source.key}")
                    self._save_post(source, result)
            except SourceError as error:
                self.fail(source.key, error)
        Redirect.add_many(self.redirects)
        self.summary.missing = sorted(set(self.known) - self.seen)
        if self.prune and self.summary.missing:
            Post.objects.filter(source_path__in=self.summary.missing).delete()

    def _save_post(self, source, rendered):
        meta = source.meta
        known = self.known.get(source.key)
        post = Post.objects.get(pk=known["id"]) if known else Post(source_path=source.key)
        post.title = meta["title"].strip()
        post.slug = source.slug
        post.body = source.body.markdown
        post.description = str(meta.get("description") or meta.get("summary") or "").strip()
        post.status = Post.Status.DRAFT if meta.get("draft") is True else Post.Status.PUBLISHED
        post.published_at = source.published_at
        lastmod = meta.get("lastmod")
        post.updated_at = parse_datetime(lastmod, self.tz, "lastmod") if lastmod else source.published_at
        expiry = meta.get("expiryDate")
        post.expires_at = parse_datetime(expiry, self.tz, "expiryDate") if expiry else None
        post.source_digest = source.digest
        post.updated_by = None  # the file changed, not anyone in the admin
        self._set_cover(post, source)
        author = meta.get("author")
        if isinstance(author, str) and author:
            post.author = get_user_model().objects.filter(username=author).first() or post.author
        try:
            post.clean_fields(exclude=["cover", "author", "source_path", "body"])
        except ValidationError as error:
            raise SourceError("; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items()))
        post.save(touch=False, rendered=rendered)
        categories = self._term_list(Category, meta.get("categories"), source.key)
        tags = self._term_list(Tag, meta.get("tags"), source.key)
        boxes = self._boxes(source)
        if known:
            post.categories.set(categories)
            post.tags.set(tags)
            post.affiliate_boxes.all().delete()
        else:  # A new post has no terms yet: insert the links without reading first.
            for field, terms in (("categories", categories), ("tags", tags)):
                through = getattr(Post, field).through
                column = "category" if field == "categories" else "tag"
                through.objects.bulk_create([through(post=post, **{column: term}) for term in dict.fromkeys(terms)])
        for position, box in enumerate(boxes):
            box.post, box.position = post, position
        AffiliateBox.objects.bulk_create(boxes)
        self._collect_redirects(post, source)
        if known:
            self.summary.updated += 1
        else:
            self.summary.created += 1

    def _term_list(self, model, value, key):
        try:
            names = _names(value)
        except SourceError as error:
            self.warn(key, str(error), "ignored")
            return []
        terms = []
        cache = self._terms[model]
        for name in names:
            slug = urlize(name)
            if not slug:
                self.warn(key, f"{model._meta.verbose_name} {name!r} has no letters or digits", "ignored")
                continue
            if slug not in cache:
                cache[slug] = model.objects.get_or_create_by_name(name)
            terms.append(cache[slug])
        return terms

    def _boxes(self, source):
        boxes = list(source.body.boxes)
        for number, item in enumerate(source.meta.get(AFFILIATE_KEY) or [], 1):
            keyword = str(item.get("keyword") or "").strip() if isinstance(item, dict) else ""
            if not keyword:
                self.warn(source.key, f"{AFFILIATE_KEY} box {number} has no keyword", "ignored")
                continue
            placement = item.get("placement") or AffiliateBox.Placement.SUMMARY
            if placement not in AffiliateBox.Placement.values:
                self.warn(source.key, f"{AFFILIATE_KEY} box {number}: unknown placement {placement!r}", "placed after the summary")
                placement = AffiliateBox.Placement.SUMMARY
            boxes.append(
                AffiliateBox(
                    keyword=keyword[:200],
                    product_name=str(item.get("product_name") or "")[:200],
                    reason=str(item.get("reason") or "")[:300],
                    placement=placement,
                )
            )
        return boxes

    def _collect_redirects(self, post, source):
        url = post.get_absolute_url()
        old = [f"/posts/{source.name}/", f"/posts/{urlize(source.name)}/"]
        if source.meta.get("url"):
            old.append("/" + str(source.meta["url"]).strip("/") + "/")
        aliases = source.meta.get("aliases") or []
        for alias in [aliases] if isinstance(aliases, str) else aliases:
            alias = str(alias).strip()
            if alias:
                old.append(("/" if alias.startswith("/") else "/posts/") + alias.strip("/") + "/")
        self.redirects.extend((path, url) for path in dict.fromkeys(old))

    def _import_term_pages(self):
        """Descriptions from content/categories/<slug>/_index.md and content/tags/…."""
        for model, section in ((Category, "categories"), (Tag, "tags")):
            for path in sorted((self.site_dir / "content" / section).glob("*/_index.md")):
                key = self._key(path)
                try:
                    meta, _body = split_front_matter(decode(path.read_bytes()))
                except SourceError as error:
                    self.warn(key, error, "ignored")
                    continue
                name = " ".join(str(meta.get("title") or "").split())
                description = str(meta.get("description") or "").strip()
                term = model.objects.filter(slug=urlize(path.parent.name)).first()
                if term is None and name:
                    term = model.objects.get_or_create_by_name(name)
                if term is not None and description and term.description != description:
                    term.description = description
                    term.save()

    # Covers

    def _set_cover(self, post, source):
        cover = source.meta.get("cover")
        ref, alt = None, ""
        if isinstance(cover, dict):
            ref, alt = cover.get("image"), str(cover.get("alt") or "")
        ref = ref or source.meta.get("image") or (source.meta.get("images") or [None])[0]
        post.cover_alt = alt[:300]
        if not isinstance(ref, str) or not ref.strip():
            post.cover = ""
            return
        try:
            name, info = self._store_cover(source, ref.strip())
        except SourceError as error:
            self.warn(source.key, f"cover {ref}: {error}", "imported without a cover")
            post.cover = ""
            return
        post.cover.name = name
        post.cover_width, post.cover_height = info.width, info.height

    def _cover_path(self, source, ref):
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc:
            if parts.hostname != self.base_host:
                raise SourceError("is on another site, not in this one")
            ref = parts.path
        ref = unquote(ref)
        if ".." in PurePosixPath(ref).parts:
            raise SourceError("leaves the site folder")
        if ref.startswith("/"):
            path = self.site_dir / "static" / ref.lstrip("/")
        elif source.path.stem == "index":  # page bundle: relative to the bundle
            path = source.path.parent / ref
        else:
            path = self.site_dir / "static" / ref
        path = path.resolve()
        if not path.is_relative_to(self.site_dir):
            raise SourceError("leaves the site folder")
        if not path.is_file():
            raise SourceError(f"not found at {self._key(path) if path.is_relative_to(self.site_dir) else path}")
        return path

    def _store_cover(self, source, ref):
        path = self._cover_path(source, ref)
        if path in self._stored_covers:
            return self._stored_covers[path]
        relative = path.relative_to(self.site_dir / "static") if path.is_relative_to(self.site_dir / "static") else path.relative_to(self.site_dir)
        with path.open("rb") as handle:
            try:
                info = images.validate_image(File(handle, name=path.name))
            except ValidationError as error:
                raise SourceError(" ".join(error.messages))
            name = f"{COVER_STORAGE_DIR}/{PurePosixPath(relative).as_posix()}"
            if not self.dry_run and not _same_file(name, handle):
                if default_storage.exists(name):
                    default_storage.delete(name)
                    # Same name, new picture: resized copies of the old one must go.
                    Post.objects.filter(cover=name).update(cover_renditions={})
                handle.seek(0)
                name = default_storage.save(name, File(handle, name=path.name))
        self._stored_covers[path] = (name, info)
        return name, info

    # Settings a new site needs

    def _bootstrap_settings(self, config, sources):
        """Fill site and affiliate settings that are still empty from the old site."""
        site = SiteSettings.load()
        if site.title == SiteSettings._meta.get_field("title").default and config.get("title"):
            params = config.get("params") or {}
            site.title = str(config["title"])[:200]
            site.description = str(params.get("description") or site.description)
            site.save()
            self.report(f"site settings: title set to “{site.title}” from the site config")
        affiliate = AffiliateSettings.load()
        if affiliate.amazon_tag or affiliate.rakuten_id:
            return
        tags, ids = {}, {}
        for source in sources:
            if source.body is None:
                continue
            raw = source.path.read_text(encoding="utf-8", errors="replace")
            for tag in re.findall(r"amazon\.co\.jp/[^\s\"')]*[?&]tag=([\w-]+)", raw):
                tags[tag] = tags.get(tag, 0) + 1
            for rakuten_id in re.findall(r"hb\.afl\.rakuten\.co\.jp/hgc/([\w.]+)/", raw):
                ids[rakuten_id] = ids.get(rakuten_id, 0) + 1
        if tags or ids:
            affiliate.amazon_tag = max(tags, key=tags.get) if tags else ""
            affiliate.rakuten_id = max(ids, key=ids.get) if ids else ""
            affiliate.save()
            self.report(
                f"affiliate settings: Amazon tag “{affiliate.amazon_tag}” and Rakuten id "
                f"“{affiliate.rakuten_id}” taken from the posts' links"
            )


def _same_file(name, handle):
    if not default_storage.exists(name) or default_storage.size(name) != handle.seek(0, 2):
        return False
    handle.seek(0)
    with default_storage.open(name, "rb") as stored:
        return hashlib.file_digest(stored, "sha256").digest() == hashlib.file_digest(handle, "sha256").digest()


# --- Export --------------------------------------------------------------------------


def export_site(out_dir):
    """Write every post as a Hugo site under `out_dir`; return how many posts."""
    out_dir = Path(out_dir)
    posts_dir = out_dir / "content" / "posts"
    posts_dir.mkdir(parents=True, exist_ok=True)
    aliases = {}
    for old, new in Redirect.objects.values_list("old_path", "new_path"):
        aliases.setdefault(new, []).append(old)
    site = SiteSettings.load()
    (out_dir / "hugo.toml").write_text(
        f'title = {json.dumps(site.title, ensure_ascii=False)}\n'
        f'languageCode = "{settings.LANGUAGE_CODE}"\n'
        f'timeZone = "{settings.TIME_ZONE}"\n',
        encoding="utf-8",
    )
    count = 0
    posts = Post.objects.select_related("author").prefetch_related("categories", "tags", "affiliate_boxes")
    for post in posts.iterator(chunk_size=200):
        front = _front_matter(post, aliases.get(unquote(post.get_absolute_url()), []))
        if post.cover:
            front["cover"]["image"] = "/" + _export_cover(post.cover, out_dir / "static")
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000) + "---\n" + post.body
        (posts_dir / f"{post.slug}.md").write_text(text, encoding="utf-8")
        count += 1
    for model, section in ((Category, "categories"), (Tag, "tags")):
        for term in model.objects.exclude(description=""):
            folder = out_dir / "content" / section / term.slug
            folder.mkdir(parents=True, exist_ok=True)
            front = {"title": term.name, "description": term.description}
            (folder / "_index.md").write_text(
                "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n", encoding="utf-8"
            )
    return count


def _front_matter(post, aliases):
    tz = timezone.get_current_timezone()
    front = {
        "title": post.title,
        "date": post.published_at.astimezone(tz).isoformat(),
        "lastmod": post.updated_at.astimezone(tz).isoformat(),
        "slug": post.slug,
    }
    if post.description:
        front["description"] = post.description
    if post.status != Post.Status.PUBLISHED:
        front["draft"] = True
    if post.expires_at:
        front["expiryDate"] = post.expires_at.astimezone(tz).isoformat()
    if post.author:
        front["author"] = post.author.get_username()
    front["categories"] = [category.name for category in post.categories.all()]
    front["tags"] = [tag.name for tag in post.tags.all()]
    front["cover"] = {"image": "", "alt": post.cover_alt}
    if aliases:
        front["aliases"] = sorted(aliases)
    boxes = [
        {key: value for key, value in [("keyword", box.keyword), ("product_name", box.product_name), ("reason", box.reason), ("placement", box.placement)] if value}
        for box in post.affiliate_boxes.all()
    ]
    if boxes:
        front[AFFILIATE_KEY] = boxes
    return front


def _export_cover(cover, static_dir):
    name = cover.name
    prefix = COVER_STORAGE_DIR + "/"
    relative = name[len(prefix) :] if name.startswith(prefix) else f"images/{name}"
    target = static_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with cover.open("rb") as source, target.open("wb") as out:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            out.write(chunk)
    return relative
