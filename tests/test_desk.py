"""Kiji's admin face: the site's name instead of Django's, the writer's desk at /admin/
(new post, drafts, review, scheduled, published, clicks, recent actions, every model),
what each role sees there (and never another's), that it only reads, what it costs, and
the admin's words in Japanese."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from posts.models import ClickCount, Post, SiteSettings, ViewCount
from tests.conftest import logged_in, make_post, member

pytestmark = pytest.mark.django_db

DJANGO_NAMES = ["Django 管理サイト", "Django サイト管理", "Django administration", "Django site admin", "サイト管理"]


@pytest.fixture
def site_title():
    site = SiteSettings.load()
    site.title = "AIニュースの森"
    site.save()
    return site.title


@pytest.fixture
def writer():
    return member("Writer", "writer", first_name="書子")


@pytest.fixture
def editor():
    return member("Editor", "editor", first_name="花子")


def desk(client):
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def section(html, key):
    """The desk's list `key` (drafts, review, scheduled, published, clicks)."""
    match = re.search(rf'<section[^>]*id="desk-{key}".*?</section>', html, re.DOTALL)
    assert match, f"no {key} list on the desk"
    return match.group(0)


def titles(html):
    return [unescape(title) for title in re.findall(r'class="kiji-desk__title" href="[^"]+">([^<]+)</a>', html)]


def links(html):
    pairs = re.findall(r'class="kiji-desk__title" href="([^"]+)">([^<]+)</a>', html)
    return {unescape(title): href for href, title in pairs}


def text(html):
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def hours(number):
    return timezone.now() + timedelta(hours=number)


# The admin's name


def test_every_admin_page_bears_the_sites_name_and_kijis_never_djangos(client, editor, site_title):
    make_post(title="公開済み")
    pages = {
        "/admin/login/": client,
        "/admin/": logged_in(editor),
        "/admin/posts/post/": logged_in(editor),
        "/admin/posts/post/add/": logged_in(editor),
    }
    for url, visitor in pages.items():
        html = visitor.get(url).content.decode()
        header = re.search(r'<div id="site-name"><a href="/admin/">([^<]+)</a>', html)
        assert header and unescape(header.group(1)) == "AIニュースの森 · Kiji", url
        assert re.search(r"<title>[^<]*\| AIニュースの森 · Kiji</title>", html), url
        assert not [name for name in DJANGO_NAMES if name in html], url


def test_the_desk_is_titled_dashboard_and_a_site_without_a_title_is_kiji(client, editor):
    site = SiteSettings.load()
    site.title = ""
    site.save()
    html = desk(logged_in(editor))
    assert "<title>ダッシュボード | Kiji</title>" in html
    assert "<h1>ダッシュボード</h1>" in html


def test_the_two_factor_link_stays_in_the_user_links(editor):
    assert '<a href="/admin/two-factor/">2段階認証</a>' in desk(logged_in(editor))


# What the desk lists


def test_a_new_post_button_leads_to_the_add_form(writer, staff_client):
    html = desk(logged_in(writer))
    assert re.search(r'<a class="kiji-desk__new" href="/admin/posts/post/add/">新規投稿</a>', html)
    assert logged_in(writer).get("/admin/posts/post/add/").status_code == 200
    # Staff without the right to add posts get no button.
    assert "kiji-desk__new" not in desk(staff_client)


def test_a_writer_sees_their_own_drafts_newest_edit_first_with_links_to_them(writer):
    other = member("Writer", "other")
    older = make_post(title="古い下書き", status=Post.Status.DRAFT, author=writer)
    newer = make_post(title="新しい下書き", status=Post.Status.DRAFT, author=writer)
    make_post(title="他人の下書き", status=Post.Status.DRAFT, author=other)
    make_post(title="自分のレビュー中", status=Post.Status.REVIEW, author=writer)

    drafts = section(desk(logged_in(writer)), "drafts")

    assert "自分の下書き" in drafts
    assert titles(drafts) == ["新しい下書き", "古い下書き"]
    assert links(drafts) == {
        "新しい下書き": f"/admin/posts/post/{newer.pk}/change/",
        "古い下書き": f"/admin/posts/post/{older.pk}/change/",
    }
    older.title = "古い下書き（直した）"
    older.save()
    assert titles(section(desk(logged_in(writer)), "drafts")) == ["古い下書き（直した）", "新しい下書き"]


