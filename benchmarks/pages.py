"""How long Kiji takes to answer each kind of public page, with and without the page cache.

Loads the demo site (and, with --hugo-site, a Hugo site such as the samples) into a
throwaway SQLite database, then asks for each page through Django's test client: first
with the page cache off (what every request costs when the cache is cold or disabled),
then on (what a reader gets once the page is cached). Prints the median of --repeat
requests per page, in milliseconds, measured inside one process: add your web server's
own overhead on top. Compare figures across commits on one machine only.

    .venv/bin/python benchmarks/pages.py --hugo-site ../shared/samples/hugo-site
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hugo-site", help="also import this Hugo site")
    parser.add_argument("--repeat", type=int, default=30, help="requests per page (default 30)")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="kiji-bench-pages-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="cms.settings",
        SECRET_KEY="benchmark-only",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{workdir}/db.sqlite3",
        MEDIA_ROOT=f"{workdir}/media",
        STATIC_ROOT=f"{workdir}/static",
        CACHE_URL="locmem://",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from posts.models import Post, Tag

    for command, *rest in (["migrate"], ["collectstatic", "--noinput"], ["load_demo", "--no-admin"]):
        call_command(command, *rest, verbosity=0)
    if args.hugo_site:
        call_command("import_hugo", args.hugo_site, verbosity=0)
    call_command("make_renditions", verbosity=0)

    post = Post.objects.published().first()
    tag = Tag.objects.with_post_counts().order_by("-post_count").first()
    pages = [
        "/", "/posts/", post.get_absolute_url(), "/categories/", tag.get_absolute_url(), "/tags/",
        "/archives/", "/search/?q=LLM", "/index.xml", "/sitemap.xml",
    ]  # fmt: skip

    client = Client()
    print(f"{Post.objects.count()} posts, median of {args.repeat} requests, milliseconds")
    print(f"{'page':<56} {'no cache':>9} {'cached':>8}")
    for page in pages:
        timings = []
        for seconds in (0, 300):
            settings.KIJI_PAGE_CACHE_SECONDS = seconds
            client.get(page)  # warm: templates, settings cache, the page cache when on
            samples = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                response = client.get(page)
                samples.append(time.perf_counter() - start)
                assert response.status_code == 200, (page, response.status_code)
            timings.append(statistics.median(samples) * 1000)
        print(f"{page:<56} {timings[0]:>9.1f} {timings[1]:>8.2f}")


if __name__ == "__main__":
    main()
