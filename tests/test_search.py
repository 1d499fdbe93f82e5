import datetime
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from posts import search
from posts.models import Category, Post, SearchDocument
from tests.conftest import make_post, run_command

pytestmark = pytest.mark.django_db


def found(client, url):
    """The titles of the results on a search page, in order."""
    response = client.get(url)
    assert response.status_code == 200, url
    return re.findall(r'class="search-result__title"><a href="[^"]*">([^<]*)</a>', response.content.decode())


def first_excerpt(client, url):
    """The excerpt of a search page's first result, as HTML."""
    response = client.get(url)
    assert response.status_code == 200, url
    return re.search(r'class="search-result__snippet">(.*?)</p>', response.content.decode(), re.S).group(1)


def test_japanese_words_are_split_into_overlapping_pairs():
    assert search.tokens("量子コンピュータ") == ["量子", "子コ", "コン", "ンピ", "ピュ", "ュー", "ータ", "タ"]
    assert search.tokens("ＲＴＸ４０９０とGPT-4oの比較") == ["rtx", "4090", "と", "gpt", "4", "o", "の比", "比較", "較"]


def test_a_two_character_query_finds_the_word_in_title_description_or_body(client):
    make_post(title="量子コンピュータ入門")
    make_post(title="説明に出てくる", description="量子ビットを解説します。")
    make_post(title="本文に出てくる", body="最新の量子アニーリングについて。")
    make_post(title="量産型の話", body="分子の話もします。")

    assert sorted(found(client, "/search/?q=量子")) == ["本文に出てくる", "説明に出てくる", "量子コンピュータ入門"]


def test_a_three_character_query_must_appear_as_written(client):
    make_post(title="計算の話", body="量子計算の基本。")
    make_post(title="コンピュータの話", body="量子コンピュータの基本。")
    make_post(title="離れている話", body="量子と子計は別々に出てくる。")

    assert found(client, "/search/?q=量子計") == ["計算の話"]


def test_a_single_character_finds_it_inside_and_at_the_end_of_a_word(client):
    make_post(title="途中", body="量子の話。")
    make_post(title="末尾", body="データが大量。")
    make_post(title="無関係", body="別の話。")

    assert sorted(found(client, "/search/?q=量")) == ["末尾", "途中"]


@pytest.mark.parametrize("query", ["RTX 4090", "rtx 4090", "ＲＴＸ４０９０", "ＲＴＸ　４０９０", "RTX4090", "409"])
def test_english_words_and_numbers_match_in_any_case_and_width_and_as_prefixes(client, query):
    make_post(title="新GPUレビュー", body="RTX 4090 を試しました。")
    make_post(title="旧GPUレビュー", body="RTX 3090 を試しました。")

    assert found(client, f"/search/?q={query}") == ["新GPUレビュー"]


def test_every_word_of_the_query_must_match(client):
    make_post(title="両方", body="量子コンピュータとGPUの話。")
    make_post(title="片方", body="量子コンピュータだけの話。")

    assert found(client, "/search/?q=量子 GPU") == ["両方"]


def test_title_matches_come_first_then_the_newest(client):
    now = timezone.now()
    make_post(title="量子入門", body="基本。", published_at=now - timezone.timedelta(days=30))
    make_post(title="古いニュース", body="量子の話。", published_at=now - timezone.timedelta(days=2))
    make_post(title="新しいニュース", body="量子の話。", published_at=now - timezone.timedelta(days=1))

    assert found(client, "/search/?q=量子") == ["量子入門", "新しいニュース", "古いニュース"]


def test_drafts_scheduled_and_expired_posts_never_appear(client):
    now = timezone.now()
    make_post(title="公開中の量子")
    make_post(title="下書きの量子", status=Post.Status.DRAFT)
    make_post(title="予約の量子", published_at=now + timezone.timedelta(days=1))
    make_post(title="期限切れの量子", expires_at=now - timezone.timedelta(hours=1))

    html = client.get("/search/?q=量子").content.decode()
    assert found(client, "/search/?q=量子") == ["公開中の量子"]
    for hidden in ["下書き", "予約", "期限切れ"]:
        assert hidden not in html


