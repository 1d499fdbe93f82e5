"""`import_hugo`: take a Hugo site over with every URL it served, and keep taking its
new and changed posts.

Every file is imported on its own: read, parsed, rendered, given its cover and saved
inside its own savepoint, so that one bad file (or a bug that only one file shows)
costs that file alone. Each problem becomes one line, `file: what is wrong: what was
done`; a file that cannot be imported leaves nothing behind. Each post is committed as
soon as it is saved, so an interrupted run keeps every post it finished.
"""

import datetime as dt
import hashlib
import logging
import zoneinfo
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import reversion
import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction

from .. import changes, uploads
from ..models import AffiliateBox, Category, MediaImage, Post, Product, Redirect, Tag
from ..rendering import render
from ..slugs import urlize
from . import covers
from .cleanup import Body, clean_body, rewrite_post_links
from .extras import SiteExtras
from .frontmatter import (
    AFFILIATE_KEY,
    MAX_FILE_BYTES,
    Meta,
    SourceError,
    decode,
    parse_datetime,
    read_config,
    split_front_matter,
)

logger = logging.getLogger(__name__)

# Posts handed to the worker processes at a time: enough to keep them busy, few enough
# that rendered bodies and prepared covers waiting to be saved stay small.
WINDOW = 64


@dataclass
class Source:
    """One post file, read and checked, not yet saved."""

    key: str  # path relative to the site, e.g. content/posts/2026-01-15-854daf8d.md
    name: str  # file name without extension, or the page bundle's folder name
    path: Path
    digest: str
    meta: Meta = None
    title: str = ""
    body: Body = None
    published_at: dt.datetime = None
    slug: str = ""
    cover: covers.Cover = None
    cover_digest: str = ""  # SHA-256 of a local cover file's bytes
    cover_alt: str = ""

    @property
    def changed(self):
        return self.body is not None


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: int = 0
    failed: int = 0
    broken_links: list = field(default_factory=list)  # (source key, link)
    missing: list = field(default_factory=list)  # source keys no longer in the site
    remote_covers: list = field(default_factory=list)  # (source key, URL) not fetched


@dataclass
class _Failure:
    """What went wrong in a worker process, to be reported for its file."""

    message: str


