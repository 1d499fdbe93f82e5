"""The Content-Security-Policy: the header on every page (admin and cache hits too),
AdSense's hosts only where ads are on, nothing inline for it to block, the settings
that switch it to report-only, and the endpoint that logs reports."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from posts import csp
from posts.models import Category, MediaImage, Post, SiteSettings, Tag
from tests.conftest import image_bytes, make_post, opened_form, start_tags

pytestmark = pytest.mark.django_db

REPOSITORY = Path(__file__).resolve().parent.parent
HEADER = "Content-Security-Policy"
STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
ADSENSE_CLIENT = "ca-pub-1234567890123456"
GOOGLE = re.compile(r"google|doubleclick")


def directives(header):
    """{directive: its sources} from a policy header (django-csp does not keep their order)."""
    parts = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: rest for name, rest in parts}


def policy(response):
    return directives(response[HEADER])


@pytest.fixture
def ads_on():
    site = SiteSettings.load()
    site.adsense_client, site.ad_slot_top, site.ad_slot_bottom = ADSENSE_CLIENT, "1111111111", "2222222222"
    site.save()


def with_adsense(directive):
    return " ".join([*STRICT.get(directive, "").split(), *csp.ADSENSE[directive]])


def test_a_public_page_gets_the_strict_policy(client):
    post = make_post()
    for url in ["/", post.get_absolute_url(), "/tags/", "/no-such-page/"]:
        assert policy(client.get(url)) == STRICT, url


def test_an_admin_page_gets_the_same_policy(admin_client):
    post = make_post()
    for url in ["/admin/", f"/admin/posts/post/{post.pk}/change/", "/admin/login/"]:
        assert policy(admin_client.get(url)) == STRICT, url


def test_with_adsense_readers_pages_add_exactly_its_hosts(client, ads_on):
    post = make_post()
    expected = {**STRICT, **{directive: with_adsense(directive) for directive in csp.ADSENSE}}

    for url in ["/", post.get_absolute_url(), "/no-such-page/"]:
        assert policy(client.get(url)) == expected, url
    assert policy(client.get(post.get_absolute_url()))["frame-src"] == " ".join(csp.ADSENSE["frame-src"])


def test_without_adsense_no_google_host_is_allowed(client):
    post = make_post()
    SiteSettings.objects.update_or_create(pk=1, defaults={"ad_slot_top": "1111111111"})
    assert not GOOGLE.search(client.get(post.get_absolute_url())[HEADER])


def test_with_adsense_the_admin_stays_strict_but_its_preview_may_load_the_ads(admin_client, ads_on):
    post = make_post(status=Post.Status.DRAFT)

    assert policy(admin_client.get(f"/admin/posts/post/{post.pk}/change/")) == STRICT
    assert policy(admin_client.get("/admin/")) == STRICT
    preview = admin_client.get(f"/admin/posts/post/{post.pk}/preview/")
    assert "adsbygoogle.js" in preview.content.decode()
    assert policy(preview)["script-src"] == with_adsense("script-src")


def test_a_page_cache_hit_carries_the_policy(client, settings):
    settings.KIJI_PAGE_CACHE_SECONDS = 300
    post = make_post()

    first, second = client.get(post.get_absolute_url()), client.get(post.get_absolute_url())

    assert (first["X-Kiji-Cache"], second["X-Kiji-Cache"]) == ("MISS", "HIT")
    assert policy(first) == policy(second) == STRICT


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_page_cache_hit_follows_the_adsense_setting(client, settings, encoding):
    settings.KIJI_PAGE_CACHE_SECONDS = 300
    post = make_post()
    site = SiteSettings.load()
    for client_id, expected in [("", STRICT["script-src"]), (ADSENSE_CLIENT, with_adsense("script-src"))]:
        site.adsense_client = client_id
        site.save()
        client.get(post.get_absolute_url(), headers={"accept-encoding": encoding})

        hit = client.get(post.get_absolute_url(), headers={"accept-encoding": encoding})

        assert hit["X-Kiji-Cache"] == "HIT"
        assert ("Content-Encoding" in hit) == (encoding == "gzip")
        assert policy(hit)["script-src"] == expected


def test_a_304_leaves_the_page_the_browser_kept_its_policy(client, settings):
    settings.KIJI_PAGE_CACHE_SECONDS = 300
    post = make_post()
    page = client.get(post.get_absolute_url())

    again = client.get(post.get_absolute_url(), headers={"if-none-match": page["ETag"]})

    assert again.status_code == 304
    assert HEADER not in again


# Nothing the policy would block: scripts that run come from files, data blocks are
# JSON, no element carries a handler or a javascript: URL, no <style> element.
DATA_TYPES = {"application/ld+json", "application/json"}


def blocked_by_policy(html):
    """What in `html` the policy would refuse: inline scripts, handlers, javascript: URLs, <style>."""
    found = []
    for tag, attrs in start_tags(html):
        if tag == "script" and "src" not in attrs and attrs.get("type") not in DATA_TYPES:
            found.append(f"<script {attrs}>")
        if tag == "style":
            found.append("<style>")
        found += [f"<{tag} {name}>" for name in attrs if name.startswith("on")]
        found += [
            f"<{tag} {name}={value}>" for name, value in attrs.items() if value.strip().lower().startswith("javascript:")
        ]
    return found


def test_no_template_has_an_inline_script_or_a_handler():
    for path in sorted((REPOSITORY / "templates").rglob("*.html")):
        text = path.read_text()
        for match in re.finditer(r"<script\b([^>]*)>", text, re.I):
            assert "src=" in match.group(1) or "application/ld+json" in match.group(1), (path, match.group(0))
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), path
        assert "javascript:" not in text.lower(), path
        assert "<style" not in text.lower(), path


def test_no_script_of_ours_evaluates_strings_or_sets_handlers_by_attribute():
    for path in sorted((REPOSITORY / "static").rglob("*.js")):
        text = path.read_text()
        assert not re.search(r"\beval\(|new Function\(|setAttribute\(\s*[\"']on", text), path


def test_public_pages_render_nothing_the_policy_blocks(client, ads_on):
    post = make_post(
        categories=["ローカルLLM"],
        tags=["GPU"],
        body="## 3行要約\n\n- 要点。\n\n## 本文\n\n```python\nprint('hi')\n```\n\n"
        '<div style="border:1px solid #e0e0e0"><strong style="font-size:16px">製品</strong></div>\n',
    )
    post.affiliate_boxes.create(keyword="GPU", placement="end")
    urls = ["/", "/posts/", post.get_absolute_url(), "/categories/", "/categories/ローカルllm/", "/tags/gpu/"]
    for url in [*urls, "/archives/", "/search/?q=GPU", "/no-such-page/"]:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert blocked_by_policy(response.content.decode()) == [], url


@pytest.fixture
def post_with_history(admin_client):
    """A post saved twice through the admin, so that it has versions to compare."""
    post = make_post(title="版のある記事", categories=["AIニュース"], tags=["LLM", "大規模言語モデル"])
    url = f"/admin/posts/post/{post.pk}/change/"
    for title in ["一つ目の題名", "二つ目の題名"]:
        assert admin_client.post(url, opened_form(admin_client, url, title=title)).status_code == 302
    return post


def test_the_admin_pages_render_nothing_the_policy_blocks(admin_client, post_with_history, media_root):
    from reversion.models import Version

    post = post_with_history
    version = Version.objects.get_for_object(post).order_by("pk").last()
    admin_client.post(
        "/admin/posts/mediaimage/add/", {"file": SimpleUploadedFile("図.png", image_bytes()), "_save": "保存"}
    )
    image = MediaImage.objects.get()
    tags = list(Tag.objects.values_list("pk", flat=True))
    pages = {
        "post list": admin_client.get("/admin/posts/post/"),
        "post add form": admin_client.get("/admin/posts/post/add/"),
        "post change form": admin_client.get(f"/admin/posts/post/{post.pk}/change/"),
        "preview": admin_client.get(f"/admin/posts/post/{post.pk}/preview/"),
        "history": admin_client.get(f"/admin/posts/post/{post.pk}/history/"),
        "compare": admin_client.get(f"/admin/posts/post/{post.pk}/history/{version.pk}/compare/"),
        "categories": admin_client.get("/admin/posts/category/"),
        "category form": admin_client.get(f"/admin/posts/category/{Category.objects.get().pk}/change/"),
        "tags": admin_client.get("/admin/posts/tag/"),
        "tag duplicates": admin_client.get("/admin/posts/tag/duplicates/"),
        "tag merge": admin_client.post(
            "/admin/posts/tag/",
            {"action": "merge_selected", "select_across": "0", "index": "0", "_selected_action": tags},
        ),
        "media library": admin_client.get("/admin/posts/mediaimage/"),
        "media add form": admin_client.get("/admin/posts/mediaimage/add/"),
        "media image": admin_client.get(f"/admin/posts/mediaimage/{image.pk}/change/"),
        "site settings": admin_client.get("/admin/posts/sitesettings/", follow=True),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert policy(response) == STRICT, name
        assert blocked_by_policy(response.content.decode()) == [], name
    assert 'class="markdownx"' in pages["post change form"].content.decode()
    assert 'name="survivor"' in pages["tag merge"].content.decode()


# The environment's switches, read by cms/settings.py in a process of its own.


def header_in_a_process(tmp_path, **env_overrides):
    """The headers of a response to a report, from a server process with `env_overrides`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CSP_", "MEDIA_URL", "DEBUG"))}
    env.update(
        DJANGO_SETTINGS_MODULE="cms.settings",
        SECRET_KEY="kiji-csp-test-only-" + "x" * 40,
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        CACHE_URL="locmem://",
        **env_overrides,
    )
    program = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().post('/csp-report/', '{}', content_type='application/csp-report', secure=True); "
        "print(json.dumps(dict(r.headers)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_enforces_the_policy_by_default(tmp_path):
    headers = header_in_a_process(tmp_path)

    assert directives(headers[HEADER]) == STRICT
    assert f"{HEADER}-Report-Only" not in headers