def test_the_excerpt_marks_the_match_and_escapes_the_text(client):
    make_post(title="比較", body="前置きが続きます。" * 20 + "ここで `a<b` と量子コンピュータを比べます。" + "後書き。" * 40)

    html = client.get("/search/?q=量子").content.decode()
    assert "<mark>量子</mark>コンピュータを比べます。" in html
    assert "a&lt;b" in html
    assert "後書き。" * 40 not in html  # an excerpt, not the whole text


def test_a_match_deep_in_a_long_body_after_characters_that_normalise_longer_is_marked(client):
    # ㈱ becomes three characters and ｶﾞ one when normalised: the excerpt must still
    # begin and mark where the match is in the text as written.
    filler = "㈱ｶﾞＡＢＣの前置き。\n" * 2000
    make_post(title="長文", body=filler + "結びに量子ＰＣの話。" + "後書き。" * 500)

    excerpt = first_excerpt(client, "/search/?q=量子pc")
    assert excerpt.startswith("…") and excerpt.endswith("…")
    assert "結びに<mark>量子ＰＣ</mark>の話。" in excerpt
    assert len(excerpt) < 400


def test_a_match_after_one_character_that_grows_and_two_that_merge_is_marked_exactly(client):
    # ㍻ becomes two characters and ｶﾞ one: the text keeps its length when normalised,
    # but not one character for one.
    make_post(title="元号", body="㍻では量子ＰＣを扱うｶﾞイド。")

    assert "㍻では<mark>量子ＰＣ</mark>を扱うｶﾞイド。" in first_excerpt(client, "/search/?q=量子pc")


def test_a_match_across_the_pieces_a_long_body_is_read_in_is_found_and_marked(client):
    # Bodies are normalised 512 characters at a time, in batches of 1, 2, 4 … pieces:
    # 量 ends the second batch and 子 begins the third.
    make_post(title="境目", body="あ" * 1535 + "量子の話。" + "い" * 3000)

    excerpt = first_excerpt(client, "/search/?q=量子")
    assert "<mark>量子</mark>の話。" in excerpt
    assert len(excerpt) < 400


def test_a_latin_word_is_marked_where_it_begins_a_word_not_inside_another(client):
    make_post(title="GPU", body="smartx4090は別物。" + "前置き。" * 10 + "本物のRTX 4090の話。")

    excerpt = first_excerpt(client, "/search/?q=RTX4090")
    assert "<mark>RTX 4090</mark>の話。" in excerpt
    assert "<mark>" not in excerpt.split("本物の")[0]


def test_the_excerpt_of_a_post_without_the_match_in_its_text_is_its_beginning(client):
    make_post(title="量子の題", body="本文の始まり。" + "続き。" * 300)

    excerpt = first_excerpt(client, "/search/?q=量子")
    assert excerpt.startswith("本文の始まり。") and excerpt.endswith("…")


def test_results_are_paginated_with_the_query_kept(client):
    for number in range(12):
        make_post(title=f"量子ニュース{number:02}")

    first = client.get("/search/?q=量子").content.decode()
    assert len(found(client, "/search/?q=量子")) == 10
    assert "12 件" in first
    assert 'href="?q=%E9%87%8F%E5%AD%90&amp;page=2"' in first
    second = client.get("/search/?q=量子&page=2").content.decode()
    assert len(found(client, "/search/?q=量子&page=2")) == 2
    assert 'href="?q=%E9%87%8F%E5%AD%90"' in second
    assert client.get("/search/?q=量子&page=3").status_code == 404


def test_a_blank_query_shows_the_form_and_no_results(client):
    make_post(title="量子ニュース")

    for url in ["/search/", "/search/?q=", "/search/?q=%20%E3%80%80"]:
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'name="q"' in html and "search-result" not in html and "一致する記事はありません" not in html


def test_a_query_without_matches_says_so(client):
    make_post(title="量子ニュース")

    html = client.get("/search/?q=存在しない語").content.decode()
    assert "「存在しない語」に一致する記事はありません。" in html


