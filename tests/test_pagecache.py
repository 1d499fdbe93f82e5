"""Readers' pages from the cache: one round trip for a hit, a change replacing only the
pages it affects, the old page served while one request makes the new one, scheduled
posts on time, and HTTP caching (ETag, 304, gzip) for browsers and CDNs."""

import gzip
from unittest import mock
from urllib.parse import unquote

import pytest
from django.core.cache import cache
from django.test import TestCase
from django.utils import timezone
from django.utils.http import http_date

from posts.models import AffiliateSettings, Post, Tag
from posts.pagecache import middleware, pages_changed, store
from tests.conftest import make_post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.KIJI_PAGE_CACHE_SECONDS = 300


def fetch(client, url, **headers):
    return client.get(url, headers=headers)


def outcome(client, url):
    response = fetch(client, url)
    return response["X-Kiji-Cache"], response.content.decode()


def saved(post, **changes):
    """Change `post` as an editor's save would, with what its commit sets off."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        for name, value in changes.items():
            setattr(post, name, value)
        post.save()


def test_a_second_reader_gets_the_page_without_a_query(client, django_assert_num_queries):
    post = make_post(title="キャッシュされる記事")
    first = fetch(client, post.get_absolute_url())

    with django_assert_num_queries(0):
        second = fetch(client, post.get_absolute_url())

    assert (first["X-Kiji-Cache"], second["X-Kiji-Cache"]) == ("MISS", "HIT")
    assert second.content == first.content and second["X-Frame-Options"] == first["X-Frame-Options"]


def test_a_hit_is_one_cache_round_trip_and_none_for_a_page_this_process_holds(client):
    post = make_post()
    fetch(client, post.get_absolute_url())
    store.recent.clear()  # as another process would be: the page only in the shared cache

    with mock.patch.object(store, "cache", wraps=cache) as spy:
        assert fetch(client, post.get_absolute_url())["X-Kiji-Cache"] == "HIT"
    assert [call[0] for call in spy.method_calls] == ["get"]

    with mock.patch.object(store, "cache", wraps=cache) as spy:
        assert fetch(client, post.get_absolute_url())["X-Kiji-Cache"] == "HIT"
    shared = not store._is_local()  # Redis: the process now holds the page itself
    assert [call[0] for call in spy.method_calls] == ([] if shared else ["get"])


def test_an_edit_shows_at_once_on_its_page_and_the_lists(client):
    post = make_post(title="古い題名")
    for url in (post.get_absolute_url(), "/"):
        assert "古い題名" in fetch(client, url).content.decode()

    saved(post, title="新しい題名")

    for url in (post.get_absolute_url(), "/"):
        state, html = outcome(client, url)
        assert state == "MISS" and "新しい題名" in html


def test_a_change_leaves_the_pages_it_does_not_affect_in_the_cache(client):
    changed = make_post(title="変わる記事", tags=["変わるタグ"])
    other = make_post(title="関係ない記事", tags=["別のタグ"], published_at=timezone.now() - timezone.timedelta(days=30))
    far = make_post(title="遠い記事", tags=["別のタグ"], published_at=timezone.now() - timezone.timedelta(days=60))
    urls = [changed.get_absolute_url(), other.get_absolute_url(), "/tags/変わるタグ/", "/tags/別のタグ/", "/"]
    for url in urls:
        fetch(client, url)

    saved(changed, body="## 3行要約\n\n- 書き直した要点。\n")

    assert outcome(client, changed.get_absolute_url())[0] == "MISS"
    assert outcome(client, "/tags/変わるタグ/")[0] == "MISS"
    assert outcome(client, "/")[0] == "MISS"
    assert outcome(client, "/tags/別のタグ/")[0] == "HIT"
    assert outcome(client, far.get_absolute_url())[0] == "MISS"  # never fetched before
    assert outcome(client, far.get_absolute_url())[0] == "HIT"


def test_a_new_post_refreshes_the_page_whose_next_link_it_becomes(client):
    older = make_post(title="前の記事", published_at=timezone.now() - timezone.timedelta(days=2))
    fetch(client, older.get_absolute_url())

    make_post(title="次の記事", published_at=timezone.now() - timezone.timedelta(days=1))

    state, html = outcome(client, older.get_absolute_url())
    assert state == "MISS" and "次の記事" in html


def test_renaming_a_tag_refreshes_the_articles_that_show_it(client):
    post = make_post(tags=["旧名"])
    fetch(client, post.get_absolute_url())

    with TestCase.captureOnCommitCallbacks(execute=True):
        tag = Tag.objects.get(name="旧名")
        tag.name = "新名"
        tag.save()

    state, html = outcome(client, post.get_absolute_url())
    assert state == "MISS" and "#新名" in html


def test_new_affiliate_ids_show_at_once(client, affiliate_settings):
    post = make_post()
    post.affiliate_boxes.create(keyword="GPU", placement="end")
    assert "tag=negi3939-22" in fetch(client, post.get_absolute_url()).content.decode()

    settings = AffiliateSettings.load()
    settings.amazon_tag = "other-22"
    settings.save()

    assert "tag=other-22" in fetch(client, post.get_absolute_url()).content.decode()


def test_a_stale_page_is_sent_while_another_request_makes_the_new_one(client):
    post = make_post(title="前の題名")
    url = post.get_absolute_url()
    fetch(client, url)
    saved(post, title="次の題名")
    lock = middleware.LOCK.format(host="testserver", path=url)
    cache.add(lock, 1, 10)  # another worker is making the page right now

    state, html = outcome(client, url)
    assert state == "STALE" and "前の題名" in html

    cache.delete(lock)  # it is done
    state, html = outcome(client, url)
    assert state == "MISS" and "次の題名" in html


MEANWHILE = []


class Meanwhile:
    """Does what MEANWHILE holds once a page is made, before the page cache keeps it:
    what another request may do while this one is slow."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        while MEANWHILE:
            MEANWHILE.pop()()
        return response


