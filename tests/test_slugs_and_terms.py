import re
from urllib.parse import unquote

import pytest
from django.utils import timezone

from posts.models import Category, Post, Tag
from tests.conftest import make_post

pytestmark = pytest.mark.django_db


def cards(response):
    return response.content.decode().count('<article class="card">')


def term_counts(html):
    """{term name: count shown} from a /categories/ or /tags/ page."""
    return {
        name.strip(): int(count)
        for name, count in re.findall(
            r'<a href="[^"]*">([^<]*)<span class="terms__count">(\d+)</span></a>', html
        )
    }


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("AI News", "ai-news"),
        ("RTX 4090", "rtx-4090"),
        ("速報", "速報"),
        ("llama.cpp 使い方", "llama.cpp-使い方"),
    ],
)
@pytest.mark.parametrize("model", [Category, Tag])
def test_a_term_created_with_only_a_name_gets_hugos_urlize_slug(model, name, slug):
    term = model.objects.create(name=name)
    assert model.objects.get(pk=term.pk).slug == slug


def test_names_that_differ_only_in_case_are_one_tag():
    genai = Tag.objects.create(name="GenAI")
    assert Tag.objects.get_or_create_by_name("genai") == genai
    assert Tag.objects.get_or_create_by_name("GENAI") == genai
    assert Tag.objects.count() == 1


def test_get_or_create_by_name_creates_a_missing_term_with_its_slug():
    tag = Tag.objects.get_or_create_by_name("Claude Code")
    assert (tag.name, tag.slug) == ("Claude Code", "claude-code")
    assert Tag.objects.get_or_create_by_name("Claude Code") == tag


def test_the_tag_add_form_refuses_a_name_that_differs_only_in_case(admin_client):
    Tag.objects.create(name="GenAI")
    response = admin_client.post("/admin/posts/tag/add/", {"name": "genai", "slug": "", "description": ""})
    assert response.status_code == 200
    errors = " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S))
    assert "GenAI" in errors
    assert list(Tag.objects.values_list("name", flat=True)) == ["GenAI"]


def test_a_tag_page_with_a_unicode_slug_lists_only_published_posts(client):
    make_post(title="公開済みの記事", tags=["速報"])
    make_post(title="下書きの記事", tags=["速報"], status=Post.Status.DRAFT)
    make_post(title="予約の記事", tags=["速報"], published_at=timezone.now() + timezone.timedelta(days=1))
    make_post(title="別タグの記事", tags=["雑談"])

    response = client.get("/tags/速報/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "公開済みの記事" in html
    for title in ["下書きの記事", "予約の記事", "別タグの記事"]:
        assert title not in html
    encoded = client.get("/tags/%E9%80%9F%E5%A0%B1/")
    assert encoded.status_code == 200 and "公開済みの記事" in encoded.content.decode()


def test_a_category_page_lists_only_published_posts(client):
    make_post(title="公開済みの記事", categories=["AI News"])
    make_post(title="下書きの記事", categories=["AI News"], status=Post.Status.DRAFT)
    make_post(title="予約の記事", categories=["AI News"], published_at=timezone.now() + timezone.timedelta(days=1))

    response = client.get("/categories/ai-news/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "公開済みの記事" in html
    assert "下書きの記事" not in html
    assert "予約の記事" not in html


def test_an_unknown_term_is_not_found(client):
    assert client.get("/tags/存在しない/").status_code == 404
    assert client.get("/categories/nothing-here/").status_code == 404


def test_a_term_page_paginates_under_page_n(client, settings):
    assert settings.KIJI_POSTS_PER_PAGE == 10
    now = timezone.now()
    for number in range(12):
        make_post(title=f"記事{number:02d}", tags=["速報"], published_at=now - timezone.timedelta(hours=number))

    first = client.get("/tags/速報/")
    second = client.get("/tags/速報/page/2/")

    assert cards(first) == 10
    assert second.status_code == 200
    assert cards(second) == 2
    assert "記事10" in second.content.decode() and "記事11" in second.content.decode()
    assert "記事10" not in first.content.decode()
    assert "/page/2/" in unquote(first.content.decode())


def test_a_category_page_paginates_too(client):
    for number in range(11):
        make_post(categories=["AI News"])
    assert cards(client.get("/categories/ai-news/")) == 10
    assert cards(client.get("/categories/ai-news/page/2/")) == 1


def test_page_one_of_a_term_redirects_permanently_to_the_term_page(client):
    make_post(tags=["速報"], categories=["AI News"])

    tag = client.get("/tags/速報/page/1/")
    category = client.get("/categories/ai-news/page/1/")

    assert tag.status_code == 301
    assert unquote(tag["Location"]) == "/tags/速報/"
    assert category.status_code == 301
    assert category["Location"] == "/categories/ai-news/"


def test_a_term_page_beyond_the_last_is_not_found(client):
    for number in range(3):
        make_post(tags=["速報"])
    assert client.get("/tags/速報/page/2/").status_code == 404
    assert client.get("/tags/速報/page/0/").status_code == 404


def test_the_term_lists_count_published_posts_only(client):
    for number in range(2):
        make_post(tags=["速報"], categories=["AI News"])
    make_post(tags=["速報", "GPU"], categories=["AI News", "ハードウェア"])
    make_post(tags=["速報", "GPU"], categories=["AI News"], status=Post.Status.DRAFT)
    make_post(
        tags=["速報", "GPU"],
        categories=["AI News"],
        published_at=timezone.now() + timezone.timedelta(days=1),
    )
    make_post(tags=["下書きだけ"], categories=["予約だけ"], status=Post.Status.DRAFT)

    tags = term_counts(client.get("/tags/").content.decode())
    categories = term_counts(client.get("/categories/").content.decode())

    assert tags == {"速報": 3, "GPU": 1}
    assert categories == {"AI News": 3, "ハードウェア": 1}