def test_report_only_report_uri_and_image_hosts_come_from_the_environment(tmp_path):
    headers = header_in_a_process(
        tmp_path,
        CSP_REPORT_ONLY="1",
        CSP_REPORT_URI="/csp-report/",
        MEDIA_URL="https://cdn.example.com/media/",
        CSP_IMAGE_HOSTS="https://m.media-amazon.com, https://thumbnail.image.rakuten.co.jp",
    )

    assert HEADER not in headers
    assert directives(headers[f"{HEADER}-Report-Only"]) == {
        **STRICT,
        "img-src": (
            "'self' data: https://cdn.example.com https://m.media-amazon.com https://thumbnail.image.rakuten.co.jp"
        ),
        "report-uri": "/csp-report/",
    }


# The report endpoint.

REPORT = {
    "csp-report": {
        "document-uri": "https://blog.example.com/posts/local-llm/",
        "referrer": "",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "original-policy": "default-src 'self'",
        "disposition": "enforce",
        "blocked-uri": "https://evil.example/x.js",
        "source-file": "https://blog.example.com/posts/local-llm/",
        "line-number": 12,
        "status-code": 200,
    }
}


@pytest.fixture
def fresh_budget(monkeypatch):
    monkeypatch.setattr(csp, "_window", {"start": 0.0, "count": 0})


