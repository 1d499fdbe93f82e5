"""More than one machine (README, "More than one machine"; benchmarks/cluster.py): two
gunicorn nodes share the database, a Redis and media on S3-compatible object storage
(moto's server, started here), with the task worker beside them. A change on node A is
on every worker of node B within a second, an image uploaded on A is served by the link
on B's page, and a node that dies loses no request that a load balancer retries on the
other. Also MEDIA_STORAGE's settings, which need no server."""

import re
import runpy
import shutil
import subprocess
from html import unescape

import pytest
from django.core.exceptions import ImproperlyConfigured

from benchmarks.cluster import (
    WITHIN,
    Cluster,
    cover_copies,
    kill_during_requests,
    publish,
    sample_image,
    upload_served_by_other_node,
)
from tests.servers import PYTHON, ROOT, Browser, manage

SETTINGS = ROOT / "cms" / "settings.py"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("moto", reason="moto is not installed: `pip install -e '.[test]'` brings it (CI has it)")
    pytest.importorskip("storages", reason="django-storages is not installed: `pip install -e .`")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with Cluster(tmp_path_factory.mktemp("cluster"), log=lambda message: None) as running:
        yield running


@pytest.fixture
def published(cluster):
    if not getattr(cluster, "published", None):
        cluster.published = publish(cluster)
    return cluster.published


def test_a_post_published_on_node_a_is_on_every_worker_of_node_b_within_a_second(published):
    assert published["delay_ms"] < WITHIN * 1000, published


def test_an_image_uploaded_on_node_a_is_served_by_the_link_on_node_b(cluster, published):
    original = sample_image()

    served = upload_served_by_other_node(cluster, original)

    assert served["url"].startswith(cluster.media_url + "uploads/")
    assert (served["status"], served["type"]) == (200, "image/png")
    assert served["same_pixels"], "the stored image is not the uploaded picture"
    assert served["edit"]["delay_ms"] < WITHIN * 1000, served["edit"]
    library = Browser(cluster.a.base)
    library.log_in(cluster.username, cluster.password)
    assert served["url"] in library.get("/admin/posts/mediaimage/").text


def test_the_cover_copies_the_task_worker_makes_are_linked_on_node_b_and_served(cluster, published):
    copies = cover_copies(cluster)["copies"]

    assert len(copies) == 3, copies
    for copy in copies:
        assert copy["url"].startswith(cluster.media_url + "renditions/")
        assert (copy["status"], copy["type"]) == (200, "image/webp"), copy


def test_an_import_and_an_export_keep_covers_in_the_object_store(cluster, tmp_path):
    site = tmp_path / "site"
    (site / "static" / "images").mkdir(parents=True)
    (site / "content" / "posts").mkdir(parents=True)
    (site / "static" / "images" / "shared.jpg").write_bytes(sample_image("JPEG", (800, 450)))
    for name in ("first", "second"):  # the second finds the first's cover in the bucket (storage.exists)
        (site / "content" / "posts" / f"{name}.md").write_text(
            f'---\ntitle: "{name}"\ndate: 2025-01-01T09:00:00+09:00\ncover:\n  image: "/images/shared.jpg"\n---\n本文。\n'
        )
    imported = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), "import_hugo", str(site), "--verbosity", "0"],
        env=cluster.env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    # The task worker writes meanwhile: on SQLite the last step's statistics may wait
    # for another time, but the import succeeds.
    assert imported.returncode == 0, imported.stdout + imported.stderr

    html = Browser(cluster.b.base).get("/posts/first/").text
    cover = unescape(re.search(r'<meta property="og:image" content="([^"]+)"', html).group(1))
    assert cover.startswith(cluster.media_url + "uploads/") and Browser("").get(cover).status == 200
    manage(cluster.env, "export_hugo", str(tmp_path / "export"))
    exported = tmp_path / "export" / "static" / "images" / cover.removeprefix(cluster.media_url)
    assert exported.read_bytes() == Browser("").get(cover).body


def test_a_request_to_a_killed_node_is_retried_on_the_other_and_none_fails(cluster, published):
    killed = kill_during_requests(cluster)

    assert killed["failed"] == 0, killed["failures"]
    assert killed["retried"] > 0 and killed["by"].get("200 from B", 0) > 0, killed
    assert killed["by"].get("200 from A", 0) > 0, killed  # A served until it was killed


# The settings: the filesystem by default, S3 by MEDIA_STORAGE=s3.


def settings_with(monkeypatch, **env):
    for name in (
        "MEDIA_STORAGE",
        "MEDIA_S3_BUCKET",
        "MEDIA_S3_ENDPOINT_URL",
        "MEDIA_S3_REGION",
        "MEDIA_S3_CUSTOM_DOMAIN",
        "MEDIA_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "kiji-settings-test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_media_stay_on_the_filesystem_unless_told(monkeypatch):
    settings = settings_with(monkeypatch)

    assert settings["STORAGES"]["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert settings["MEDIA_URL"] == "/media/"


def test_media_on_an_s3_compatible_server_are_public_plain_urls_that_are_never_overwritten(monkeypatch):
    settings = settings_with(
        monkeypatch,
        MEDIA_STORAGE="s3",
        MEDIA_S3_BUCKET="kiji",
        MEDIA_S3_ENDPOINT_URL="http://127.0.0.1:9000/",
        MEDIA_S3_REGION="auto",
    )

    storage = settings["STORAGES"]["default"]
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "kiji",
        "http://127.0.0.1:9000",
        "auto",
    )
    assert options["querystring_auth"] is False and options["file_overwrite"] is False
    assert settings["MEDIA_URL"] == "http://127.0.0.1:9000/kiji/"
    assert "http://127.0.0.1:9000" in settings["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["img-src"]


def test_media_behind_a_cdn_are_linked_on_its_domain(monkeypatch):
    pytest.importorskip("storages", reason="django-storages is not installed: `pip install -e .`")
    from storages.backends.s3 import S3Storage

    settings = settings_with(
        monkeypatch, MEDIA_STORAGE="s3", MEDIA_S3_BUCKET="kiji", MEDIA_S3_CUSTOM_DOMAIN="media.example.com"
    )

    assert settings["MEDIA_URL"] == "https://media.example.com/"
    assert "https://media.example.com" in settings["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["img-src"]
    storage = S3Storage(**settings["STORAGES"]["default"]["OPTIONS"])
    assert storage.url("uploads/2026/01/a b.png") == "https://media.example.com/uploads/2026/01/a%20b.png"


def test_media_on_aws_are_linked_on_the_bucket_domain(monkeypatch):
    settings = settings_with(monkeypatch, MEDIA_STORAGE="s3", MEDIA_S3_BUCKET="kiji-media")

    assert settings["MEDIA_URL"] == "https://kiji-media.s3.amazonaws.com/"
    assert settings["STORAGES"]["default"]["OPTIONS"]["endpoint_url"] is None


@pytest.mark.parametrize(
    ("env", "message"),
    [({"MEDIA_STORAGE": "s3"}, "MEDIA_S3_BUCKET"), ({"MEDIA_STORAGE": "gcs"}, r"filesystem \(the default\) or s3")],
)
def test_a_media_storage_setting_that_cannot_work_stops_the_start_saying_why(monkeypatch, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        settings_with(monkeypatch, **env)
