"""Kiji's posts written out as a Hugo site: the backup format, which `import_hugo`
reads back with the same URLs."""

import json
from pathlib import Path
from urllib.parse import unquote

import yaml
from django.conf import settings
from django.utils import timezone

from ..models import Category, Post, Product, Redirect, SiteSettings, Tag
from .frontmatter import AFFILIATE_KEY, PRODUCTS_FILE

def export_site(out_dir):
    """Write every post as a Hugo site under `out_dir`; return how many posts."""
    out_dir = Path(out_dir)
    posts_dir = out_dir / "content" / "posts"
    posts_dir.mkdir(parents=True, exist_ok=True)
    aliases = {}
    for old, new in Redirect.objects.values_list("old_path", "new_path"):
        aliases.setdefault(new, []).append(old)
    site = SiteSettings.load()
    (out_dir / "hugo.toml").write_text(
        f'title = {json.dumps(site.title, ensure_ascii=False)}\n'
        f'languageCode = "{settings.LANGUAGE_CODE}"\n'
        f'timeZone = "{settings.TIME_ZONE}"\n',
        encoding="utf-8",
    )
    count = 0
    posts = Post.objects.select_related("author").prefetch_related("categories", "tags", "affiliate_boxes__product")
    for post in posts.iterator(chunk_size=200):
        front = _front_matter(post, aliases.get(unquote(post.get_absolute_url()), []))
        if post.cover:
            front["cover"]["image"] = "/" + _export_cover(post.cover, out_dir / "static")
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000) + "---\n" + post.body
        (posts_dir / f"{post.slug}.md").write_text(text, encoding="utf-8")
        count += 1
    _export_products(out_dir)
    for model, section in ((Category, "categories"), (Tag, "tags")):
        for term in model.objects.exclude(description=""):
            folder = out_dir / "content" / section / term.slug
            folder.mkdir(parents=True, exist_ok=True)
            front = {"title": term.name, "description": term.description}
            (folder / "_index.md").write_text(
                "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n", encoding="utf-8"
            )
    return count


def _front_matter(post, aliases):
    tz = timezone.get_current_timezone()
    front = {
        "title": post.title,
        "date": post.published_at.astimezone(tz).isoformat(),
        "lastmod": post.updated_at.astimezone(tz).isoformat(),
        "slug": post.slug,
    }
    if post.description:
        front["description"] = post.description
    if post.status != Post.Status.PUBLISHED:
        front["draft"] = True
    if post.expires_at:
        front["expiryDate"] = post.expires_at.astimezone(tz).isoformat()
    if post.author:
        front["author"] = post.author.get_username()
    front["categories"] = [category.name for category in post.categories.all()]
    front["tags"] = [tag.name for tag in post.tags.all()]
    front["cover"] = {"image": "", "alt": post.cover_alt}
    if aliases:
        front["aliases"] = sorted(aliases)
    boxes = [
        {
            key: value
            for key, value in [
                ("keyword", box.keyword), ("product", box.product.slug if box.product else ""),
                ("product_name", box.product_name), ("reason", box.reason), ("placement", box.placement),
            ]
            if value
        }
        for box in post.affiliate_boxes.all()
    ]  # fmt: skip
    if boxes:
        front[AFFILIATE_KEY] = boxes
    return front


def _export_products(out_dir):
    """The product registry as Hugo site data (data/products.yaml), which the import
    reads back; images beside the covers."""
    products = []
    for product in Product.objects.select_related("image"):
        entry = {
            "slug": product.slug, "name": product.name, "keyword": product.keyword, "reason": product.reason,
            "asin": product.asin, "rakuten_url": product.rakuten_url, "yahoo_url": product.yahoo_url,
        }  # fmt: skip
        if product.image:
            entry["image"] = "/" + _export_cover(product.image.file, out_dir / "static")
            entry["image_alt"] = product.image_alt
        products.append({key: value for key, value in entry.items() if value})
    if products:
        (out_dir / "data").mkdir(exist_ok=True)
        (out_dir / PRODUCTS_FILE).write_text(
            yaml.safe_dump(products, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8"
        )


def _export_cover(cover, static_dir):
    """Copy a stored cover under static/images/ by its stored name (once for posts that
    share it); its path as front matter gives it."""
    relative = f"images/{cover.name}"
    target = static_dir / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with cover.open("rb") as source, target.open("wb") as out:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                out.write(chunk)
    return relative