def send(client, body):
    """POST `body` (JSON if not already text) to the endpoint, as a browser sends reports."""
    text = body if isinstance(body, str) else json.dumps(body)
    return client.post("/csp-report/", text, content_type="application/csp-report")


def test_a_report_is_logged_in_one_line(client, caplog, fresh_budget):
    response = send(client, REPORT)

    assert response.status_code == 204
    assert "no-store" in response["Cache-Control"]
    [record] = [r for r in caplog.records if r.name == "posts.csp"]
    assert record.getMessage() == (
        "CSP enforce: script-src-elem refused https://evil.example/x.js on "
        "https://blog.example.com/posts/local-llm/ (https://blog.example.com/posts/local-llm/:12)"
    )


def test_a_report_cannot_forge_log_lines(client, caplog, fresh_budget):
    forged = {"csp-report": {**REPORT["csp-report"], "blocked-uri": "x\nCRITICAL fake line"}}

    send(client, forged)

    [record] = [r for r in caplog.records if r.name == "posts.csp"]
    assert "\n" not in record.getMessage() and "x\\nCRITICAL fake line" in record.getMessage()


def test_what_is_not_a_report_is_answered_and_not_logged(client, caplog, fresh_budget):
    for body in ["not json", "[]", '{"csp-report": "x"}', json.dumps({"csp-report": {"a": "b" * 10_000}})]:
        assert send(client, body).status_code == 204
    assert client.get("/csp-report/").status_code == 405
    assert [r for r in caplog.records if r.name == "posts.csp"] == []


def test_reports_past_the_budget_are_not_logged(client, caplog, fresh_budget):
    for _ in range(csp.REPORTS_PER_MINUTE + 5):
        assert send(client, REPORT).status_code == 204

    messages = [r.getMessage() for r in caplog.records if r.name == "posts.csp"]
    assert len(messages) == csp.REPORTS_PER_MINUTE + 1
    assert messages[-1] == f"CSP: more than {csp.REPORTS_PER_MINUTE} reports this minute; the rest are not logged"