def test_an_editor_sees_every_post_in_review_longest_waiting_first_with_its_author(editor, writer):
    first = make_post(title="先に出した記事", status=Post.Status.REVIEW, author=writer)
    make_post(title="後から出した記事", status=Post.Status.REVIEW, author=member("Writer", "other"))
    make_post(title="下書きのまま", status=Post.Status.DRAFT, author=writer)

    review = section(desk(logged_in(editor)), "review")

    assert "レビュー中" in review
    assert titles(review) == ["先に出した記事", "後から出した記事"]
    assert links(review)["先に出した記事"] == f"/admin/posts/post/{first.pk}/change/"
    assert "書子" in text(review)


def test_a_writer_sees_only_their_own_posts_in_review_and_scheduled(writer):
    other = member("Writer", "other")
    make_post(title="自分のレビュー中", status=Post.Status.REVIEW, author=writer)
    make_post(title="他人のレビュー中", status=Post.Status.REVIEW, author=other)
    make_post(title="自分の予約", published_at=hours(5), author=writer)
    make_post(title="他人の予約", published_at=hours(6), author=other)

    html = desk(logged_in(writer))

    assert "レビュー中の自分の記事" in section(html, "review")
    assert titles(section(html, "review")) == ["自分のレビュー中"]
    assert titles(section(html, "scheduled")) == ["自分の予約"]
    assert "他人" not in html


def test_scheduled_posts_come_soonest_first_with_their_time_and_how_far_off_it_is(editor):
    later = make_post(title="明後日の記事", published_at=hours(49))
    # Exactly three hours ahead: by the time the desk is drawn it is a little less.
    soon = make_post(title="三時間後の記事", published_at=hours(3))
    make_post(title="公開済み", published_at=hours(-1))
    make_post(title="期限切れ", published_at=hours(-5), expires_at=hours(-1))

    scheduled = section(desk(logged_in(editor)), "scheduled")

    assert titles(scheduled) == ["三時間後の記事", "明後日の記事"]
    words = text(scheduled)
    local = timezone.localtime(soon.published_at)
    assert f"公開予定 {local:%Y/%m/%d} {local.hour}:{local:%M}" in words
    assert "3時間後" in words and "2日後" in words
    assert f'datetime="{timezone.localtime(later.published_at).isoformat()}"' in scheduled


def test_recently_published_lists_what_readers_see_newest_first_with_links_to_the_articles(writer):
    old = make_post(title="先月の記事", published_at=hours(-24 * 30), author=member("Editor", "editor"))
    new = make_post(title="昨日の記事", published_at=hours(-24), author=writer)
    make_post(title="予約の記事", published_at=hours(2))
    make_post(title="期限切れの記事", published_at=hours(-48), expires_at=hours(-1))
    make_post(title="公開停止の記事", status=Post.Status.UNPUBLISHED)

    published = section(desk(logged_in(writer)), "published")

    assert titles(published) == ["昨日の記事", "先月の記事"]
    assert "1日前" in text(published)
    # The writer's own post opens in the admin; someone else's, on the site.
    assert links(published) == {
        "昨日の記事": f"/admin/posts/post/{new.pk}/change/",
        "先月の記事": "/posts/" + old.slug + "/",
    }
    assert f'href="/posts/{new.slug}/">サイト上で表示</a>' in published


def test_a_list_longer_than_the_desk_shows_links_to_the_post_list_filtered_alike(writer):
    for number in range(7):
        make_post(title=f"下書き{number}", status=Post.Status.DRAFT, author=writer)
    make_post(title="他人の下書き", status=Post.Status.DRAFT, author=member("Writer", "other"))
    client = logged_in(writer)

    drafts = section(desk(client), "drafts")

    assert len(titles(drafts)) == 5
    assert '<span class="kiji-desk__total">7</span>' in drafts
    more = re.search(r'<p class="kiji-desk__more"><a href="([^"]+)">すべて表示（7件）</a>', drafts)
    assert more
    listed = client.get(unescape(more.group(1))).content.decode()
    assert listed.count("下書き") >= 7 and "他人の下書き" not in listed
    assert "kiji-desk__more" not in section(desk(client), "review")


def test_empty_lists_say_so(writer):
    html = desk(logged_in(writer))
    assert "下書きはありません。" in section(html, "drafts")
    assert "予約された記事はありません。" in section(html, "scheduled")
    assert "まだ公開された記事はありません。" in section(html, "published")


