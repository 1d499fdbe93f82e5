"""Imported covers go through the editor's upload pipeline: each comes out exactly as an
editor upload of the same file would (or is refused with the same message), is listed
in the media library under a name of Kiji's own, is reused when its source is seen
again, and a remote one is fetched only when asked, through the safe fetcher."""

import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from posts.models import MediaImage, Post
from tests.conftest import image_bytes, media_files, run_command
from tests.test_uploads import photo_with_gps, picture, png_chunks, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

FRONT = '---\ntitle: "{title}"\ndate: 2025-01-01T09:00:00+09:00\ncover:\n  image: "{cover}"\n  alt: 表紙\n---\n本文です。\n'


def polyglot():
    """A PNG that is also an HTML page: browsers sniffing it as text/html would run it."""
    return image_bytes("PNG", (24, 16)) + b"<html><script>alert(document.cookie)</script></html>"


def scripted_gif():
    """A GIF with a script in its comment and a ZIP archive appended."""
    buffer = BytesIO()
    Image.new("P", (16, 8), 3).save(buffer, format="GIF", comment=b"<script>alert(1)</script>")
    archive = BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.html", "<script>alert(2)</script>")
    return buffer.getvalue() + archive.getvalue()


def truncated_jpeg():
    buffer = BytesIO()
    Image.linear_gradient("L").convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


def grey_16_bit():
    row = b"\0" + (40_000).to_bytes(2, "big") * 6
    return png_chunks(6, 3, 16, 0, [row] * 3)


# Name under static/images/, bytes: the hostile and awkward covers the issue names.
COVERS = {
    "polyglot.html": polyglot(),
    "scripted.gif": scripted_gif(),
    "truncated.jpg": truncated_jpeg(),
    "gps.jpg": photo_with_gps(),
    "cmyk.jpg": picture(mode="CMYK", color=(0, 255, 255, 0)),
    "grey16.png": grey_16_bit(),
}


@pytest.fixture
def covers_site(tmp_path):
    site = tmp_path / "site"
    (site / "content" / "posts").mkdir(parents=True)
    (site / "static" / "images").mkdir(parents=True)
    (site / "hugo.toml").write_text('baseURL = "https://blog.example.jp/"\ntitle = "表紙"\n', encoding="utf-8")
    for name, data in COVERS.items():
        (site / "static" / "images" / name).write_bytes(data)
        stem = name.replace(".", "-")
        text = FRONT.format(title=f"{name}の記事", cover=f"/images/{name}")
        (site / "content" / "posts" / f"{stem}.md").write_text(text, encoding="utf-8")
    return site


def stored(name):
    with default_storage.open(name) as handle:
        return handle.read()


@pytest.mark.parametrize("name", sorted(COVERS))
def test_an_imported_cover_comes_out_as_an_editor_upload_of_the_same_file(name, covers_site, admin_client):
    output = run_command("import_hugo", covers_site)
    post = Post.objects.get(title=f"{name}の記事")

    response = upload(admin_client, name, COVERS[name])

    assert response.status_code == (400 if name == "truncated.jpg" else 200)
    if response.status_code == 400:  # the editor refuses it: so does the import, saying the same
        assert not post.cover
        [line] = [line for line in output.splitlines() if line.startswith(f"content/posts/{post.slug}.md: ")]
        assert response.json()["error"] in line and line.endswith(": imported without a cover")
        return
    editor = MediaImage.objects.exclude(uploaded_by=None).get()
    assert stored(post.cover.name) == stored(editor.file.name)
    assert post.cover.name.rsplit(".", 1)[1] == editor.file.name.rsplit(".", 1)[1] != "html"
    assert (post.cover_width, post.cover_height) == (editor.width, editor.height)


