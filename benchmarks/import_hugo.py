"""How fast `import_hugo` takes over a Hugo site, how fast it re-reads one, and whether
it did to each file what the site's manifest says it must.

The benchmark writes the realistic site of benchmarks/sitegen.py: N valid posts (2,000
by default) shaped like the blog Kiji replaces, and one file of each hostile kind on top
(`zz-hostile-<kind>.md`: a NUL byte, Shift_JIS, a YAML alias bomb, a traversal cover, a
polyglot cover…). It imports the site into a throwaway database (a temporary SQLite
file, or the empty database that --database-url names, flushed afterwards) with
`import_hugo --verbosity 0`, times the first import and a second, no-change import,
and prints:

    first import   the whole takeover: parse, clean, render, save, covers
    re-import      the same site again; every file is unchanged, so this is the
                   cost of reading and hashing the files and checking the database
    files/s        files in the site divided by the seconds the step took
    peak RSS       per step, the largest resident memory of this process during it
                   (on Linux; elsewhere since the start) and of the largest render
                   worker so far; overall, of this process including site generation
    figures        the real site's maxima, measured from the generated files

Then it checks the outcome against the manifest: every failed file has exactly one
line, naming its problem, and created nothing; every imported file is a post at the
manifest's URL, which answers 200 (a draft's 404); aliases redirect; covers are stored
where the manifest has one (re-encoded when hostile: no .html, no EXIF, no appended
ZIP, RGB, grey still grey) and absent where it is broken; the re-import reports the
same failures and changes nothing. A failed check is listed with examples; the exit
status is then 1, after everything is printed.

Seeded, so two runs with the same N import the same site; compare figures across
commits on the same machine only. --profile adds a cProfile of the first import's
main process (rendering happens in the workers and is not in it).

    make bench-import N=2000 ARGS="--database-url postgres://…/kiji_bench --json"
"""

import argparse
import cProfile
import io
import json
import logging
import os
import platform
import pstats
import resource
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sitegen import HOSTILE, PWNED_MARKER, SEED, Writer, generate_site

# benchmarks/search.py and benchmarks/terms.py import these from here.
__all__ = ["Writer", "database_version", "throwaway_database"]

EXAMPLES = 5


# --- The run ---------------------------------------------------------------------------


def peak_rss_mib(who):
    """Peak resident memory of this process (RUSAGE_SELF) or its largest child."""
    # Linux reports KiB, macOS bytes.
    return resource.getrusage(who).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def reset_peak_rss():
    """Start this process's high-water mark afresh (Linux), so each run gets its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def run_peak_rss_mib():
    """This process's peak resident memory since reset_peak_rss(), where Linux tells it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib(resource.RUSAGE_SELF)


def database_version(connection):
    """'PostgreSQL 15.20', 'SQLite 3.40.1'."""
    version = ".".join(str(part) for part in connection.get_database_version())
    return f"{connection.display_name} {version}"


def refuse_unless_empty(connection):
    """Stop before migrating if the database holds data: the benchmark flushes it."""
    from django.apps import apps

    tables = set(connection.introspection.table_names())
    # migrate itself fills these two, so a database left by an earlier run has them.
    skipped = {"contenttypes.contenttype", "auth.permission"}
    for model in apps.get_models():
        if model._meta.label_lower in skipped or model._meta.db_table not in tables:
            continue
        if model._default_manager.exists():
            sys.exit(
                f"--database-url: {model._meta.db_table} holds rows; give an empty database, "
                "which the benchmark flushes when it is done."
            )