def test_a_slow_request_begun_before_a_change_does_not_put_back_the_page_it_replaced(client, settings):
    position = settings.MIDDLEWARE.index("posts.pagecache.PageCacheMiddleware") + 1
    settings.MIDDLEWARE = [*settings.MIDDLEWARE[:position], f"{__name__}.Meanwhile", *settings.MIDDLEWARE[position:]]
    post = make_post(title="遅い読者の見た題名")
    url = post.get_absolute_url()
    later = []

    def edited_and_read_again():
        saved(post, title="編集後の題名")
        later.append(outcome(client, url))

    MEANWHILE.append(edited_and_read_again)
    slow = outcome(client, url)

    assert slow[0] == "MISS" and "遅い読者の見た題名" in slow[1]
    assert later[0][0] == "MISS" and "編集後の題名" in later[0][1]
    lock = middleware.LOCK.format(host="testserver", path=url)
    cache.add(lock, 1, 10)  # were the old page back, a busy site would send it as STALE

    state, html = outcome(client, url)
    assert state == "HIT" and "編集後の題名" in html


def test_an_unpublished_post_is_gone_from_the_cache(client):
    post = make_post(title="取り下げる記事")
    fetch(client, post.get_absolute_url())

    saved(post, status=Post.Status.UNPUBLISHED)

    assert fetch(client, post.get_absolute_url()).status_code == 404
    assert fetch(client, post.get_absolute_url()).status_code == 404


def test_a_scheduled_post_appears_on_time_although_the_home_page_was_cached(client):
    make_post(title="今ある記事")
    publish_at = timezone.now() + timezone.timedelta(minutes=10)
    scheduled = make_post(title="予約した記事", published_at=publish_at)
    assert "予約した記事" not in fetch(client, "/").content.decode()
    assert outcome(client, "/")[0] == "HIT"

    with mock.patch("django.utils.timezone.now", return_value=publish_at + timezone.timedelta(seconds=1)):
        state, html = outcome(client, "/")
        assert state == "MISS" and "予約した記事" in html
        assert fetch(client, scheduled.get_absolute_url()).status_code == 200
        assert outcome(client, "/")[0] == "HIT"


def test_an_expiring_post_leaves_on_time(client):
    post = make_post(title="期限つきの記事", expires_at=timezone.now() + timezone.timedelta(minutes=5))
    assert "期限つきの記事" in fetch(client, "/").content.decode()

    with mock.patch("django.utils.timezone.now", return_value=post.expires_at + timezone.timedelta(seconds=1)):
        assert "期限つきの記事" not in fetch(client, "/").content.decode()
        assert fetch(client, post.get_absolute_url()).status_code == 404


