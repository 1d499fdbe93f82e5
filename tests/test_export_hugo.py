import shutil

import pytest
import yaml

from posts.models import AffiliateBox, Category, Post, Product, Redirect, Tag
from tests.conftest import run_command, run_failing_command

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


@pytest.fixture
def imported(hugo_site, affiliate_settings):
    run_command("import_hugo", hugo_site)


def front_matter(path):
    _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(front), body


def site_state():
    """Everything a reader or an editor sees of each post, by slug, and the redirects."""
    posts = {}
    for post in Post.objects.prefetch_related("categories", "tags", "affiliate_boxes"):
        cover = b""
        if post.cover:
            with post.cover.open("rb") as stored:
                cover = stored.read()
        posts[post.slug] = {
            "title": post.title,
            "status": post.status,
            "published_at": post.published_at,
            "updated_at": post.updated_at,
            "expires_at": post.expires_at,
            "description": post.description,
            "body_html": post.body_html,
            "summary": post.summary,
            "categories": sorted(category.name for category in post.categories.all()),
            "tags": sorted(tag.name for tag in post.tags.all()),
            "boxes": [
                (box.keyword, box.product_name, box.reason, box.placement, box.position)
                for box in post.affiliate_boxes.all()
            ],
            "cover_alt": post.cover_alt,
            "cover": cover,
        }
    return {"posts": posts, "redirects": set(Redirect.objects.values_list("old_path", "new_path"))}


def test_export_refuses_a_folder_that_is_not_empty(tmp_path, imported):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "memo.txt").write_text("前回のバックアップ", encoding="utf-8")

    _, error = run_failing_command("export_hugo", backup)

    assert str(backup) in error and "empty" in error
    assert [path.name for path in backup.iterdir()] == ["memo.txt"]


def test_export_writes_one_file_per_post_with_its_cover(tmp_path, imported):
    backup = tmp_path / "backup"

    output = run_command("export_hugo", backup)

    assert "11" in output
    written = {path.stem for path in (backup / "content" / "posts").glob("*.md")}
    assert written == set(Post.objects.values_list("slug", flat=True))
    front, body = front_matter(backup / "content/posts/local-llm-gpu-guide.md")
    assert front["title"] == "手元のGPUでローカルLLMを動かすまでの記録"
    assert front["cover"]["alt"] == "机の上のグラフィックボード"
    assert (backup / "static" / front["cover"]["image"].lstrip("/")).is_file()
    assert body == Post.objects.get(slug="local-llm-gpu-guide").body
    assert (backup / "hugo.toml").is_file()


def test_the_export_keeps_box_markers_in_bodies_and_the_products_as_site_data(tmp_path, imported):
    Post.objects.get(slug="aws-cert-study").affiliate_boxes.create(keyword="AWS 本", placement="end")
    run_command("export_hugo", tmp_path / "backup")

    front, body = front_matter(tmp_path / "backup/content/posts/aws-cert-study.md")
    products = yaml.safe_load((tmp_path / "backup/data/products.yaml").read_text(encoding="utf-8"))

    assert front["affiliate"] == [{"keyword": "AWS 本", "placement": "end"}]
    assert "{{< product aws認定クラウドプラクティショナー模擬問題集 >}}" in body
    assert '{{< affiliate "AWS ハンズオン" >}}' in body
    assert {
        "slug": "aws認定クラウドプラクティショナー模擬問題集",
        "name": "AWS認定クラウドプラクティショナー模擬問題集",
        "keyword": "AWS クラウドプラクティショナー 問題集",
        "reason": "本番に近い形式で弱点を洗い出せる",
    } in products
    assert "rakuten" not in body


def test_an_export_imports_into_an_empty_database_as_the_same_site(
    client, tmp_path, imported, media_root
):
    before = site_state()
    run_command("export_hugo", tmp_path / "backup")
    for model in (Post, AffiliateBox, Product, Category, Tag, Redirect):
        model.objects.all().delete()
    shutil.rmtree(media_root)

    output = run_command("import_hugo", tmp_path / "backup")

    assert "created 11, updated 0, unchanged 0," in output and "failed 0." in output
    after = site_state()
    assert after["posts"].keys() == before["posts"].keys()
    for slug, post in before["posts"].items():
        assert after["posts"][slug] == post, slug
    assert after["redirects"] == before["redirects"]
    assert "AWS認定クラウドプラクティショナー模擬問題集" in client.get("/posts/aws-cert-study/").content.decode()
    assert client.get("/weekly/2025-02-17/")["Location"] == "/posts/genai-weekly-roundup/"


def test_term_descriptions_survive_the_round_trip(tmp_path, imported):
    Category.objects.filter(slug="ai-news").update(description="AI業界の動きを毎日まとめます。")
    Tag.objects.filter(slug="genai").update(description="生成AIに関する記事")
    run_command("export_hugo", tmp_path / "backup")
    assert (tmp_path / "backup" / "content" / "categories" / "ai-news" / "_index.md").is_file()

    Post.objects.all().delete()
    Category.objects.all().delete()
    Tag.objects.all().delete()
    run_command("import_hugo", tmp_path / "backup")

    assert Category.objects.get(slug="ai-news").description == "AI業界の動きを毎日まとめます。"
    assert Tag.objects.get(slug="genai").description == "生成AIに関する記事"
    assert Post.objects.filter(categories__slug="ai-news").exists()
