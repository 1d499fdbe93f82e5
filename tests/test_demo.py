import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from posts.models import AffiliateBox, Category, Post, SiteSettings, Tag

pytestmark = pytest.mark.django_db


def load_demo(*args):
    """Run load_demo; return what it printed."""
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def printed_password(output):
    return re.search(r"^  password:\s+(\S+)$", output, re.MULTILINE).group(1)


def counts():
    return [model.objects.count() for model in (Post, Category, Tag, AffiliateBox)]


def test_home_lists_the_demo_posts(client):
    load_demo("--no-admin")
    html = client.get("/").content.decode()
    titles = [title for title in Post.objects.values_list("title", flat=True) if title in html]
    assert len(titles) >= 5
    assert "Kiji デモブログ" in html


def test_every_demo_article_has_a_table_code_and_a_tagged_affiliate_link(client):
    load_demo("--no-admin")
    for post in Post.objects.all():
        response = client.get(f"/posts/{post.slug}/")
        assert response.status_code == 200, post.slug
        html = response.content.decode()
        assert "<table>" in html, post.slug
        assert '<pre class="highlight"' in html, post.slug
        assert "tag=kiji-demo-22" in html, post.slug
        assert post.cover.width == 1200 and post.cover.height == 630, post.slug


def test_demo_posts_link_only_to_demo_posts_that_exist(client):
    load_demo("--no-admin")
    for post in Post.objects.all():
        for slug in re.findall(r'href="/posts/([^/"]+)/"', post.body_html):
            assert client.get(f"/posts/{slug}/").status_code == 200, (post.slug, slug)


def test_slug_falls_back_to_the_file_name():
    load_demo("--no-admin")
    assert Post.objects.filter(slug="local-llm-first-steps").exists()
    assert Post.objects.filter(slug="2026-02-27-ai-coding-assistant-comparison").exists()


def test_running_twice_creates_no_duplicates():
    first = load_demo("--no-admin")
    before = counts()
    second = load_demo("--no-admin")
    assert counts() == before
    assert f"{before[0]} created, 0 updated, 0 unchanged" in first
    assert f"0 created, 0 updated, {before[0]} unchanged" in second


def test_existing_site_settings_are_kept():
    site = SiteSettings.load()
    site.title = "わたしのブログ"
    site.save()
    load_demo("--no-admin")
    assert SiteSettings.load().title == "わたしのブログ"


def test_printed_password_logs_in_and_changes_on_every_run(client):
    first = printed_password(load_demo())
    second = printed_password(load_demo())
    assert first != second
    assert not client.login(username="admin", password=first)
    assert client.login(username="admin", password=second)
    assert client.get("/admin/").status_code == 200
    assert get_user_model().objects.filter(username="admin", is_superuser=True).count() == 1


def test_no_admin_leaves_users_alone():
    output = load_demo("--no-admin")
    assert "password" not in output
    assert not get_user_model().objects.exists()


def test_verbosity_0_prints_only_the_new_password():
    assert load_demo("--no-admin", "--verbosity", "0") == ""
    assert "Demo posts" not in load_demo("--verbosity", "0")
    assert "password:" in load_demo("--verbosity", "0")