@contextmanager
def throwaway_database(database_url, workdir):
    """Django on the test settings (production's, with DEBUG off so that no query log
    grows, no HTTPS redirect, and static files that need no `collectstatic`), migrated,
    on a temporary SQLite file in `workdir` or on the empty database `database_url`
    names, which is flushed afterwards. Yields the database connection."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["CACHE_URL"] = "locmem://"
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings

    if database_url:
        refuse_unless_empty(connection)
    try:
        # The test settings' media folder is removed at exit; --keep keeps this one. Tasks
        # go to the database queue, as in production, and a worker runs them after.
        queue = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
        with override_settings(MEDIA_ROOT=str(Path(workdir) / "media"), TASKS=queue):
            call_command("migrate", verbosity=0, interactive=False)
            yield connection
    finally:
        if database_url:
            call_command("flush", verbosity=0, interactive=False)
        connection.close()


@dataclass
class Import:
    """One run of import_hugo: how long it took and what it printed."""

    seconds: float
    lines: list
    command_error: str = ""  # CommandError: expected, the hostile files fail
    crash: str = ""  # anything else: the importer itself broke
    peak_main_mib: float = 0.0
    peak_worker_mib: float = 0.0  # the largest child so far: workers of both runs

    def figures(self, files):
        return {
            "seconds": round(self.seconds, 2),
            "files_per_second": round(files / self.seconds, 1),
            "peak_rss_mib": {"main": round(self.peak_main_mib), "largest_worker": round(self.peak_worker_mib)},
        }


def timed_worker():
    """Run the task worker until the queue is empty: the related lists and cover copies
    the import asked for. {"seconds", "tasks"}."""
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.count()
    started = time.perf_counter()
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    return {"seconds": round(time.perf_counter() - started, 2), "tasks": queued}


def timed_import(site, profile=False):
    """Run `import_hugo --verbosity 0` on `site`; never raises."""
    from django.core.management import CommandError, call_command

    output = io.StringIO()
    profiler = cProfile.Profile() if profile else None
    result = Import(0.0, [])
    reset_peak_rss()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    try:
        call_command("import_hugo", str(site), verbosity=0, stdout=output, stderr=output)
    except CommandError as error:
        result.command_error = str(error)
    except Exception as error:  # noqa: BLE001 - the report says what broke, then goes on
        frames = traceback.extract_tb(error.__traceback__)[-3:]
        where = "; ".join(f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}" for frame in frames)
        result.crash = f"{type(error).__name__}: {error} ({where})"
    if profiler:
        profiler.disable()
    result.seconds = time.perf_counter() - started
    result.peak_main_mib = run_peak_rss_mib()
    result.peak_worker_mib = peak_rss_mib(resource.RUSAGE_CHILDREN)
    result.lines = [line for line in output.getvalue().splitlines() if line.strip()]
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs().sort_stats("cumulative")
        print("\nFirst import, main process (render workers not included):", file=sys.stderr)
        stats.print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
    return result


def counts():
    """How many rows of each kind the import wrote."""
    from posts.models import AffiliateBox, Category, Post, Redirect, Tag

    return {
        "posts": Post.objects.count(),
        "categories": Category.objects.count(),
        "tags": Tag.objects.count(),
        "affiliate_boxes": AffiliateBox.objects.count(),
        "redirects": Redirect.objects.count(),
    }


# --- Checks against the manifest -------------------------------------------------------


@dataclass
class Check:
    name: str
    checked: int = 0
    problems: list = field(default_factory=list)
    note: str = ""

    def fail(self, key, what):
        self.problems.append(f"{key}: {what}")

    @property
    def ok(self):
        return not self.problems

    def as_dict(self):
        return {
            "name": self.name,
            "ok": self.ok,
            "checked": self.checked,
            "failed": len(self.problems),
            "examples": self.problems[:EXAMPLES],
            **({"note": self.note} if self.note else {}),
        }


def lines_about(lines, key):
    return [line for line in lines if line.startswith(f"{key}: ")]


def check_run(label, run):
    check = Check(f"{label}: import_hugo ran to the end", checked=1)
    if run.crash:
        check.fail("import_hugo", f"crashed: {run.crash}")
    return check


def check_lines(label, manifest, run):
    """One line per failed file, holding its word; no imported file said to be not imported."""
    failed = Check(f"{label}: each failed file has exactly one line, naming its problem")
    for spec in manifest.failed():
        failed.checked += 1
        found = lines_about(run.lines, spec.key)
        if len(found) != 1:
            failed.fail(spec.key, f"{len(found)} lines, want 1" + (f" ({found[0][:160]} …)" if found else ""))
        elif spec.warning and spec.warning not in found[0].lower():
            failed.fail(spec.key, f"the line does not say {spec.warning!r}: {found[0][:200]}")
    refused = Check(f"{label}: no file the manifest imports is reported as not imported")
    for spec in manifest.imported():
        refused.checked += 1
        for line in lines_about(run.lines, spec.key):
            if "not imported" in line:
                refused.fail(spec.key, line[len(spec.key) + 2 :][:200])
    others = [line for line in run.lines if not line.startswith("content/posts/")]
    if others:
        refused.note = f"{len(others)} other line(s), e.g. {others[0][:120]!r}"
    return [failed, refused]


def check_warnings(manifest, run):
    """A warned file's line holds the manifest's word. At verbosity 0 only problem lines
    print, so a notice (an alias refused, a tag skipped) may not show: counted, not failed;
    a lost cover must show."""
    check = Check("first import: each expected warning is reported with its word")
    unseen = []
    for spec in manifest.imported():
        if not spec.warning:
            continue
        check.checked += 1
        found = lines_about(run.lines, spec.key)
        if not found:
            if spec.cover == "broken":
                check.fail(spec.key, f"no line about the lost cover {spec.cover_ref!r}")
            else:
                unseen.append(spec.key)
        elif not any(spec.warning in line.lower() for line in found):
            check.fail(spec.key, f"no line says {spec.warning!r}: {found[0][:200]}")
    if unseen:
        check.note = f"{len(unseen)} notice(s) not printed at verbosity 0: {', '.join(unseen)}"
    return check


def check_posts(manifest):
    """What the database holds for each file: the post at its URL, or nothing."""
    from posts.models import Post

    posts = {post.source_path: post for post in Post.objects.exclude(source_path=None).only("source_path", "slug", "title", "cover", "status")}
    stored = Check("each imported file is a post with its title at the manifest's URL")
    for spec in manifest.imported():
        stored.checked += 1
        post = posts.get(spec.key)
        if post is None:
            stored.fail(spec.key, f"no post (want {spec.url})")
        elif post.get_absolute_url() != spec.url:
            stored.fail(spec.key, f"served at {post.get_absolute_url()}, want {spec.url}")
        elif spec.title is not None and post.title != spec.title:
            stored.fail(spec.key, f"title {post.title[:60]!r}, want {spec.title[:60]!r}")
    nothing = Check("a failed file creates nothing")
    for spec in manifest.failed():
        nothing.checked += 1
        if spec.key in posts:
            nothing.fail(spec.key, f"a post was created at {posts[spec.key].get_absolute_url()}")
    covers = Check("covers: stored where the manifest has a local one (never as .html), absent where broken or none")
    remote = 0
    for spec in manifest.imported():
        post = posts.get(spec.key)
        if post is None:
            continue
        covers.checked += 1
        name = post.cover.name if post.cover else ""
        if spec.cover == "local" and not name:
            covers.fail(spec.key, f"no cover stored from {spec.cover_ref}")
        elif spec.cover in ("broken", None) and name:
            covers.fail(spec.key, f"a cover was stored ({name}) from {spec.cover_ref!r}")
        elif name.lower().endswith((".html", ".htm", ".svg")):
            covers.fail(spec.key, f"stored as {name}")
        remote += spec.cover == "remote" and bool(name)
    remotes = sum(spec.cover == "remote" for spec in manifest.imported())
    covers.note = f"{remote} of {remotes} remote covers stored"
    return [stored, nothing, covers]


def check_hostile_covers(manifest):
    """Hostile covers that must be imported come out re-encoded and harmless."""
    from PIL import Image, ImageStat

    from posts.models import Post

    check = Check("hostile covers are re-encoded: no HTML, script, EXIF or ZIP; RGB; grey stays grey")
    for spec in manifest.hostile():
        if spec.cover != "local":
            continue
        check.checked += 1
        post = Post.objects.filter(source_path=spec.key).first()
        if post is None or not post.cover:
            check.fail(spec.key, "no post or no cover to look at")
            continue
        with post.cover.open("rb") as handle:
            data = handle.read()
        problems = []
        if post.cover.name.lower().endswith((".html", ".htm", ".svg")):
            problems.append(f"stored as {post.cover.name}")
        if b"<script" in data.lower() or b"<html" in data.lower():
            problems.append("the file still holds HTML")
        if b"PK\x03\x04" in data:
            problems.append("the file still holds a ZIP")
        try:
            with Image.open(io.BytesIO(data)) as image:
                if len(image.getexif()):
                    problems.append("EXIF kept" + (" (GPS!)" if image.getexif().get_ifd(0x8825) else ""))
                if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                    problems.append(f"mode {image.mode}")
                if spec.kind == "grey16-cover":
                    mean = ImageStat.Stat(image.convert("L")).mean[0]
                    if not 32 <= mean <= 200:
                        problems.append(f"a mid grey became {mean:.0f} of 255")
        except Exception as error:  # noqa: BLE001 - an unreadable stored cover is the finding
            problems.append(f"unreadable: {error}")
        if problems:
            check.fail(spec.key, "; ".join(problems))
    return check


def check_pages(manifest):
    """Every published URL answers 200, every draft 404, every on-site alias redirects."""
    from django.test import Client

    client = Client()
    # Each draft's 404 would be logged as a warning: expected here, so not printed.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    started = time.perf_counter()
    pages = Check("each published post answers 200 at its URL; drafts 404")
    aliases = Check("each on-site alias redirects to its post")
    for spec in manifest.imported():
        pages.checked += 1
        status = client.get(spec.url).status_code
        want = 404 if spec.draft else 200
        if status != want:
            pages.fail(spec.key, f"{spec.url} answered {status}, want {want}")
        for alias in spec.aliases:
            aliases.checked += 1
            response = client.get(alias)
            target = urlsplit(response.get("Location", "")).path
            if response.status_code not in (301, 308) or target != spec.url:
                aliases.fail(spec.key, f"{alias} answered {response.status_code} → {target or '-'}, want 301 → {spec.url}")
    pages.note = f"{time.perf_counter() - started:.1f} s for the requests"
    return [pages, aliases]


def check_offsite_aliases(manifest):
    """An alias on another site is refused: no redirect is made from it."""
    from posts.models import Redirect

    check = Check("an off-site alias makes no redirect")
    for spec in manifest.valid():
        if spec.quirk == "offsite-alias":
            check.checked += 1
            for old_path, new_path in Redirect.objects.filter(old_path__contains="other.example.com").values_list("old_path", "new_path"):
                check.fail(spec.key, f"redirect {old_path} → {new_path}")
    return check


def check_nothing_ran():
    check = Check("the YAML python tag ran nothing", checked=1)
    if Path(PWNED_MARKER).exists():
        check.fail(PWNED_MARKER, "exists: a YAML tag was executed")
    return check


def check_reimport(before, after, boxes_before, boxes_after):
    check = Check("re-import: nothing changed (counts, boxes)", checked=1)
    if before != after:
        check.fail("database", f"{before} became {after}")
    if boxes_before != boxes_after:
        # A post that was written again would have had its boxes replaced.
        check.fail("database", f"{len(boxes_before ^ boxes_after)} affiliate boxes replaced")
    return check


def run(options, workdir):
    """Generate the site, import it twice, check it, and return the figures as a dict."""
    started = time.perf_counter()
    site = workdir / "site"
    if Path(PWNED_MARKER).exists():  # left by an earlier, broken run: start clean
        Path(PWNED_MARKER).unlink()
    hostile = False if options.no_hostile else [kind for kind in HOSTILE if kind not in options.skip]
    manifest = generate_site(site, options.posts, seed=options.seed, hostile=hostile)
    generated = time.perf_counter() - started
    files = len(manifest.files)
    site_bytes = sum(path.stat().st_size for path in (site / "content").rglob("*.md"))

    mark = time.perf_counter()
    with throwaway_database(options.database_url, workdir) as connection:
        import django

        migrated = time.perf_counter() - mark
        from posts.models import AffiliateBox

        rss_before = peak_rss_mib(resource.RUSAGE_SELF)
        first = timed_import(site, profile=options.profile)
        worker = timed_worker()
        after_first = counts()
        boxes = set(AffiliateBox.objects.values_list("id", flat=True))
        checks = [check_run("first import", first), *check_lines("first import", manifest, first)]
        checks.append(check_warnings(manifest, first))
        checks += check_posts(manifest)
        checks += [check_hostile_covers(manifest), check_offsite_aliases(manifest), check_nothing_ran()]
        again = timed_import(site)
        checks += [check_run("re-import", again), *check_lines("re-import", manifest, again)]
        checks.append(check_reimport(after_first, counts(), boxes, set(AffiliateBox.objects.values_list("id", flat=True))))
        if not options.no_page_check:
            checks += check_pages(manifest)

        return {
            "posts": options.posts,
            "files": files,
            "hostile_files": len(manifest.hostile()),
            "site_megabytes": round(site_bytes / 1e6, 1),
            "first_import": first.figures(files),
            "worker_after_first_import": worker,
            "reimport": again.figures(files),
            "generate_seconds": round(generated, 2),
            "migrate_seconds": round(migrated, 2),
            "wall_seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mib": {
                "before_import": round(rss_before),
                "main": round(peak_rss_mib(resource.RUSAGE_SELF)),
                "largest_worker": round(peak_rss_mib(resource.RUSAGE_CHILDREN)),
            },
            "imported": after_first,
            "expected": {"imported": len(manifest.imported()), "failed": len(manifest.failed()), "published": len(manifest.published_urls())},
            "figures": manifest.figures(),
            "checks": [check.as_dict() for check in checks],
            "ok": all(check.ok for check in checks),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "database": database_version(connection),
        }


def print_table(result):
    first, again, rss = result["first_import"], result["reimport"], result["peak_rss_mib"]
    imported, expected = result["imported"], result["expected"]
    print(
        f"import_hugo: {result['posts']} posts + {result['hostile_files']} hostile files, "
        f"{result['site_megabytes']} MB of Markdown; imported {imported['posts']} posts "
        f"(manifest: {expected['imported']}), {imported['tags']} tags, {imported['affiliate_boxes']} boxes, "
        f"{imported['redirects']} redirects"
    )
    print(f"  {'':<22}{'seconds':>9}{'files/s':>10}   peak RSS, MiB: main / largest worker so far")
    for label, step in (("first import", first), ("re-import, no change", again)):
        peak = step["peak_rss_mib"]
        print(f"  {label:<22}{step['seconds']:>9.2f}{step['files_per_second']:>10.1f}   {peak['main']:>5} / {peak['largest_worker']}")
    worker = result["worker_after_first_import"]
    print(f"  {'task worker after it':<22}{worker['seconds']:>9.2f}   {worker['tasks']} tasks (related lists, cover copies)")
    print(f"  {'generate site':<22}{result['generate_seconds']:>9.2f}")
    print(f"  {'set up and migrate':<22}{result['migrate_seconds']:>9.2f}")
    print(f"  {'wall time':<22}{result['wall_seconds']:>9.2f}")
    workers = f"{rss['largest_worker']} MiB largest render worker" if rss["largest_worker"] else "no render workers"
    print(f"  peak RSS: {rss['main']} MiB main ({rss['before_import']} MiB before importing), {workers}")
    print(f"  {result['cpus']} CPUs · Python {result['python']} · Django {result['django']} · {result['database']}")
    figures = result["figures"]
    print(
        "  figures: longest file name {file_name}, title {title}, slug {slug}, tag {tag}, keyword {keyword}, "
        "cover ref {cover_ref}; body bytes max {body_bytes} (median {body_bytes_median}); "
        "covers {covers} ({covers_share:.1%}, {sizes}), {long_cover_paths} stored under more than 100 "
        "characters (max {cover_storage_path}), remote {remote_covers} ({remote_share:.1%}); "
        "shared slugs {shared_slug_groups} groups of {shared_slug_files} files; "
        "{drafts} drafts, {weekly_digests} digests".format(
            sizes=", ".join(f"{size} ×{count}" for size, count in figures["cover_sizes"].items()), **figures
        )
    )
    failed = [check for check in result["checks"] if not check["ok"]]
    print(f"  checks: {len(result['checks']) - len(failed)} of {len(result['checks'])} passed")
    for check in result["checks"]:
        mark = "ok  " if check["ok"] else "FAIL"
        counted = f"{check['failed']} of {check['checked']} wrong" if not check["ok"] else f"{check['checked']} checked"
        print(f"    {mark} {check['name']} ({counted})" + (f"; {check['note']}" if check.get("note") else ""))
        for example in check["examples"]:
            print(f"           {example}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--posts", type=int, default=2000, help="Valid posts in the generated site (default 2000).")
    parser.add_argument(
        "--database-url",
        help="An existing, empty database to use instead of a temporary SQLite file; flushed afterwards.",
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"The site generator's seed (default {SEED}).")
    parser.add_argument("--no-hostile", action="store_true", help="Leave the hostile files out of the site.")
    parser.add_argument(
        "--skip", action="append", default=[], choices=list(HOSTILE), metavar="KIND",
        help="Leave out one hostile kind (repeatable): " + ", ".join(HOSTILE) + ".",
    )  # fmt: skip
    parser.add_argument(
        "--no-page-check",
        action="store_true",
        help="Skip asking for every URL (the slowest check: a post's first view makes its cover renditions).",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the site, media and SQLite file; print where.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="Profile the first import's main process with cProfile, on stderr (it runs about twice as slow).",
    )
    options = parser.parse_args(argv)
    if options.posts < 2:
        parser.error("--posts: give at least 2, so that posts have others to link to")

    workdir = Path(tempfile.mkdtemp(prefix="kiji-bench-"))
    try:
        result = run(options, workdir)
        if options.json:
            print(json.dumps(result, indent=2, ensure_ascii=False))
        else:
            print_table(result)
    finally:
        sys.stdout.flush()
        if options.keep:
            print(f"Kept the site, media and any SQLite file in {workdir}", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if not result["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