class HugoImporter(SiteExtras):
    """Import (or re-import) the posts of a Hugo site; see `import_hugo --help`."""

    def __init__(
        self, site_dir, *, dry_run=False, prune=False, fetch_remote_covers=False, report=print, progress=None
    ):
        self.site_dir = Path(site_dir).resolve()
        self.dry_run = dry_run
        self.prune = prune
        self.fetch_remote_covers = fetch_remote_covers
        self.report = report
        self.progress = progress or (lambda done, total: None)
        self.summary = Summary()
        self._terms = {Category: {}, Tag: {}}
        self._media = {}  # source digest (or remote URL) -> MediaImage, for covers shared by posts

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
        except (ValueError, yaml.YAMLError, OSError) as error:
            config = {}
            self.warn("site config", f"cannot be read ({error})", "using defaults")
        self.tz = self._time_zone(config)
        self.base_host = urlsplit(str(config.get("baseURL") or "")).hostname
        # What the run changed is looked at once, when it ends (changes.batch).
        with changes.batch():
            if self.dry_run:
                with transaction.atomic():
                    self._run(config)
                    transaction.set_rollback(True)
            else:
                self._run(config)
                if self.summary.created + self.summary.updated:
                    _refresh_statistics()
        return self.summary

    def _run(self, config):
        self._import_products()
        sources = self._read_sources()
        self._assign_slugs(sources)
        targets = self._link_targets(sources)
        pending = [source for source in sources if source.changed]
        for source in pending:
            for name in source.body.links:
                if name not in targets:
                    self.summary.broken_links.append((source.key, f"/posts/{name}/"))
            source.body.markdown = rewrite_post_links(source.body.markdown, targets, self.base_host)
        for source, rendered, cover in self._prepared(pending):
            self._import(source, rendered, cover)
        self._import_term_pages()
        self._bootstrap_settings(config, sources)
        self.summary.missing = sorted(set(self.known) - self.seen)
        if self.prune and self.summary.missing:
            Post.objects.filter(source_path__in=self.summary.missing).delete()

    def _time_zone(self, config):
        name = config.get("timeZone") or config.get("timezone") or settings.TIME_ZONE
        try:
            return zoneinfo.ZoneInfo(str(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.warn("site config", f"unknown timeZone {name!r}", f"using {settings.TIME_ZONE}")
            return zoneinfo.ZoneInfo(settings.TIME_ZONE)

    # Reading

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
        """Every post file: unchanged ones known by digest, the rest parsed and cleaned."""
        files = self._files()
        self.known = {
            post["source_path"]: post
            for post in Post.objects.filter(source_path__isnull=False).values("id", "slug", "source_path", "source_digest")
        }
        self.seen, sources = set(), []
        for done, (path, name) in enumerate(files, 1):
            self.progress(done, len(files))
            key = self._key(path)
            self.seen.add(key)
            try:
                size = path.stat().st_size
                if size > MAX_FILE_BYTES:
                    raise SourceError(
                        f"file is {size / 1024 / 1024:.1f} MB, over the {MAX_FILE_BYTES // 1024 // 1024} MB limit"
                    )
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                known = self.known.get(key)
                if known and known["source_digest"] == digest:
                    self.summary.unchanged += 1
                    sources.append(Source(key, name, path, digest, slug=known["slug"]))
                    continue
                sources.append(self._parse(Source(key, name, path, digest), data))
            except SourceError as error:
                self.fail(key, error)
            except Exception as error:  # a bug: this file's line, not a traceback for the run
                logger.debug("%s could not be read", key, exc_info=True)
                self.fail(key, f"unexpected error while reading ({type(error).__name__}: {error})")
        return sources

    def _parse(self, source, data):
        data, body = split_front_matter(decode(data))
        meta = source.meta = Meta(data)
        source.title = meta.text("title", required=True)
        if len(source.title) > Post._meta.get_field("title").max_length:
            raise SourceError(f"title is longer than {Post._meta.get_field('title').max_length} characters")
        when = meta.get("publishDate") or meta.get("date")
        if when is None:
            when = dt.datetime.fromtimestamp(source.path.stat().st_mtime, self.tz)
            meta.note("no date in front matter", "using the file's modification time")
        source.published_at = parse_datetime(when, self.tz, "date")
        ref, source.cover_alt = meta.cover()
        if ref:
            try:
                source.cover = covers.locate(
                    ref, site_dir=self.site_dir, source_path=source.path, base_host=self.base_host
                )
            except SourceError as error:
                meta.note(f"cover {_shorten(ref)}: {error}", "imported without a cover")
        unknown = meta.unknown_keys()
        if unknown:
            meta.note(f"front matter keys not used by Kiji: {', '.join(unknown)}", "ignored")
        source.body = clean_body(body, self.base_host)
        for note in source.body.notes:
            meta.note(note, "imported")
        return source

    # Slugs

    def _assign_slugs(self, sources):
        """Give each new or changed post its Hugo slug. A post keeps the URL it has;
        among new files that claim one slug, the newest keeps it, as on the live
        Hugo site (it is the one Hugo wrote last), and the others fall back to their
        file names."""
        owners = dict(Post.objects.values_list("slug", "source_path"))
        changed = [source for source in sources if source.changed]
        for source in changed:
            if self.known.get(source.key):
                owners.pop(self.known[source.key]["slug"], None)
        newest_first = sorted(changed, key=lambda s: (s.published_at, s.key), reverse=True)
        # Posts already here claim first, so that a new file never takes a known URL.
        ordered = [s for s in newest_first if s.key in self.known] + [s for s in newest_first if s.key not in self.known]
        for source in ordered:
            wanted = self._wanted_slug(source)
            slug = wanted
            if not slug or (slug in owners and owners[slug] != source.key):
                fallback = urlize(source.name) or "post"
                slug, number = fallback, 2
                while slug in owners and owners[slug] != source.key:
                    slug, number = f"{fallback}-{number}", number + 1
                if wanted:
                    holder = owners[wanted] or "a post written in Kiji"
                    newer = "" if holder in self.known or not owners[wanted] else "newer "
                    source.meta.note(
                        f"slug “{wanted}” is also claimed by {newer}{holder}, which keeps it", f"served at /posts/{slug}/"
                    )
            owners[slug] = source.key
            source.slug = slug

    def _wanted_slug(self, source):
        meta = source.meta
        given = meta.text("slug")
        url_name = PurePosixPath(meta.text("url").strip("/")).name
        wanted = urlize(given or url_name or source.name)
        if given and wanted != given:
            meta.note(f"slug “{given}” is not a URL-safe slug", f"served at /posts/{wanted}/" if wanted else "using the file name")
        limit = Post._meta.get_field("slug").max_length
        if len(wanted) > limit:
            meta.note(f"slug is longer than {limit} characters", "using the file name")
            return ""
        return wanted

    def _link_targets(self, sources):
        """{name a link may use: slug now}, from file names, slugs and old redirects."""
        targets = {slug: slug for slug in Post.objects.values_list("slug", flat=True)}
        prefix = "/posts/"
        for old, new in Redirect.objects.filter(old_path__startswith=prefix, new_path__startswith=prefix).values_list(
            "old_path", "new_path"
        ):
            targets[old[len(prefix) :].strip("/")] = new[len(prefix) :].strip("/")
        for source in sources:
            targets[source.slug] = source.slug
            targets.setdefault(source.name, source.slug)
            targets.setdefault(urlize(source.name), source.slug)
        return targets

    # Rendering and covers, in worker processes

    def _prepared(self, sources):
        """(source, rendered body or _Failure, Prepared cover or SourceError or None) for
        each source, in order; rendering and cover images run on every CPU. A cover
        file shared by several posts is prepared once."""
        jobs, first_of = [], {}
        for source in sources:
            cover_path = None
            if source.cover and not source.cover.is_remote:
                try:
                    source.cover_digest = covers.digest(source.cover.path.read_bytes())
                except OSError as error:
                    source.meta.note(f"cover {source.cover.ref}: cannot be read ({error})", "imported without a cover")
                    source.cover = None
                else:
                    if source.cover_digest not in first_of and not self._known_media(source.cover_digest):
                        first_of[source.cover_digest] = source.key
                        cover_path = str(source.cover.path)
            jobs.append((source.body.markdown, cover_path))
        workers = min(settings.KIJI_IMPORT_WORKERS, len(jobs) // 20) if jobs else 0
        results = _parallel_map(_prepare_job, jobs, workers)
        for source, (rendered, cover) in zip(sources, results):
            yield source, rendered, cover

    def _known_media(self, key):
        """The media library entry already made from the source with this digest, if
        its file is still there."""
        if key not in self._media:
            media = MediaImage.objects.filter(source_digest=key).order_by("pk").first()
            if media is None or not default_storage.exists(media.file.name):
                return None
            self._media[key] = media
        return self._media[key]

    # Saving

    def _import(self, source, rendered, prepared):
        stored, cached = [], []
        try:
            if isinstance(rendered, _Failure):
                raise SourceError(rendered.message)
            with transaction.atomic():
                with reversion.create_revision():
                    # A revision per post: an import never silently replaces an editor's work.
                    reversion.set_comment(f"import_hugo: {source.key}")
                    created = self._save(source, rendered, prepared, stored, cached)
        except Exception as error:
            for name in stored:
                default_storage.delete(name)
            for cache, key in cached:
                cache.pop(key, None)
            if isinstance(error, SourceError):
                self.fail(source.key, error)
            else:  # a bug, or a database refusal: this file's line, not a traceback for the run
                logger.debug("%s could not be saved", source.key, exc_info=True)
                self.fail(source.key, f"unexpected error while saving ({type(error).__name__}: {error})")
            return
        for problem, action in source.meta.notes:
            self.warn(source.key, problem, action)
        if created:
            self.summary.created += 1
        else:
            self.summary.updated += 1

    def _save(self, source, rendered, prepared, stored, cached):
        """Save one post with its terms, boxes, cover and redirects; True if it is new."""
        meta = source.meta
        known = self.known.get(source.key)
        post = Post.objects.get(pk=known["id"]) if known else Post(source_path=source.key)
        post.title = source.title
        post.slug = source.slug
        post.body = source.body.markdown
        post.description = meta.text("description") or meta.text("summary")
        post.status = Post.Status.DRAFT if meta.get("draft") is True else Post.Status.PUBLISHED
        post.published_at = source.published_at
        post.updated_at = self._optional_time(meta, "lastmod") or source.published_at
        expiry = meta.get("expiryDate")
        post.expires_at = parse_datetime(expiry, self.tz, "expiryDate") if expiry else None
        post.source_digest = source.digest
        post.updated_by = None  # the file changed, not anyone in the admin
        self._set_cover(post, source, prepared, stored, cached)
        author = meta.get("author")
        if isinstance(author, str) and author:
            post.author = get_user_model().objects.filter(username=author).first() or post.author
        try:
            post.clean_fields(exclude=["cover", "author", "source_path", "body"])
        except ValidationError as error:
            raise SourceError(
                "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
            )
        categories = self._terms_of(Category, meta.names("categories"), meta, cached)
        tags = self._terms_of(Tag, meta.names("tags"), meta, cached)
        self._products(source)
        post.save(touch=False, rendered=rendered)
        if known:
            post.categories.set(categories)
            post.tags.set(tags)
            post.affiliate_boxes.all().delete()
        else:  # A new post has no terms yet: insert the links without reading first.
            for name, terms in (("categories", categories), ("tags", tags)):
                through = getattr(Post, name).through
                column = "category" if name == "categories" else "tag"
                through.objects.bulk_create([through(post=post, **{column: term}) for term in dict.fromkeys(terms)])
            # bulk_create sends no signals: the term pages are told here.
            changes.post_links_changed(post.pk, {f"{term._meta.model_name}:{term.pk}" for term in [*categories, *tags]})
        boxes = self._boxes(source)
        for position, box in enumerate(boxes):
            box.post, box.position = post, position
        AffiliateBox.objects.bulk_create(boxes)
        Redirect.add_many(self._redirects(post, source))
        return known is None

    def _optional_time(self, meta, key):
        value = meta.get(key)
        if not value:
            return None
        try:
            return parse_datetime(value, self.tz, key)
        except SourceError as error:
            meta.note(str(error), "ignored")
            return None

    def _terms_of(self, model, names, meta, cached):
        terms = []
        cache = self._terms[model]
        limit = model._meta.get_field("name").max_length
        for name in names:
            what = model._meta.verbose_name
            slug = urlize(name)
            if not slug:
                meta.note(f"{what} “{name}” has no letters or digits", "skipped")
                continue
            if len(name) > limit:
                meta.note(f"{what} “{_shorten(name)}” is longer than {limit} characters", "skipped")
                continue
            if slug not in cache:
                cache[slug] = model.objects.get_or_create_by_name(name)
                cached.append((cache, slug))
            terms.append(cache[slug])
        return terms

    def _products(self, source):
        """The registry's products for the product cards the body now places; made
        from the card when the registry has none of that slug (an editor's product is
        never overwritten by an import)."""
        for slug, card in source.body.products.items():
            if Product.objects.filter(slug=slug).exists():
                continue
            fields = {"name": card["name"], "keyword": card["keyword"], "reason": card["reason"]}
            for name, value in fields.items():
                limit = Product._meta.get_field(name).max_length
                if len(value) > limit:
                    source.meta.note(f"product {name} “{_shorten(value)}” is longer than {limit} characters", "shortened")
                    fields[name] = value[:limit]
            Product.objects.create(slug=slug, **fields)

    def _boxes(self, source):
        boxes = []
        meta = source.meta
        items = meta.get(AFFILIATE_KEY) or []
        if not isinstance(items, list):
            meta.note(f"{AFFILIATE_KEY} is not a list of boxes", "ignored")
            items = []
        for number, item in enumerate(items, 1):
            keyword = str(item.get("keyword") or "").strip() if isinstance(item, dict) else ""
            if not keyword and not (isinstance(item, dict) and item.get("product")):
                meta.note(f"{AFFILIATE_KEY} box {number} has no keyword", "ignored")
                continue
            placement = item.get("placement") or AffiliateBox.Placement.SUMMARY
            if placement not in AffiliateBox.Placement.values:
                meta.note(f"{AFFILIATE_KEY} box {number}: unknown placement {placement!r}", "placed after the summary")
                placement = AffiliateBox.Placement.SUMMARY
            product = Product.objects.filter(slug=str(item.get("product") or "")).first() if item.get("product") else None
            boxes.append(
                AffiliateBox(
                    keyword=keyword,
                    product=product,
                    product_name=str(item.get("product_name") or ""),
                    reason=str(item.get("reason") or ""),
                    placement=placement,
                )
            )
        for box in boxes:
            for name in ("keyword", "product_name", "reason"):
                limit = AffiliateBox._meta.get_field(name).max_length
                value = getattr(box, name)
                if len(value) > limit:
                    meta.note(f"affiliate box {name} “{_shorten(value)}” is longer than {limit} characters", "shortened")
                    setattr(box, name, value[:limit])
        return boxes

    def _redirects(self, post, source):
        """Hugo's other URLs for the post: its file name, `url` and `aliases`."""
        url = post.get_absolute_url()
        old = [f"/posts/{source.name}/", f"/posts/{urlize(source.name)}/"]
        meta = source.meta
        if meta.text("url"):
            old.append("/" + meta.text("url").strip("/") + "/")
        for alias in meta.list_of_text("aliases"):
            parts = urlsplit(alias)
            if parts.scheme or parts.netloc:
                if parts.hostname != self.base_host:
                    meta.note(f"alias {_shorten(alias)} is on another site, not this one", "ignored")
                    continue
                alias = parts.path
            old.append(("/" if alias.startswith("/") else "/posts/") + alias.strip("/") + "/")
        limit = Redirect._meta.get_field("old_path").max_length
        kept = []
        for path in dict.fromkeys(old):
            if len(unquote(path)) > limit:
                meta.note(f"old URL {_shorten(path)} is longer than {limit} characters", "no redirect made")
            elif any(ord(char) < 32 for char in path):
                meta.note(f"old URL {path!r} holds control characters", "no redirect made")
            else:
                kept.append((path, url))
        return kept

    # Covers

    def _set_cover(self, post, source, prepared, stored, cached):
        post.cover_alt = source.cover_alt
        limit = Post._meta.get_field("cover_alt").max_length
        if len(post.cover_alt) > limit:
            source.meta.note(f"cover alt text is longer than {limit} characters", "shortened")
            post.cover_alt = post.cover_alt[:limit]
        media = self._cover_media(source, prepared, stored, cached) if source.cover else None
        if media is None:
            post.cover = ""
            post.cover_width = post.cover_height = None
            return
        post.cover.name = media.file.name
        post.cover_width, post.cover_height = media.width, media.height

    def _cover_media(self, source, prepared, stored, cached):
        """The media library entry of the source's cover, made now if it is new; None
        (with a note) when there is no usable cover."""
        cover = source.cover
        if cover.is_remote:
            return self._remote_cover(source, stored, cached)
        key = source.cover_digest
        known = self._known_media(key)
        if known is not None:
            return known
        if isinstance(prepared, SourceError):
            source.meta.note(f"cover {_shorten(cover.ref)}: {prepared}", "imported without a cover")
            return None
        if prepared is None:  # the first post with this file failed; prepare it here
            prepared = covers.prepare_path(cover.path)
            if isinstance(prepared, SourceError):
                source.meta.note(f"cover {_shorten(cover.ref)}: {prepared}", "imported without a cover")
                return None
        return self._keep(prepared, key, cover.ref, cover.path.name, stored, cached)

    def _remote_cover(self, source, stored, cached):
        url = source.cover.url
        if not self.fetch_remote_covers:
            self.summary.remote_covers.append((source.key, url))
            source.meta.note(
                f"cover {_shorten(url)} is on another site", "imported without a cover (--fetch-remote-covers downloads it)"
            )
            return None
        known = self._media.get(url) or MediaImage.objects.filter(source=url).order_by("pk").first()
        if known is not None:
            return known
        from ..fetch import FetchError, fetch_image

        try:
            fetched = fetch_image(url)
            key = covers.digest(fetched.content)
            known = self._known_media(key)
            if known is not None:
                return known
            prepared = covers.prepare(fetched.content, fetched.name)
        except (FetchError, SourceError) as error:
            source.meta.note(f"cover {_shorten(url)}: {error}", "imported without a cover")
            return None
        media = self._keep(prepared, key, url, fetched.name, stored, cached)
        self._media[url] = media
        cached.append((self._media, url))
        return media

    def _keep(self, prepared, key, ref, original_name, stored, cached):
        if self.dry_run:
            return None  # checked and prepared, but nothing is stored
        media = uploads.add_to_library(prepared.as_file(), original_name=original_name, digest=key, source=ref)
        stored.append(media.file.name)
        self._media[key] = media
        cached.append((self._media, key))
        return media


def _refresh_statistics():
    """Let the database's planner know the new row counts at once: right after a large
    import, stale statistics make PostgreSQL sort every post for a page of ten, until
    autovacuum gets to them."""
    from django.db import connection

    tables = [Post._meta.db_table, Post.categories.through._meta.db_table, Post.tags.through._meta.db_table]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(table) for table in tables))
            elif connection.vendor == "sqlite":
                cursor.execute("PRAGMA optimize")
    except DatabaseError as error:
        # Only advice to the planner, and the posts are in: a database busy with other
        # writers (SQLite's lock) is no reason to fail the import. Autovacuum (or the
        # next import) brings the statistics up to date.
        logger.warning("Statistics not refreshed after the import: %s", error)


def _shorten(text, limit=80):
    """`text` for a report line: long remote URLs and names cut in the middle."""
    text = str(text)
    return text if len(text) <= limit else f"{text[: limit - 21]}…{text[-20:]}"


def _prepare_job(job):
    """In a worker: render a body and prepare a cover file; failures are returned,
    never raised, so that they belong to their own file."""
    markdown, cover_path = job
    try:
        rendered = render(markdown)
    except Exception as error:  # e.g. a body nested deeply enough to exhaust the parser
        rendered = _Failure(f"the body cannot be rendered ({type(error).__name__}: {error})")
    return rendered, covers.prepare_path(cover_path) if cover_path else None


def _parallel_map(function, jobs, workers):
    """`map(function, jobs)` on `workers` processes (none: here), in order, with at
    most WINDOW jobs in flight, so that results never pile up in memory."""
    if workers < 2:
        yield from map(function, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        in_flight = deque()
        for job in jobs:
            in_flight.append(pool.submit(function, job))
            if len(in_flight) >= WINDOW:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()
