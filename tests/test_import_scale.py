"""The whole realistic site, at the real size: 2,000 generated posts shaped like the
blog Kiji takes over (benchmarks/sitegen.py), hostile files mixed in, imported in one
run. Slow (a minute or two), so it runs where KIJI_SCALE_TEST=1: CI sets it for the
PostgreSQL pass, the database that enforces every length."""

import os
import re
from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from django.utils.html import escape
from PIL import Image

from benchmarks.sitegen import generate_site
from posts.models import Category, MediaImage, Post, Redirect, Tag
from tests.conftest import run_failing_command

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("media_root"),
    pytest.mark.skipif(not os.environ.get("KIJI_SCALE_TEST"), reason="KIJI_SCALE_TEST is not set (CI sets it)"),
]

POSTS = 2000


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale") / "site"
    return root, generate_site(root, POSTS)


@pytest.fixture
def imported(site, settings):
    # Tasks queue up without running (a worker would make the cover copies later), so
    # that reading 2,000 pages resizes nothing.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    root, manifest = site
    output, error = run_failing_command("import_hugo", root, "--verbosity", "0")
    return manifest, output, error


def lines_about(output, key):
    return [line for line in output.splitlines() if line.startswith(f"{key}: ")]


def test_the_realistic_site_imports_every_valid_file_reports_every_bad_one_and_stores_nothing_unsafe(client, imported):
    """One test, as importing 2,000 posts costs a minute: each part below in turn."""
    manifest, output, error = imported
    every_valid_file_is_a_post_at_its_url_and_every_hostile_one_has_its_line(client, manifest, output, error)
    nothing_unsafe_was_stored()
    shared_slugs_go_to_the_newest_file_and_covers_are_where_the_manifest_says(manifest)


def every_valid_file_is_a_post_at_its_url_and_every_hostile_one_has_its_line(client, manifest, output, error):
    assert "Traceback" not in output
    assert f"{len(manifest.failed())} file(s) could not be imported" in error
    for spec in manifest.failed():
        [line] = lines_about(output, spec.key)
        assert line.endswith(": not imported"), line
    for spec in manifest.imported():
        assert not [line for line in lines_about(output, spec.key) if line.endswith("not imported")], spec.key
    assert Post.objects.count() == len(manifest.imported())
    assert Post.objects.filter(source_path__in=[spec.key for spec in manifest.failed()]).count() == 0
    for spec in manifest.imported():
        response = client.get(spec.url)
        if spec.draft:
            assert response.status_code == 404, spec.url
        else:
            assert response.status_code == 200, spec.url
            assert f'<h1 class="post__title">{escape(spec.title)}</h1>' in response.content.decode(), spec.url


def nothing_unsafe_was_stored():
    for post in Post.objects.all().iterator():
        # The old boxes are Kiji's markers now; no other shortcode is left.
        assert not re.search(r"\{\{<(?!\s*(?:product|affiliate)\s)", post.body), post.source_path
        assert "<script" not in post.body_html, post.source_path
        assert "ld+json" not in post.body, post.source_path
    for image in MediaImage.objects.all():
        assert not image.file.name.endswith((".html", ".htm", ".svg")), image.file.name
        with default_storage.open(image.file.name) as handle:
            data = handle.read()
        assert b"<script" not in data.lower() and b"PK\x03\x04" not in data, image.file.name
        with Image.open(BytesIO(data)) as stored:
            assert not stored.getexif(), image.file.name
            assert stored.mode in ("RGB", "RGBA", "L", "LA", "P"), image.file.name
    assert not Tag.objects.filter(name__in=["None", "null"]).exists()
    assert not Tag.objects.filter(name__startswith="{").exists()
    assert not Redirect.objects.filter(old_path__contains="other.example.com").exists()


def shared_slugs_go_to_the_newest_file_and_covers_are_where_the_manifest_says(manifest):
    shared = [spec for spec in manifest.imported() if spec.shared_slug]
    assert len(shared) >= 60
    for spec in shared:
        assert Post.objects.get(source_path=spec.key).get_absolute_url() == spec.url, spec.key
    for spec in manifest.imported():
        post = Post.objects.get(source_path=spec.key)
        if spec.cover == "local":
            assert post.cover and (post.cover_width, post.cover_height) == (1024, 576), spec.key
        else:
            assert not post.cover, spec.key
    assert Category.objects.filter(name="GUIDE").exists() and Category.objects.filter(name="AI Guide").exists()
