"""What `import_hugo` takes from a site besides its posts: the product registry of an
export (data/products.yaml), the term pages' descriptions, and the site and affiliate
settings still empty in Kiji. A part of HugoImporter (its `warn`, `report`,
`site_dir` and media helpers), kept apart from the per-file import."""

import logging
import re

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import AffiliateSettings, Category, Product, SiteSettings, Tag
from ..slugs import urlize
from . import covers
from .frontmatter import PRODUCTS_FILE, _YamlLoader, Meta, SourceError, decode, split_front_matter

logger = logging.getLogger(__name__)


class SiteExtras:
    # The product registry (an export's data/products.yaml)

    def _import_products(self):
        """Products from the site's data/products.yaml that the registry lacks; their
        images through the upload pipeline."""
        path = self.site_dir / PRODUCTS_FILE
        if not path.is_file():
            return
        try:
            entries = yaml.load(decode(path.read_bytes()), Loader=_YamlLoader) or []
            if not isinstance(entries, list):
                raise SourceError("is not a list of products")
        except (SourceError, yaml.YAMLError, ValueError) as error:
            self.warn(PRODUCTS_FILE, f"cannot be read ({error})", "no products imported")
            return
        fields = ("name", "keyword", "reason", "asin", "rakuten_url", "yahoo_url", "image_alt")
        for number, entry in enumerate(entries, 1):
            where = f"{PRODUCTS_FILE} product {number}"
            if not isinstance(entry, dict) or not str(entry.get("slug") or "").strip():
                self.warn(where, "has no slug", "skipped")
                continue
            slug = str(entry["slug"]).strip()
            if Product.objects.filter(slug=slug).exists():
                continue
            product = Product(slug=slug, **{name: str(entry.get(name) or "") for name in fields})
            try:
                product.full_clean(exclude=["image"])
                with transaction.atomic():
                    product.image = self._product_image(entry, where)
                    product.save()
            except ValidationError as error:
                self.warn(where, "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items()), "skipped")

    def _product_image(self, entry, where):
        ref = str(entry.get("image") or "").strip()
        if not ref:
            return None
        try:
            cover = covers.locate(ref, site_dir=self.site_dir, source_path=self.site_dir / PRODUCTS_FILE, base_host=self.base_host)
            if cover.is_remote:
                raise SourceError("is on another site")
            key = covers.digest(cover.path.read_bytes())
            known = self._known_media(key)
            if known is not None:
                return known
            prepared = covers.prepare_path(cover.path)
            if isinstance(prepared, SourceError):
                raise prepared
        except (SourceError, OSError) as error:
            self.warn(where, f"image {ref}: {error}", "imported without an image")
            return None
        return self._keep(prepared, key, ref, cover.path.name, [], [])

    # Term pages and settings

    def _import_term_pages(self):
        """Descriptions from content/categories/<slug>/_index.md and content/tags/…."""
        for model, section in ((Category, "categories"), (Tag, "tags")):
            for path in sorted((self.site_dir / "content" / section).glob("*/_index.md")):
                key = self._key(path)
                try:
                    data, _body = split_front_matter(decode(path.read_bytes()))
                    meta = Meta(data)
                    name = " ".join(meta.text("title").split())
                    description = meta.text("description")
                    with transaction.atomic():
                        term = model.objects.filter(slug=urlize(path.parent.name)).first()
                        if term is None and name:
                            term = model.objects.get_or_create_by_name(name)
                        if term is not None and description and term.description != description:
                            term.description = description
                            term.save()
                except (SourceError, OSError, ValidationError) as error:
                    self.warn(key, error, "ignored")
                except Exception as error:
                    logger.debug("%s could not be imported", key, exc_info=True)
                    self.warn(key, f"unexpected error ({type(error).__name__}: {error})", "ignored")

    def _bootstrap_settings(self, config, sources):
        """Fill site and affiliate settings that are still empty from the old site."""
        site = SiteSettings.load()
        if site.title == SiteSettings._meta.get_field("title").default and config.get("title"):
            params = config.get("params") or {}
            site.title = str(config["title"])[:200]
            site.description = str(params.get("description") or site.description)
            site.save()
            self.report(f"site settings: title set to “{site.title}” from the site config")
        affiliate = AffiliateSettings.load()
        if affiliate.amazon_tag or affiliate.rakuten_id:
            return
        tags, ids = {}, {}
        for source in sources:
            if not source.changed:
                continue
            raw = source.path.read_text(encoding="utf-8", errors="replace")
            for tag in re.findall(r"amazon\.co\.jp/[^\s\"')]*[?&]tag=([\w-]+)", raw):
                tags[tag] = tags.get(tag, 0) + 1
            for rakuten_id in re.findall(r"hb\.afl\.rakuten\.co\.jp/hgc/([\w.]+)/", raw):
                ids[rakuten_id] = ids.get(rakuten_id, 0) + 1
        if tags or ids:
            affiliate.amazon_tag = max(tags, key=tags.get)[:100] if tags else ""
            affiliate.rakuten_id = max(ids, key=ids.get)[:100] if ids else ""
            affiliate.save()
            self.report(
                f"affiliate settings: Amazon tag “{affiliate.amazon_tag}” and Rakuten id "
                f"“{affiliate.rakuten_id}” taken from the posts' links"
            )
