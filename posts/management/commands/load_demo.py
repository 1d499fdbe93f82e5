"""Load the demo posts in posts/demo, so that a fresh checkout has a site to look at."""

import colorsys
import hashlib
import io
import random
import re
import secrets
from datetime import date, datetime, time
from pathlib import Path

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageChops, ImageDraw

from posts.models import AffiliateBox, AffiliateSettings, Category, Post, SiteSettings, Tag

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo" / "content" / "posts"
DEMO_AMAZON_TAG = "kiji-demo-22"
DEMO_RAKUTEN_ID = "0000demo.0000demo.0000demo.00000000"
DEMO_SITE = {
    "title": "Kiji デモブログ",
    "tagline": "ローカルLLM、GPU、AIツールの最新情報をわかりやすく",
    "description": "Kiji の動作確認用のデモサイトです。記事はサンプルで、製品名や数値には架空のものを含みます。",
}
ADMIN_USERNAME = "admin"
COVER_SIZE = (1200, 630)

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)", re.DOTALL)


class DemoError(Exception):
    """A demo file that cannot be loaded; the message says what is wrong."""


class Command(BaseCommand):
    help = (
        "Load the demo posts (posts whose slug exists are left alone), fill in demo "
        "affiliate and site settings, and give the superuser “admin” a new password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-admin", action="store_true", help="Leave users and passwords alone."
        )

    def handle(self, *args, no_admin=False, verbosity=1, **options):
        paths = sorted(DEMO_DIR.glob("*.md"))
        if not paths:
            raise CommandError(f"No demo posts in {DEMO_DIR}.")
        created = kept = failed = 0
        for path in paths:
            try:
                meta, body = read_demo_file(path)
                slug = str(meta.get("slug") or path.stem)
                if Post.objects.filter(slug=slug).exists():
                    kept += 1
                    if verbosity >= 2:
                        self.stdout.write(f"{path.name}: /posts/{slug}/ exists: left alone")
                    continue
                create_post(slug, meta, body)
            except DemoError as error:
                failed += 1
                self.stderr.write(f"{path.name}: {error}: skipped")
            else:
                created += 1
                if verbosity >= 2:
                    self.stdout.write(f"{path.name}: created /posts/{slug}/")
        fill_demo_settings()
        if verbosity >= 1:
            self.stdout.write(
                f"Demo posts: {created} created, {kept} already there and left alone"
                + (f", {failed} skipped because of errors." if failed else ".")
            )
        lines = ["Kiji is ready: http://127.0.0.1:8000/"]
        if not no_admin:
            lines += [
                "Admin:         http://127.0.0.1:8000/admin/",
                f"  user:        {ADMIN_USERNAME}",
                f"  password:    {reset_admin_password()}",
            ]
        # Shown even at --verbosity 0 when the password changed: one that nobody sees
        # would lock the owner out.
        if verbosity >= 1 or not no_admin:
            self.stdout.write("\n".join(lines))
        if failed:
            raise CommandError(
                f"{failed} demo file(s) could not be loaded; see the messages above."
            )


def read_demo_file(path):
    """The front matter (a dict) and the Markdown body of a Hugo content file."""
    match = _FRONT_MATTER_RE.match(path.read_text(encoding="utf-8"))
    if match is None:
        raise DemoError("no front matter between '---' lines")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" on its line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or error
        raise DemoError(f"front matter is not valid YAML{where} ({problem})")
    if not isinstance(meta, dict):
        raise DemoError("front matter is not a mapping")
    if not str(meta.get("title") or "").strip():
        raise DemoError("front matter has no title")
    return meta, match.group(2).lstrip("\n")