def test_no_role_sees_anothers_drafts_queue_or_schedule(writer, editor, staff_client):
    other = member("Writer", "other")
    for owner, name in [(writer, "書子"), (other, "次郎"), (editor, "花子")]:
        make_post(title=f"{name}の下書き", status=Post.Status.DRAFT, author=owner)
        make_post(title=f"{name}のレビュー", status=Post.Status.REVIEW, author=owner)
        make_post(title=f"{name}の予約", published_at=hours(4), author=owner)
    make_post(title="公開済みの記事", author=other)
    everyones = ["書子", "次郎", "花子"]
    seen = {
        "writer": (logged_in(writer), "書子", ["書子"]),
        "other": (logged_in(other), "次郎", ["次郎"]),
        "editor": (logged_in(editor), "花子", everyones),
    }
    for role, (client, own, queue) in seen.items():
        html = desk(client)
        assert titles(section(html, "drafts")) == [f"{own}の下書き"], role
        assert sorted(titles(section(html, "review"))) == sorted(f"{name}のレビュー" for name in queue), role
        assert sorted(titles(section(html, "scheduled"))) == sorted(f"{name}の予約" for name in queue), role
        assert titles(section(html, "published")) == ["公開済みの記事"], role
        for name in everyones:
            if name != own:
                assert f"{name}の下書き" not in html, role
            if name not in queue:
                assert f"{name}のレビュー" not in html and f"{name}の予約" not in html, role
    # Staff who may not see posts get no lists of them, published ones included.
    html = desk(staff_client)
    assert "kiji-desk__section" not in html and "の下書き" not in html and "公開済みの記事" not in html


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def test_the_desk_reads_and_never_writes_and_is_never_cached(writer, editor, admin_user):
    make_post(title="下書き", status=Post.Status.DRAFT, author=writer)
    make_post(title="レビュー", status=Post.Status.REVIEW, author=writer)
    make_post(title="予約", published_at=hours(2), author=writer)
    ClickCount.objects.create(day=timezone.localdate(), post=make_post(), box="end-0", store="amazon", count=2)
    for user in [writer, editor, admin_user]:
        client = logged_in(user)
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/admin/")
        assert response.status_code == 200
        writes = [query["sql"] for query in captured if query["sql"].lstrip().upper().startswith(WRITES)]
        assert writes == [], user.username
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_desk_renders_nothing_the_policy_blocks(editor, writer):
    from tests.test_csp import STRICT, blocked_by_policy, policy

    make_post(title="<script>alert(1)</script>", status=Post.Status.REVIEW, author=writer)
    ClickCount.objects.create(day=timezone.localdate(), post=make_post(), box="end-0", store="amazon", count=2)
    response = logged_in(editor).get("/admin/")
    html = response.content.decode()
    assert policy(response) == STRICT
    assert blocked_by_policy(html) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section(html, "review")


# Clicks


def test_an_editor_sees_the_click_summary_of_the_last_7_and_30_days(editor):
    today = timezone.localdate()
    posts = [make_post(title=f"記事{number}") for number in range(4)]
    for post, clicks in zip(posts, [5, 20, 1, 9]):
        ClickCount.objects.create(day=today, post=post, box="end-0", store="amazon", count=clicks)
        ViewCount.objects.create(day=today, post=post, count=100)
    # Older than a week, within the month.
    ClickCount.objects.create(day=today - timedelta(days=10), post=posts[2], box="end-0", store="rakuten", count=30)
    ViewCount.objects.create(day=today - timedelta(days=10), post=posts[2], count=600)
    # Older than the month: not counted.
    ClickCount.objects.create(day=today - timedelta(days=30), post=posts[0], box="end-0", store="amazon", count=999)

    clicks = section(desk(logged_in(editor)), "clicks")

    def figure(days, name):
        return re.search(rf'data-days="{days}" data-figure="{name}">([^<]+)<', clicks).group(1)

    assert (figure(7, "clicks"), figure(7, "views"), figure(7, "per-thousand")) == ("35", "400", "87.5")
    assert (figure(30, "clicks"), figure(30, "views"), figure(30, "per-thousand")) == ("65", "1,000", "65.0")
    top = re.findall(r'<li><a href="/admin/posts/post/(\d+)/change/">([^<]+)</a>', clicks)
    assert [title for _pk, title in top] == ["記事2", "記事1", "記事3"]
    assert "31 クリック" in text(clicks)
    assert 'href="/admin/posts/clickcount/"' in clicks
    assert 'href="/admin/posts/clickcount/?days=7"' in clicks


def test_a_writer_does_not_see_the_clicks(writer):
    ClickCount.objects.create(day=timezone.localdate(), post=make_post(), box="end-0", store="amazon", count=3)
    html = desk(logged_in(writer))
    assert 'id="desk-clicks"' not in html and "/admin/posts/clickcount/" not in html


