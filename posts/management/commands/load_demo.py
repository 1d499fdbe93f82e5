"""Load the demo site in posts/demo, so that a fresh checkout has a site to look at."""

import colorsys
import hashlib
import io
import random
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from PIL import Image, ImageChops, ImageDraw

from posts.hugo import HugoImporter
from posts.models import AffiliateSettings, Post, SiteSettings

# A small Hugo site in the export format, affiliate boxes in front matter; its covers
# are drawn here rather than kept as binary files in the repository.
DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
DEMO_AMAZON_TAG = "kiji-demo-22"
DEMO_RAKUTEN_ID = "0000demo.0000demo.0000demo.00000000"
DEMO_SITE = {
    "title": "Kiji デモブログ",
    "tagline": "ローカルLLM、GPU、AIツールの最新情報をわかりやすく",
    "description": "Kiji の動作確認用のデモサイトです。記事はサンプルで、製品名や数値には架空のものを含みます。",
}
ADMIN_USERNAME = "admin"
COVER_SIZE = (1200, 630)


class Command(BaseCommand):
    help = (
        "Import the demo posts (again: only what changed), draw their covers, fill in demo "
        "affiliate and site settings, and give the superuser “admin” a new password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-admin", action="store_true", help="Leave users and passwords alone."
        )
        parser.add_argument("--port", type=int, default=8000, help="The port the printed addresses use.")

    def handle(self, *args, no_admin=False, port=8000, verbosity=1, **options):
        fill_demo_settings()
        summary = HugoImporter(DEMO_DIR, report=self.stderr.write).run()
        for post in Post.objects.filter(source_path__isnull=False, cover=""):
            post.cover.save(f"{post.slug}.png", ContentFile(cover_png(post.slug)), save=False)
            post.save(touch=False)
        if verbosity >= 1:
            self.stdout.write(
                f"Demo posts: {summary.created} created, {summary.updated} updated, "
                f"{summary.unchanged} unchanged."
            )
        lines = [f"Kiji is ready: http://127.0.0.1:{port}/"]
        if not no_admin:
            lines += [
                f"Admin:         http://127.0.0.1:{port}/admin/",
                f"  user:        {ADMIN_USERNAME}",
                f"  password:    {reset_admin_password()}",
            ]
        # Shown even at --verbosity 0 when the password changed: one that nobody sees
        # would lock the owner out.
        if verbosity >= 1 or not no_admin:
            self.stdout.write("\n".join(lines))
        if summary.failed:
            raise CommandError(f"{summary.failed} demo file(s) could not be loaded.")


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
    # A lock left by earlier wrong passwords would refuse the new one (posts/security.py).
    from axes.utils import reset

    reset(username=ADMIN_USERNAME)
    return password