@pytest.mark.parametrize(
    "query",
    ['AND', 'OR NOT', '"', '"量子', "*", "量子*", ":", "title:量子", "&", "|", "!", "'", "(", ")", "<->", "NEAR(a b)",
     "a:*", "\\", "{title}", "^", "-", "+", "%", "_", "量子 AND OR", "x" * 500, "。、！？", "〇", "々", "ー",
     "・", "゛", "🤖", "\x00", "量子\x00計算"],
)  # fmt: skip
def test_query_syntax_characters_are_searched_for_not_obeyed(client, query):
    make_post(title="量子ニュース")

    assert client.get("/search/", {"q": query}).status_code == 200


def test_the_menu_links_to_search(client):
    assert 'href="/search/"' in client.get("/").content.decode()


def test_the_index_follows_edits_and_deletions(client):
    post = make_post(title="量子ニュース")
    post.title = "GPUニュース"
    post.save()
    assert found(client, "/search/?q=量子") == []
    assert found(client, "/search/?q=GPU") == ["GPUニュース"]

    post.delete()
    assert found(client, "/search/?q=GPU") == []
    assert not SearchDocument.objects.exists()


def test_rebuild_search_index_indexes_posts_changed_without_save(client):
    make_post(title="量子ニュース")
    make_post(title="GPUニュース")
    Post.objects.filter(title="GPUニュース").update(title="TPUニュース")
    assert found(client, "/search/?q=TPU") == []

    assert run_command("rebuild_search_index") == "Indexed 2 posts.\n"
    run_command("render_pages")  # the stored heads of their results, as the README says
    assert found(client, "/search/?q=TPU") == ["TPUニュース"]
    assert found(client, "/search/?q=量子") == ["量子ニュース"]


def test_a_search_page_costs_the_same_queries_for_one_result_or_ten(client, django_assert_num_queries):
    make_post(title="量子ひとつ", categories=["AI"])
    for number in range(10):
        make_post(title=f"GPU{number}", categories=["AI", "ハードウェア"])
    client.get("/")  # the site settings are now cached
    client.get("/search/?q=AI")  # and the unpublished posts counted

    # First, how many documents have the words (on SQLite, which way to read the posts
    # too); then the matches ranked, and the page's posts with their text and the
    # stored heads of their results. On PostgreSQL, the ranking sets the settings that
    # keep it on its indexes before and resets them after.
    for query in ["量子", "GPU"]:
        with django_assert_num_queries(5 if connection.vendor == "postgresql" else 3):
            client.get(f"/search/?q={query}")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner settings are PostgreSQL's")
@pytest.mark.parametrize("url", ["/search/?q=量子", "/search/?q=量子&page=9", "/search/?q=量子&page=x"])
def test_the_planner_settings_of_a_search_do_not_outlast_it(client, url):
    make_post(title="量子ひとつ")

    def settings():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('enable_seqscan'), current_setting('jit'),"
                " current_setting('max_parallel_workers_per_gather')"
            )
            return cursor.fetchone()

    before = settings()
    client.get(url)
    assert settings() == before and before[0] == "on"


def every_page(client, query):
    """The titles on every page of results for `query`, in order, as far as they go."""
    titles, number = [], 1
    while (response := client.get("/search/", {"q": query, "page": number})).status_code == 200:
        titles += found(client, f"/search/?q={query}&page={number}")
        number += 1
    assert response.status_code == 404
    return titles


def test_up_to_the_cap_the_count_is_exact(client, monkeypatch):
    monkeypatch.setattr(search.backends, "MAX_RESULTS", 12)
    for number in range(12):
        make_post(title=f"ニュース{number:02}", body="量子の話。")

    html = client.get("/search/?q=量子").content.decode()
    assert "12 件見つかりました" in html and "以上" not in html