def create_post(slug, meta, body):
    """Save a published post from front matter, with its terms, boxes and a generated cover."""
    published_at = _datetime(meta.get("date"), "date")
    cover = meta.get("cover") if isinstance(meta.get("cover"), dict) else {}
    post = Post(
        title=str(meta["title"]).strip(),
        slug=slug,
        body=body,
        description=str(meta.get("description") or "").strip(),
        cover_alt=str(cover.get("alt") or ""),
        status=Post.Status.PUBLISHED,
        published_at=published_at,
        updated_at=_datetime(meta["lastmod"], "lastmod") if meta.get("lastmod") else published_at,
    )
    boxes = [_affiliate_box(index, item) for index, item in enumerate(meta.get("affiliate") or [])]
    try:
        post.full_clean()
    except ValidationError as error:
        raise DemoError(_describe(error))
    for number, box in enumerate(boxes, 1):
        try:
            box.full_clean(exclude=["post"])
        except ValidationError as error:
            raise DemoError(f"affiliate box {number}: {_describe(error)}")
    post.cover.save(f"{slug}.png", ContentFile(cover_png(slug)), save=False)
    with transaction.atomic():
        # touch=False: the demo should look as if each post was last edited when published.
        post.save(touch=False)
        post.categories.set(
            Category.objects.get_or_create_by_name(name) for name in _names(meta, "categories")
        )
        post.tags.set(Tag.objects.get_or_create_by_name(name) for name in _names(meta, "tags"))
        for box in boxes:
            box.post = post
        AffiliateBox.objects.bulk_create(boxes)
    return post


def _affiliate_box(index, item):
    if not isinstance(item, dict):
        raise DemoError(f"affiliate box {index + 1} is not a mapping")
    return AffiliateBox(
        keyword=str(item.get("keyword") or "").strip(),
        product_name=str(item.get("product_name") or "").strip(),
        reason=str(item.get("reason") or "").strip(),
        placement=str(item.get("placement") or AffiliateBox.Placement.SUMMARY),
        position=index,
    )


def _datetime(value, field):
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise DemoError(f"{field} {value!r} is not an ISO date")
    if not isinstance(value, datetime):
        raise DemoError(f"{field} is missing or is not a date")
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def _names(meta, key):
    value = meta.get(key) or []
    if isinstance(value, str):
        value = [value]
    return [str(name) for name in value if str(name).strip()]


def _describe(error):
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


def cover_png(slug):
    """A 1200×630 PNG: a diagonal gradient and a few shapes, in colours chosen by the slug."""
    rng = random.Random(hashlib.sha256(slug.encode()).digest())
    hue = rng.random()
    start = _rgb(hue, lightness=0.28, saturation=0.65)
    end = _rgb((hue + 0.12) % 1, lightness=0.58, saturation=0.70)
    across = Image.linear_gradient("L").rotate(90).resize(COVER_SIZE)
    down = Image.linear_gradient("L").resize(COVER_SIZE)
    image = Image.composite(
        Image.new("RGBA", COVER_SIZE, end),
        Image.new("RGBA", COVER_SIZE, start),
        ImageChops.add(across, down, scale=2),
    )
    overlay = Image.new("RGBA", COVER_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width, height = COVER_SIZE
    for _ in range(3):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(80, 260)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, rng.randrange(25, 60)))
    for _ in range(2):
        x, y = rng.randrange(width - 300), rng.randrange(height - 200)
        w, h = rng.randrange(120, 300), rng.randrange(80, 200)
        draw.rounded_rectangle(
            (x, y, x + w, y + h), radius=24, outline=(255, 255, 255, 110), width=6
        )
    for offset in range(0, 160, 40):
        draw.line(
            (width - 420 + offset, height, width + offset, height - 420),
            fill=(255, 255, 255, 70),
            width=4,
        )
    buffer = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _rgb(hue, lightness, saturation):
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, saturation)
    return round(red * 255), round(green * 255), round(blue * 255)


def fill_demo_settings():
    """Give unconfigured affiliate and site settings demo values; leave configured ones alone."""
    affiliate = AffiliateSettings.load()
    if not affiliate.amazon_tag:
        affiliate.amazon_tag = DEMO_AMAZON_TAG
        affiliate.rakuten_id = affiliate.rakuten_id or DEMO_RAKUTEN_ID
        affiliate.save()
    site = SiteSettings.load()
    if site.title == SiteSettings._meta.get_field("title").default:
        for field, value in DEMO_SITE.items():
            setattr(site, field, value)
        site.save()


def reset_admin_password():
    """Make sure the superuser "admin" exists, give it a new random password and return it."""
    User = get_user_model()
    user, _created = User._default_manager.get_or_create(**{User.USERNAME_FIELD: ADMIN_USERNAME})
    user.is_active = user.is_staff = user.is_superuser = True
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save()
    return password