def test_without_views_clicks_per_thousand_is_a_dash(editor):
    clicks = section(desk(logged_in(editor)), "clicks")
    assert 'data-days="30" data-figure="per-thousand">–<' in clicks
    assert "まだクリックはありません。" in clicks


# The rest of the index


def test_the_users_recent_actions_are_listed_and_never_none_available(writer, admin_user):
    client = logged_in(writer)
    html = desk(client)
    assert "最近の操作" in html and "まだ操作はありません。" in html
    assert "利用不可" not in html and "最近行った操作" not in html

    response = client.post(
        "/admin/posts/post/add/",
        {
            "title": "書いたばかり",
            "slug": "just-written",
            "body": "本文です。",
            "status": "draft",
            "published_at_0": "2026-01-01",
            "published_at_1": "09:00:00",
            "affiliate_boxes-TOTAL_FORMS": "0",
            "affiliate_boxes-INITIAL_FORMS": "0",
            "_save": "保存",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    post = Post.objects.get(slug="just-written")
    actions = re.search(
        r'<section class="module" id="recent-actions-module".*?</section>', desk(client), re.DOTALL
    ).group(0)
    assert f'<a href="/admin/posts/post/{post.pk}/change/">書いたばかり</a>' in actions
    assert "記事" in text(actions)
    # Someone else's actions are not "mine".
    assert "書いたばかり" not in desk(logged_in(admin_user)).split('id="recent-actions-module"')[1]


def test_every_model_stays_a_click_away(admin_client):
    html = desk(admin_client)
    for url in ["/admin/posts/post/", "/admin/posts/category/", "/admin/auth/user/", "/admin/axes/accessattempt/"]:
        assert f'href="{url}"' in html, url
    assert "管理メニュー" in html


def test_the_desk_costs_the_same_queries_with_3_posts_or_30(editor, writer):
    def queries():
        client = logged_in(editor)
        client.get("/admin/")  # the session, the settings and the page versions are read once
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/admin/").status_code == 200
        return len(captured)

    def add_posts(count):
        for number in range(count):
            make_post(status=Post.Status.DRAFT, author=editor)
            make_post(status=Post.Status.REVIEW, author=writer)
            make_post(published_at=hours(number + 1), author=writer)
            post = make_post(author=writer)
            ClickCount.objects.create(
                day=timezone.localdate(), post=post, box="end-0", store="amazon", count=number + 1
            )

    add_posts(1)
    few = queries()
    add_posts(9)
    assert queries() == few
    assert few <= 14


# Everything in Japanese


def test_the_admins_apps_and_the_packages_models_are_named_in_japanese(admin_client):
    html = desk(admin_client)
    for name in [
        "ログインの記録",
        "ログイン失敗の集計",
        "ログイン失敗の記録",
        "ログインとログアウトの記録",
        "認証アプリ",
        "バックグラウンド処理",
        "処理の結果",
    ]:
        assert name in html, name
    for english in [
        "Axes",
        "Access attempts",
        "Access failures",
        "Access logs",
        "Otp_Totp",
        "TOTP devices",
        "Tasks Database Backend",
        "Task Results",
    ]:
        assert english not in html, english


def test_the_post_list_offers_to_recover_deleted_posts_in_japanese(editor):
    html = logged_in(editor).get("/admin/posts/post/").content.decode()
    assert ">削除された記事を復元</a>" in html
    assert "Recover deleted" not in html
    recover = logged_in(editor).get("/admin/posts/post/recover/").content.decode()
    assert "復元できる削除済みのものはありません。" in recover and "Choose a date" not in recover


def test_the_sign_in_records_speak_japanese_to_an_admin(admin_client):
    from axes.models import AccessAttempt
    from django_otp.plugins.otp_totp.models import TOTPDevice

    AccessAttempt.objects.create(
        username="guess", ip_address="203.0.113.9", user_agent="x", attempt_time=timezone.now(),
        failures_since_start=2, get_data="", post_data="", http_accept="", path_info="/admin/login/",
    )  # fmt: skip
    TOTPDevice.objects.create(user=member("Writer", "phone-owner"), name="iPhone")

    attempts = text(admin_client.get("/admin/axes/accessattempt/").content.decode())
    devices = text(admin_client.get("/admin/otp_totp/totpdevice/").content.decode())

    assert "回まで試せます" in attempts and "状態" in attempts and "Status" not in attempts
    for words in ["追加日時", "最終使用日時", "確認済み", "ユーザー名かメールアドレスで検索します。"]:
        assert words in devices, words
    assert "Search by" not in devices and "TOTP" not in devices