def test_past_the_cap_the_count_says_so_and_the_pages_stop_there(client, monkeypatch):
    monkeypatch.setattr(search.backends, "MAX_RESULTS", 12)
    for number in range(14):
        make_post(title=f"ニュース{number:02}", body="量子の話。")

    html = client.get("/search/?q=量子").content.decode()
    assert "12 件以上見つかりました。上位 12 件を表示しています。" in html
    assert "1 / 2 ページ" in html
    assert [len(found(client, f"/search/?q=量子&page={number}")) for number in [1, 2]] == [10, 2]
    # The newest first, none of them with the word in the title.
    assert every_page(client, "量子") == [f"ニュース{number:02}" for number in range(12)]


def test_posts_readers_cannot_see_count_towards_no_cap(client, monkeypatch):
    # The index finds drafts, scheduled and expired posts too, 16 in all here, past the
    # cap of 12; of the posts readers see, 11 match, none in the title.
    monkeypatch.setattr(search.backends, "MAX_RESULTS", 12)
    now = timezone.now()
    for number in range(11):
        make_post(title=f"ニュース{number:02}", body="量子の話。", published_at=now - timezone.timedelta(hours=number))
    make_post(title="下書きの量子", body="量子の話。", status=Post.Status.DRAFT)
    make_post(title="予約の量子", body="量子の話。", published_at=now + timezone.timedelta(days=1))
    make_post(title="期限切れの量子", body="量子の話。", expires_at=now - timezone.timedelta(hours=1))
    for number in range(2):
        make_post(title=f"量子の下書き{number}", status=Post.Status.DRAFT)

    html = client.get("/search/?q=量子").content.decode()
    assert "11 件見つかりました" in html and "以上" not in html
    assert every_page(client, "量子") == [f"ニュース{number:02}" for number in range(11)]


def test_posts_made_unpublished_since_the_last_search_count_towards_no_cap_either(client, monkeypatch):
    # A search counts the posts readers cannot see once per change to the posts; here
    # 12 published posts match, at the cap, then a draft is added and one is scheduled.
    monkeypatch.setattr(search.backends, "MAX_RESULTS", 12)
    now = timezone.now()
    posts = [
        make_post(title=f"ニュース{number:02}", body="量子の話。", published_at=now - timezone.timedelta(hours=number))
        for number in range(12)
    ]
    html = client.get("/search/?q=量子").content.decode()
    assert "12 件見つかりました" in html and "以上" not in html

    make_post(title="下書きの量子", body="量子の話。", status=Post.Status.DRAFT)
    posts[0].published_at = now + timezone.timedelta(days=1)
    posts[0].save()

    html = client.get("/search/?q=量子").content.decode()
    assert "11 件見つかりました" in html and "以上" not in html


@pytest.mark.parametrize("published, shown", [(3, "3 件見つかりました"), (4, "以上")])
def test_a_site_with_more_unpublished_posts_than_the_cap_counts_exactly_all_the_same(client, monkeypatch, published, shown):
    # With more drafts than the cap (3), counting the documents as far as the cap and
    # the drafts would cost more than it spares: the published posts are counted.
    monkeypatch.setattr(search.backends, "MAX_RESULTS", 3)
    for number in range(published):
        make_post(title=f"ニュース{number}", body="量子の話。")
    for number in range(5):
        make_post(title=f"下書き{number}", body="量子の話。", status=Post.Status.DRAFT)

    html = client.get("/search/?q=量子").content.decode()
    assert shown in html
    assert len(every_page(client, "量子")) == 3


def test_a_common_word_in_titles_past_the_cap_lists_the_newest_of_those_titles(client, monkeypatch):
    monkeypatch.setattr(search.backends, "MAX_RESULTS", 3)
    for number in range(5):
        make_post(title=f"本文だけ{number}", body="量子の話。")
    for number in range(5):
        make_post(title=f"量子の題{number}")

    assert every_page(client, "量子") == ["量子の題0", "量子の題1", "量子の題2"]


