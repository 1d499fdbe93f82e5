import re
from html import unescape
from urllib.parse import unquote

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from posts import views
from posts.models import Category, Post, Redirect, Tag
from tests.conftest import make_post

pytestmark = pytest.mark.django_db


def location(response):
    return unquote(response["Location"])


def tag(name):
    return Tag.objects.get(name=name)


def tag_names(post):
    return sorted(post.tags.values_list("name", flat=True))


def listed(html):
    """{name: post count} of the rows of an admin term list."""
    rows = re.findall(r'>([^<>]+)</a></th>.*?<td class="field-post_count">(\d+)</td>', html, re.S)
    return {unescape(name): int(count) for name, count in rows}


def duplicate_groups(html):
    """Each group of the possible-duplicates page: (names, the name checked to keep)."""
    groups = []
    for form in re.findall(r'<form method="post" class="module kiji-duplicates">(.*?)</form>', html, re.S):
        names = [unescape(name) for name in re.findall(r"<label for=\"\d+-\d+\">([^<]*)</label>", form)]
        checked = re.search(r'value="(\d+)"[^>]* checked', form)
        groups.append((sorted(names), Tag.objects.get(pk=checked.group(1)).name))
    return groups


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def client_in_group(django_user_model, group):
    """A client logged in as a staff member of `group` (Writer and Editor may view and
    add tags, not change or delete them)."""
    user = django_user_model.objects.create_user(group.lower(), password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    member = Client()
    member.force_login(user)
    return member


# Renaming


def test_renaming_a_tag_in_the_admin_redirects_its_old_page_and_feed(admin_client, client):
    posts = [make_post(title=f"4090の記事{number}", tags=["RTX4090"]) for number in range(11)]
    rtx = tag("RTX4090")

    response = admin_client.post(
        f"/admin/posts/tag/{rtx.pk}/change/", {"name": "RTX 4090", "slug": "rtx4090", "description": ""}
    )

    assert response.status_code == 302
    rtx.refresh_from_db()
    assert (rtx.name, rtx.slug) == ("RTX 4090", "rtx-4090")
    for old, new in [
        ("/tags/rtx4090/", "/tags/rtx-4090/"),
        ("/tags/rtx4090/index.xml", "/tags/rtx-4090/index.xml"),
        ("/tags/rtx4090/page/2/", "/tags/rtx-4090/page/2/"),
    ]:
        response = client.get(old)
        assert (response.status_code, location(response)) == (301, new)
        assert client.get(new).status_code == 200
    assert all(tag_names(post) == ["RTX 4090"] for post in posts)
    assert "4090の記事0" in client.get("/tags/rtx-4090/").content.decode()


def test_a_slug_typed_in_the_rename_form_is_used(admin_client, client):
    category = Category.objects.create(name="AI News")

    admin_client.post(
        f"/admin/posts/category/{category.pk}/change/",
        {"name": "AIニュース", "slug": "news", "description": ""},
    )

    category.refresh_from_db()
    assert (category.name, category.slug) == ("AIニュース", "news")
    assert location(client.get("/categories/ai-news/")) == "/categories/news/"
    assert location(client.get("/categories/ai-news/index.xml")) == "/categories/news/index.xml"


def test_a_slug_chosen_by_hand_stays_when_only_the_name_changes(admin_client):
    term = Tag.objects.create(name="生成AI", slug="generative-ai")

    admin_client.post(f"/admin/posts/tag/{term.pk}/change/", {"name": "生成 AI", "slug": "generative-ai", "description": ""})

    term.refresh_from_db()
    assert (term.name, term.slug) == ("生成 AI", "generative-ai")
    assert not Redirect.objects.exists()


def test_a_term_page_shown_before_a_change_shows_the_change_and_is_gone_once_the_term_is(admin_client, client):
    term = Tag.objects.create(name="生成AI", slug="generative-ai")
    make_post(title="生成AIの記事", tags=["生成AI"])
    assert "<h1 class=\"page-title\">生成AI</h1>" in client.get("/tags/generative-ai/").content.decode()

    admin_client.post(
        f"/admin/posts/tag/{term.pk}/change/", {"name": "生成 AI", "slug": "generative-ai", "description": "画像と文章"}
    )

    html = client.get("/tags/generative-ai/").content.decode()
    assert "<h1 class=\"page-title\">生成 AI</h1>" in html and "<p>画像と文章</p>" in html
    admin_client.post(f"/admin/posts/tag/{term.pk}/delete/", {"post": "yes"})
    assert not Tag.objects.filter(pk=term.pk).exists()
    assert client.get("/tags/generative-ai/").status_code == 404


def test_renaming_a_tag_back_makes_its_first_url_live_again(client):
    term = Tag.objects.create(name="GPT4")
    make_post(tags=["GPT4"])
    term.name = "GPT-4"
    term.save()
    term.name = "GPT4"
    term.save()

    assert client.get("/tags/gpt4/").status_code == 200
    assert location(client.get("/tags/gpt-4/")) == "/tags/gpt4/"


# Merging


def merge_action(admin_client, terms, **confirm):
    """The merge action as the changelist sends it; then, if `confirm` is given, the
    confirmation page's form."""
    selected = [term.pk for term in terms]
    first = admin_client.post(
        "/admin/posts/tag/",
        {"action": "merge_selected", "select_across": "0", "index": "0", "_selected_action": selected},
    )
    if not confirm:
        return first
    return admin_client.post(
        "/admin/posts/tag/", {"action": "merge_selected", "_selected_action": selected, "name": "", **confirm}
    )


def test_merging_three_tags_keeps_one_that_each_post_carries_once(admin_client, client):
    both = make_post(title="両方の記事", tags=["GPU", "グラボ"])
    make_post(tags=["グラボ"])
    make_post(tags=["Graphics Card"])
    make_post(tags=["GPU", "速報"])
    Redirect.add("/tags/video-card/", "/tags/gpu/")
    gpu, graphics_card = tag("GPU"), tag("Graphics Card")
    chosen = [gpu, tag("グラボ"), graphics_card]

    confirmation = merge_action(admin_client, chosen)
    html = confirmation.content.decode()
    assert confirmation.status_code == 200
    assert all(f">{term.name}</label>" in html for term in chosen)
    assert re.search(rf'value="{gpu.pk}"[^>]* checked', html)  # the most used, to begin with

    response = merge_action(admin_client, chosen, survivor=graphics_card.pk)

    assert response.status_code == 302
    assert list(Tag.objects.order_by("name").values_list("name", flat=True)) == ["Graphics Card", "速報"]
    assert tag_names(both) == ["Graphics Card"]
    assert Post.tags.through.objects.filter(post=both).count() == 1
    assert listed(admin_client.get("/admin/posts/tag/").content.decode()) == {"Graphics Card": 4, "速報": 1}
    for old, new in [
        ("/tags/gpu/", "/tags/graphics-card/"),
        ("/tags/グラボ/index.xml", "/tags/graphics-card/index.xml"),
        ("/tags/video-card/", "/tags/graphics-card/"),
    ]:
        response = client.get(old)
        assert (response.status_code, location(response)) == (301, new)
    assert Redirect.objects.get(old_path="/tags/video-card/").new_path == "/tags/graphics-card/"
    logged = set(LogEntry.objects.values_list("action_flag", "object_repr"))
    assert logged == {(DELETION, "GPU"), (DELETION, "グラボ"), (CHANGE, "Graphics Card")}


def test_a_merge_can_give_the_survivor_a_new_name(admin_client, client):
    make_post(tags=["LLM", "大規模言語モデル"])
    llm = tag("LLM")

    merge_action(admin_client, [llm, tag("大規模言語モデル")], survivor=llm.pk, name="大規模言語モデル (LLM)")

    assert list(Tag.objects.values_list("name", "slug")) == [("大規模言語モデル (LLM)", "大規模言語モデル-llm")]
    for old in ["/tags/llm/", "/tags/大規模言語モデル/"]:
        assert location(client.get(old)) == "/tags/大規模言語モデル-llm/"


def test_a_merge_can_give_the_survivor_the_name_of_a_tag_it_absorbs(admin_client, client):
    make_post(tags=["RTX4090"])
    make_post(tags=["RTX4090", "RTX 4090"])
    keep, other = tag("RTX4090"), tag("RTX 4090")

    admin_client.post(
        "/admin/posts/tag/duplicates/", {"merging": [keep.pk, other.pk], "survivor": keep.pk, "name": "RTX 4090"}
    )

    assert list(Tag.objects.values_list("pk", "name", "slug")) == [(keep.pk, "RTX 4090", "rtx-4090")]
    assert client.get("/tags/rtx-4090/").status_code == 200
    assert location(client.get("/tags/rtx4090/index.xml")) == "/tags/rtx-4090/index.xml"
    assert not Redirect.objects.filter(old_path__startswith="/tags/rtx-4090/").exists()


def test_a_merge_refuses_a_new_name_another_tag_has_and_changes_nothing(admin_client):
    make_post(tags=["GPU", "グラボ", "NVIDIA"])
    gpu = tag("GPU")

    response = merge_action(admin_client, [gpu, tag("グラボ")], survivor=gpu.pk, name="nvidia")

    assert response.status_code == 200
    assert "NVIDIA" in re.search(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S).group(1)
    assert Tag.objects.count() == 3
    assert not Redirect.objects.exists()


def test_merging_needs_two_tags(admin_client):
    make_post(tags=["GPU"])

    response = merge_action(admin_client, [tag("GPU")])

    assert response.status_code == 302
    assert Tag.objects.count() == 1


# Possible duplicates

DUPLICATES = [["RTX 4090", "RTX4090"], ["Llama.cpp使い方", "llama.cpp 使い方"], ["AI", "ＡＩ"], ["Claude_Code", "claude-code"]]


def test_the_duplicates_page_groups_names_that_differ_in_case_width_spaces_hyphens_or_underscores(admin_client):
    for names in DUPLICATES:
        for name in names:
            Tag.objects.create(name=name)
    for name in ["RTX 3090", "Llama", "AI News", "生成AI", "Claude"]:
        Tag.objects.create(name=name)
    make_post(tags=["ＡＩ"])
    make_post(tags=["ＡＩ", "RTX 4090"])
    make_post(tags=["RTX4090"])
    make_post(tags=["RTX4090"], status=Post.Status.DRAFT)

    response = admin_client.get("/admin/posts/tag/duplicates/")

    assert response.status_code == 200
    groups = duplicate_groups(response.content.decode())
    assert sorted(names for names, _keep in groups) == sorted(sorted(names) for names in DUPLICATES)
    keep = {tuple(names): checked for names, checked in groups}
    assert keep[("AI", "ＡＩ")] == "ＡＩ"
    assert keep[("RTX 4090", "RTX4090")] == "RTX4090"  # drafts count: they are merged too


def test_a_group_on_the_duplicates_page_merges_into_the_one_chosen(admin_client, client):
    make_post(tags=["Llama.cpp使い方"])
    make_post(tags=["Llama.cpp使い方", "llama.cpp 使い方"])
    make_post(tags=["llama.cpp 使い方"])
    Tag.objects.create(name="RTX4090")
    Tag.objects.create(name="RTX 4090")
    chosen, other = tag("llama.cpp 使い方"), tag("Llama.cpp使い方")

    response = admin_client.post(
        "/admin/posts/tag/duplicates/", {"merging": [chosen.pk, other.pk], "survivor": chosen.pk, "name": ""}
    )

    assert (response.status_code, response["Location"]) == (302, "/admin/posts/tag/duplicates/")
    assert listed(admin_client.get("/admin/posts/tag/").content.decode())["llama.cpp 使い方"] == 3
    assert not Tag.objects.filter(pk=other.pk).exists()
    assert location(client.get("/tags/llama.cpp使い方/")) == "/tags/llama.cpp-使い方/"
    groups = duplicate_groups(admin_client.get("/admin/posts/tag/duplicates/").content.decode())
    assert [names for names, _keep in groups] == [["RTX 4090", "RTX4090"]]


def test_the_duplicates_page_costs_the_same_queries_for_5000_tags(admin_client):
    def page():
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get("/admin/posts/tag/duplicates/")
        assert response.status_code == 200
        return len(queries), response.content.decode()

    Tag.objects.bulk_create([Tag(name="RTX4090", slug="rtx4090"), Tag(name="RTX 4090", slug="rtx-4090")])
    page()  # the site's settings and page versions, read once and then cached
    few_queries, _html = page()

    names = [f"タグ{number}" for number in range(4800)]
    names += [f"Model {number}" for number in range(100)] + [f"model-{number}" for number in range(98)]
    Tag.objects.bulk_create([Tag(name=name, slug=f"t-{number}") for number, name in enumerate(names)])
    posts = Post.objects.bulk_create([Post(title=f"記事{number}", slug=f"post-{number}") for number in range(20)])
    tag_ids = list(Tag.objects.values_list("pk", flat=True))
    Post.tags.through.objects.bulk_create(
        [Post.tags.through(post=post, tag_id=tag_id) for post in posts for tag_id in tag_ids[:: 7 + post.pk % 5]]
    )
    many_queries, html = page()

    assert Tag.objects.count() == 5000
    assert many_queries == few_queries
    assert html.count('class="module kiji-duplicates"') == 99


# Unused terms and counts


def test_deleting_unused_tags_keeps_those_that_posts_carry(admin_client):
    make_post(tags=["使用中"])
    make_post(tags=["下書きだけ"], status=Post.Status.DRAFT)
    for name in ["未使用1", "未使用2", "未使用3"]:
        Tag.objects.create(name=name)

    response = admin_client.post(
        "/admin/posts/tag/",
        {
            "action": "delete_unused",
            "select_across": "0",
            "index": "0",
            "_selected_action": list(Tag.objects.values_list("pk", flat=True)),
        },
    )

    assert response.status_code == 302
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["下書きだけ", "使用中"]
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 3
    [message] = messages_of(response)
    assert "3" in message and "2" in message


@pytest.mark.parametrize(
    ("query", "names"),
    [("posts=0", {"未使用"}), ("posts=1", {"一回", "下書き"}), ("posts=2-9", {"三回"}), ("posts=10-", {"十二回"})],
)
def test_the_tag_list_filters_by_post_count(admin_client, query, names):
    Tag.objects.create(name="未使用")
    make_post(tags=["一回", "三回", "十二回"])
    make_post(tags=["下書き"], status=Post.Status.DRAFT)
    for number in range(2):
        make_post(tags=["三回", "十二回"])
    for number in range(9):
        make_post(tags=["十二回"])

    html = admin_client.get(f"/admin/posts/tag/?{query}").content.decode()

    assert set(listed(html)) == names


def test_the_tag_list_costs_the_same_queries_for_many_tags(admin_client):
    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    make_post(tags=["GPU", "速報"])
    few = [queries("/admin/posts/tag/"), queries("/admin/posts/tag/?posts=1&o=3")]
    Tag.objects.bulk_create([Tag(name=f"タグ{number}", slug=f"タグ{number}") for number in range(300)])
    make_post(tags=[f"タグ{number}" for number in range(50)])

    assert [queries("/admin/posts/tag/"), queries("/admin/posts/tag/?posts=1&o=3")] == few


# Who may tidy


def test_admins_see_the_tools_on_the_tag_and_category_lists(admin_client):
    make_post(tags=["GPU"], categories=["AI News"])
    for url in ["/admin/posts/tag/", "/admin/posts/category/"]:
        html = admin_client.get(url).content.decode()
        assert f'href="{url}duplicates/"' in html
        assert 'value="merge_selected"' in html and 'value="delete_unused"' in html
    assert admin_client.get("/admin/posts/category/duplicates/").status_code == 200


@pytest.mark.parametrize("group", ["Writer", "Editor"])
def test_writers_and_editors_cannot_see_or_use_the_tools(group, django_user_model):
    member = client_in_group(django_user_model, group)
    make_post(tags=["GPU", "グラボ"])
    selected = [tag("GPU").pk, tag("グラボ").pk, Tag.objects.create(name="未使用").pk]

    html = member.get("/admin/posts/tag/").content.decode()
    assert "GPU" in html
    assert "duplicates/" not in html and "merge_selected" not in html and "delete_unused" not in html
    assert member.get("/admin/posts/tag/duplicates/").status_code == 403
    merge = {"merging": selected[:2], "survivor": selected[0], "name": ""}
    assert member.post("/admin/posts/tag/duplicates/", merge).status_code == 403
    member.post(
        "/admin/posts/tag/", {"action": "merge_selected", "_selected_action": selected, "survivor": selected[0]}
    )
    member.post("/admin/posts/tag/", {"action": "delete_unused", "index": "0", "_selected_action": selected})
    assert Tag.objects.count() == 3
    assert not Redirect.objects.exists()


def _titles(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return re.findall(r'class="card__title"><a href="[^"]*">([^<]*)</a>', response.content.decode())


@pytest.mark.parametrize("row_cost", [0, 10**9], ids=["joined", "walked"])
def test_a_tag_page_lists_the_posts_readers_may_see_newest_first_either_way_it_is_read(client, settings, monkeypatch, row_cost):
    # A tag on many of the posts is read by walking the newest posts, one on few by
    # joining its own (ROW_COST weighs them): each way must give every page exactly
    # the posts readers may see, newest first.
    monkeypatch.setattr(views, "ROW_COST", row_cost)
    settings.KIJI_POSTS_PER_PAGE = 3
    now = timezone.now()
    expected = {"common": [], "rare": []}
    for number in range(14):
        tags = ["common"] + (["rare"] if number in (0, 3, 6, 10) else [])
        title, published_at, status = f"投稿{number:02d}", now - timezone.timedelta(hours=number), Post.Status.PUBLISHED
        if number % 5 == 1:
            status = Post.Status.DRAFT
        elif number % 5 == 3:
            published_at = now + timezone.timedelta(days=1)  # scheduled
        make_post(title=title, tags=tags, status=status, published_at=published_at)
        if number % 5 not in (1, 3):
            for tag in tags:
                expected[tag].append(title)
    make_post(title="タグなし", published_at=now)

    for slug, titles in expected.items():
        pages = [titles[start : start + 3] for start in range(0, len(titles), 3)]
        for number, page in enumerate(pages, start=1):
            url = f"/tags/{slug}/" if number == 1 else f"/tags/{slug}/page/{number}/"
            assert _titles(client, url) == page, url
        assert client.get(f"/tags/{slug}/page/{len(pages) + 1}/").status_code == 404