def test_the_hostile_covers_are_stored_clean(covers_site):
    run_command("import_hugo", covers_site)

    def kept(name):
        return stored(Post.objects.get(title=f"{name}の記事").cover.name)

    assert kept("polyglot.html").startswith(b"\x89PNG") and b"<script" not in kept("polyglot.html")
    assert b"<script" not in kept("scripted.gif") and b"PK\x03\x04" not in kept("scripted.gif")
    assert b"Exif" not in kept("gps.jpg") and b"KijiCam" not in kept("gps.jpg")
    with Image.open(BytesIO(kept("cmyk.jpg"))) as image:
        assert image.mode == "RGB"
    with Image.open(BytesIO(kept("grey16.png"))) as image:
        assert (image.mode, image.getpixel((0, 0))) == ("L", 40_000 // 257)
    assert not Post.objects.get(title="truncated.jpgの記事").cover


def test_imported_covers_are_listed_in_the_media_library_under_names_of_kijis_own(covers_site):
    run_command("import_hugo", covers_site)

    images = MediaImage.objects.all()
    assert len(images) == len(COVERS) - 1  # the truncated one was refused
    for image in images:
        assert image.uploaded_by is None and image.source.startswith("/images/")
        assert image.original_name == image.source.rsplit("/", 1)[1]
        assert image.file.name.startswith("uploads/") and len(image.file.name) < 60
        assert Post.objects.get(cover=image.file.name)


def test_a_cover_shared_by_posts_is_stored_once_and_not_again_on_the_next_import(tmp_path, media_root):
    site = tmp_path / "site"
    (site / "content" / "posts").mkdir(parents=True)
    (site / "static" / "images").mkdir(parents=True)
    same = image_bytes("PNG", (30, 20))
    for number in (1, 2, 3):
        (site / "static" / "images" / f"copy-{number}.png").write_bytes(same)
        text = FRONT.format(title=f"記事{number}", cover=f"/images/copy-{number}.png")
        (site / "content" / "posts" / f"post-{number}.md").write_text(text, encoding="utf-8")
    run_command("import_hugo", site)
    [image] = MediaImage.objects.all()
    before = media_files(media_root)

    edited = site / "content" / "posts" / "post-2.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("本文です。", "書き直しました。"), encoding="utf-8")
    output = run_command("import_hugo", site)

    assert "updated 1, unchanged 2," in output
    assert list(MediaImage.objects.all()) == [image]
    assert media_files(media_root) == before
    assert set(Post.objects.values_list("cover", flat=True)) == {image.file.name}


# --- Remote covers -----------------------------------------------------------------------------


class _Images(BaseHTTPRequestHandler):
    served = []

    def do_GET(self):
        type(self).served.append(self.path)
        if self.path.startswith("/prompt/"):
            body = image_bytes("JPEG", (64, 36))
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def image_server(settings):
    """A local image service standing in for image.pollinations.ai."""
    settings.KIJI_FETCH_ALLOW_PRIVATE = True  # it is on 127.0.0.1
    _Images.served = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Images.served
    server.shutdown()
    server.server_close()


@pytest.fixture
def remote_site(tmp_path, image_server):
    base, _served = image_server
    site = tmp_path / "site"
    (site / "content" / "posts").mkdir(parents=True)
    (site / "hugo.toml").write_text('baseURL = "https://blog.example.jp/"\ntitle = "遠い表紙"\n', encoding="utf-8")
    covers = {"remote": f"{base}/prompt/%E9%9B%B2%E3%81%AE%E7%B5%B5?width=1024&height=576", "gone": f"{base}/missing.png"}
    for name, url in covers.items():
        text = FRONT.format(title=f"{name}の記事", cover=url)
        (site / "content" / "posts" / f"{name}.md").write_text(text, encoding="utf-8")
    return site, covers


def test_remote_covers_are_listed_and_not_fetched_by_default(remote_site, image_server):
    site, covers = remote_site

    output = run_command("import_hugo", site)

    assert image_server[1] == []
    assert "remote covers not fetched 2 (--fetch-remote-covers)" in output
    assert not Post.objects.exclude(cover="").exists()


def test_with_fetch_remote_covers_a_remote_cover_is_downloaded_through_the_pipeline(remote_site, image_server):
    site, covers = remote_site

    output = run_command("import_hugo", site, "--fetch-remote-covers")

    post = Post.objects.get(slug="remote")
    assert (post.cover_width, post.cover_height) == (64, 36)
    image = MediaImage.objects.get()
    assert (image.file.name, image.source) == (post.cover.name, covers["remote"])
    assert image.file.name.endswith(".jpg") and "%" not in image.file.name
    [line] = [line for line in output.splitlines() if line.startswith("content/posts/gone.md: ")]
    assert "the server answered 404" in line and line.endswith("imported without a cover")
    assert not Post.objects.get(slug="gone").cover


def test_a_fetched_cover_is_not_fetched_again_when_its_post_changes(remote_site, image_server):
    site, covers = remote_site
    run_command("import_hugo", site, "--fetch-remote-covers")
    fetched = list(image_server[1])
    path = site / "content" / "posts" / "remote.md"
    path.write_text(path.read_text(encoding="utf-8").replace("本文です。", "本文を直しました。"), encoding="utf-8")

    run_command("import_hugo", site, "--fetch-remote-covers")

    assert image_server[1] == fetched
    assert MediaImage.objects.count() == 1