def test_the_ranking_is_the_same_whatever_the_cap(client, monkeypatch):
    now = timezone.now()
    # Titles with both parts, one, or none, published in an order that the ranking
    # must not follow; and posts with only one part, which never match.
    posts = [
        ("量子とGPUの両方A", "", 9), ("量子とGPUの両方B", "", 2),
        ("量子の題A", "GPUの話。", 1), ("GPUの題A", "量子の話。", 8), ("量子の題B", "GPUの話。", 5),
        ("GPUの題B", "量子の話。", 11), ("どちらも本文A", "量子とGPU。", 3), ("どちらも本文B", "量子とGPU。", 4),
        ("どちらも本文C", "量子とGPU。", 6), ("どちらも本文D", "量子とGPU。", 7), ("どちらも本文E", "量子とGPU。", 10),
        ("どちらも本文F", "量子とGPU。", 12), ("量子だけ", "量子の話。", 0), ("GPUだけ", "GPUの話。", 13),
    ]  # fmt: skip
    for title, body, days in posts:
        make_post(title=title, body=body or "本文。", published_at=now - timezone.timedelta(days=days))
    ranked = [post.title for post in search.search(Post.objects.published(), "量子 GPU")]
    assert ranked[:6] == ["量子とGPUの両方B", "量子とGPUの両方A", "量子の題A", "量子の題B", "GPUの題A", "GPUの題B"]
    assert len(ranked) == 12

    # Every way of finding the first posts: all of them ranked (12 and more); those with
    # a part in the title ranked, then the newest (7, 11); those with both, then the
    # newest with one (3, 5); the newest with both (1).
    # The newest are read post by post, or, when few of the newest posts match, found
    # through the index and sorted (WALK_SCALE 0). And again where there is no index.
    for backends in [search.backends._BACKENDS, {}]:
        monkeypatch.setattr(search.backends, "_BACKENDS", backends)
        for cap, walk in itertools.product([1, 3, 5, 7, 11, 12, 100], [100, 0]):
            monkeypatch.setattr(search.backends, "MAX_RESULTS", cap)
            monkeypatch.setattr(search.pages, "WALK_SCALE", walk)
            assert every_page(client, "量子 GPU") == ranked[:cap], (backends, cap, walk)


def test_with_too_many_parts_to_look_up_in_titles_the_ranking_is_the_same(client, monkeypatch):
    monkeypatch.setattr(search.backends, "MAX_RESULTS", 2)
    monkeypatch.setattr(search.pages, "MAX_TITLE_COMBINATIONS", 1)
    now = timezone.now()
    make_post(title="量子の題", body="GPU TPU", published_at=now - timezone.timedelta(days=1))
    make_post(title="量子とGPUとTPUの題", published_at=now - timezone.timedelta(days=2))
    make_post(title="GPUの題", body="量子 TPU", published_at=now - timezone.timedelta(days=3))
    make_post(title="本文だけ", body="量子 GPU TPU", published_at=now - timezone.timedelta(hours=1))

    assert every_page(client, "量子 GPU TPU") == ["量子とGPUとTPUの題", "量子の題"]


def test_databases_without_an_index_search_the_text_directly(monkeypatch):
    monkeypatch.setattr(search.backends, "_BACKENDS", {})
    make_post(title="量子ニュース")
    make_post(title="別の話", body="量子の話。")
    make_post(title="無関係")

    results = search.search(Post.objects.published(), "量子")
    assert [post.title for post in results] == ["量子ニュース", "別の話"]


def _plan(queryset_or_sql):
    if isinstance(queryset_or_sql, str):
        sql, params = queryset_or_sql, None
    else:
        sql, params = queryset_or_sql.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Tiny test tables are cheaper to read whole, or row by row through their
            # primary keys; the question is whether the GIN indexes can answer the query.
            for method in ["seqscan", "indexscan", "nestloop"]:
                cursor.execute(f"SET LOCAL enable_{method} = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(row[-1] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 table is SQLite's")
def test_sqlite_searches_through_its_fts5_table():
    make_post(title="量子ニュース")
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_search'")
        assert "fts5" in cursor.fetchone()[0].lower()

    plan = _plan(search.search(Post.objects.published(), "量子 rtx"))
    assert "SCAN posts_search VIRTUAL TABLE" in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN indexes are PostgreSQL's")