def test_staff_and_the_admin_are_never_served_from_the_cache(admin_client, client):
    post = make_post(title="管理者も見る記事")
    fetch(client, post.get_absolute_url())
    Post.objects.filter(pk=post.pk).update(title="裏で変えた題名")  # no signal: the cache keeps the old page

    assert "管理者も見る記事" in fetch(client, post.get_absolute_url()).content.decode()
    response = fetch(admin_client, post.get_absolute_url())
    assert "裏で変えた題名" in response.content.decode()
    assert response["Cache-Control"] == "private, no-store" and "X-Kiji-Cache" not in response
    assert "no-store" in fetch(admin_client, "/admin/")["Cache-Control"]


def test_a_conditional_get_is_answered_304_by_etag_and_by_date(client):
    post = make_post()
    first = fetch(client, post.get_absolute_url())

    by_etag = fetch(client, post.get_absolute_url(), if_none_match=first["ETag"])
    by_date = fetch(client, post.get_absolute_url(), if_modified_since=first["Last-Modified"])
    older = fetch(client, post.get_absolute_url(), if_modified_since=http_date(0))

    assert first["ETag"].startswith('"') and first.status_code == 200
    assert by_etag.status_code == by_date.status_code == 304 and not by_etag.content
    assert older.status_code == 200


def test_an_edit_changes_the_etag(client):
    post = make_post(title="最初")
    etag = fetch(client, post.get_absolute_url())["ETag"]

    saved(post, title="二度目")

    response = fetch(client, post.get_absolute_url(), if_none_match=etag)
    assert response.status_code == 200 and response["ETag"] != etag


def test_pages_are_sent_compressed_to_clients_that_accept_it(client):
    post = make_post(title="圧縮される記事")
    plain = fetch(client, post.get_absolute_url())

    packed = fetch(client, post.get_absolute_url(), accept_encoding="gzip, br")

    assert packed["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain
    assert gzip.decompress(packed.content) == plain.content
    assert plain["Vary"] == packed["Vary"] == "Accept-Encoding"
    assert packed["ETag"] != plain["ETag"]


def test_readers_pages_tell_browsers_and_cdns_how_long_to_keep_them(client, settings):
    settings.KIJI_BROWSER_MAX_AGE, settings.KIJI_CDN_MAX_AGE, settings.KIJI_STALE_WHILE_REVALIDATE = 60, 600, 30
    post = make_post(tags=["GPU"])

    response = fetch(client, post.get_absolute_url())

    assert response["Cache-Control"] == "public, max-age=60, s-maxage=600, stale-while-revalidate=30"
    tags = set(response["Surrogate-Key"].split())
    assert tags == set(response["Cache-Tag"].split())
    assert {"site", f"post:{post.pk}", f"tag:{Tag.objects.get().pk}"} <= tags


def test_a_draft_preview_is_never_stored(admin_client):
    post = make_post(status=Post.Status.DRAFT)

    response = admin_client.get(f"/admin/posts/post/{post.pk}/preview/")

    assert "no-store" in response["Cache-Control"] and "X-Kiji-Cache" not in response


def test_a_head_request_is_answered_from_the_cache_without_a_body(client):
    post = make_post()
    get = fetch(client, post.get_absolute_url())

    head = client.head(post.get_absolute_url())

    assert head["X-Kiji-Cache"] == "HIT" and head.content == b""
    assert head["Content-Length"] == str(len(get.content))


def test_nothing_is_cached_when_turned_off(client, settings, django_assert_num_queries):
    settings.KIJI_PAGE_CACHE_SECONDS = 0
    post = make_post()
    fetch(client, post.get_absolute_url())

    response = fetch(client, post.get_absolute_url())

    assert "X-Kiji-Cache" not in response and response["ETag"]


def test_a_change_tells_whoever_purges_a_cdn(settings):
    heard = []

    def receiver(sender, tags, paths, **kwargs):
        heard.append((set(tags), set(paths)))

    pages_changed.connect(receiver, weak=False, dispatch_uid="test-purge")
    try:
        post = make_post(title="CDNに知らせる記事", tags=["通知"])
    finally:
        pages_changed.disconnect(dispatch_uid="test-purge")

    tags = set().union(*(tags for tags, _paths in heard))
    paths = {unquote(path) for _tags, paths in heard for path in paths}
    assert {f"post:{post.pk}", "list"} <= tags
    assert {post.get_absolute_url(), "/", "/index.xml", "/tags/通知/"} <= paths