def test_postgresql_searches_through_its_gin_indexes(client, monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'posts_searchdocument'"
        )
        indexes = dict(cursor.fetchall())
    assert "USING gin (words)" in indexes["posts_searchdocument_words"]
    assert "USING gin (title_words)" in indexes["posts_searchdocument_title"]

    # Past the cap, so that the page also looks for the parts in titles.
    monkeypatch.setattr(search.backends, "MAX_RESULTS", 1)
    make_post(title="量子ニュース", body="RTX 4090")
    make_post(title="RTXニュース", body="量子")
    with CaptureQueriesContext(connection) as captured:
        client.get("/search/?q=量子 rtx")
    plans = "\n".join(
        _plan(query["sql"]) for query in captured.captured_queries if "posts_searchdocument" in query["sql"]
    )
    assert "Bitmap Index Scan on posts_searchdocument_words" in plans
    assert "Bitmap Index Scan on posts_searchdocument_title" in plans


@pytest.mark.parametrize("rowid_cost", [0, 10**9], ids=["by-id", "through-the-publication-index"])
def test_sqlite_finds_the_same_posts_whichever_way_it_reads_them(client, monkeypatch, rowid_cost):
    # A word in many posts is checked post by post along the publication index, one in
    # few looked up by id (_ROWID_COST weighs them): the results must not depend on it.
    monkeypatch.setattr(search.backends, "_ROWID_COST", rowid_cost)
    now = timezone.now()
    for number in range(12):
        make_post(title=f"量子の話{number}" if number % 4 == 0 else f"記事{number}", body="量子とGPUの本文。",
                  published_at=now - timezone.timedelta(hours=number))
    make_post(title="下書きの量子", status=Post.Status.DRAFT)
    make_post(title="予約の量子", published_at=now + timezone.timedelta(days=1))
    make_post(title="無関係", body="別の話。")

    assert found(client, "/search/?q=量子") == ["量子の話0", "量子の話4", "量子の話8"] + [
        f"記事{number}" for number in range(12) if number % 4
    ][:7]
    assert found(client, "/search/?q=量子&page=2") == [f"記事{number}" for number in (10, 11)]
    assert found(client, "/search/?q=gpu 量子の話") == ["量子の話0", "量子の話4", "量子の話8"]


def test_a_result_shows_the_head_stored_with_its_post_until_a_change_outdates_it(client, admin_client):
    post = make_post(title="量子の記事", categories=["研究"])
    stored = Post.objects.get(pk=post.pk).result_html
    assert "量子の記事" in stored and ">研究</a>" in stored
    # What readers get is what was stored (here altered, to tell it from a live render);
    # staff get it rendered now.
    Post.objects.filter(pk=post.pk).update(result_html=stored.replace("量子の記事", "保存された見出し"))
    assert found(client, "/search/?q=量子") == ["保存された見出し"]
    assert found(admin_client, "/search/?q=量子") == ["量子の記事"]

    category = Category.objects.get(name="研究")
    category.name = "研究開発"
    category.save()  # its commit has not run: the stored head is out of date

    html = client.get("/search/?q=量子").content.decode()
    assert found(client, "/search/?q=量子") == ["量子の記事"] and ">研究開発</a>" in html


def test_a_result_shows_its_categories_date_and_link(client, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    when = timezone.datetime(2026, 3, 4, 23, 30, tzinfo=datetime.timezone.utc)  # 5 March in Tokyo
    post = make_post(title="量子の<記事>", categories=["ハードウェア", "AI"], published_at=when)

    html = client.get("/search/?q=量子").content.decode()
    result = html[html.index('<li class="search-result">') :]
    result = result[: result.index("</li>")]
    assert re.findall(r'<a class="chip" href="([^"]+)">([^<]+)</a>', result) == [
        ("/categories/ai/", "AI"),
        (post.categories.get(name="ハードウェア").get_absolute_url(), "ハードウェア"),
    ]
    assert '<time datetime="2026-03-05T08:30:00+09:00">2026年3月5日</time>' in result
    assert f'<a href="/posts/{post.slug}/">量子の&lt;記事&gt;</a>' in result
