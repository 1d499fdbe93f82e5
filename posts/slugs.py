"""Slugs as Hugo makes them, so that an imported site keeps its URLs."""

import functools
import itertools
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# Hugo keeps these besides letters, digits and marks. '/', '\\', '#' and '%' are left
# out: in a Kiji URL they would start a new path segment, a fragment or an escape.
_KEPT_PUNCTUATION = frozenset("._+~-@")


def urlize(value):
    """Hugo's `urlize`: lower-case, whitespace runs become '-', Unicode letters kept.

    "AI News" → "ai-news", "llama.cpp 使い方" → "llama.cpp-使い方", 「速報」 → "速報".
    """
    out = []
    pending_hyphen = False
    for char in str(value):
        category = unicodedata.category(char)
        if char in _KEPT_PUNCTUATION or category[0] in "LM" or category == "Nd":
            if pending_hyphen:
                out.append("-")
                pending_hyphen = False
            out.append(char)
        elif out and char.isspace():
            pending_hyphen = True
    return "".join(out).lower()


# The characters a slug may hold; also the URL converter's pattern (posts/urls.py), so
# that a path no slug could match is a 404 before any query (a NUL, for one, would
# make PostgreSQL refuse the query).
SLUG_PATTERN = r"[\w.+~@-]+"
_SLUG_RE = re.compile(rf"^{SLUG_PATTERN}\Z")


class SlugConverter:
    """URL converter for Kiji's slugs: letters (any script), digits and . _ + ~ @ -."""

    regex = SLUG_PATTERN

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


def validate_slug(value):
    if not _SLUG_RE.match(value) or value in {".", ".."}:
        raise ValidationError(
            _(
                "Enter a slug of letters, digits and - _ . + ~ @ only, "
                "with no spaces or slashes (for example “ai-news” or “速報”)."
            ),
            code="invalid_slug",
        )


# Suggested slugs (the post editor offers one for a title; see suggest_slug).
SUGGESTED_SLUG_LENGTH = 60
# Particles make a romanised slug long and carry little of its meaning.
_PARTICLES = frozenset(["の", "を", "に", "で", "と", "は", "が", "へ", "も", "や", "な"])
_HIRAGANA = re.compile(r"^[\u3041-\u309f]+$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@functools.cache
def _kakasi():
    # Imported here: pykakasi loads its dictionaries on import, and only the editor needs them.
    import pykakasi

    return pykakasi.kakasi()


def romanize(text):
    """`text` as ASCII words: Japanese in Hepburn romaji (pykakasi) without its particles,
    Latin letters and digits as they are. "ローカルLLMの使い方" → ["rookaru", "llm", "tsukaikata"]."""
    words = []
    previous = ""  # the Japanese text of the last word kept, if it came from Japanese
    for item in _kakasi().convert(unicodedata.normalize("NFKC", str(text))):
        original, roman = item["orig"], item["hepburn"].lower()
        if original in _PARTICLES:
            previous = ""
            continue
        parts = _NOT_SLUG.split(roman)
        if previous[-1:] in ("っ", "ッ") and words[-1].endswith("tsu") and parts[0][:1].isalpha():
            # pykakasi romanises a small っ that ends one of its chunks as "tsu" (買っ+た →
            # "katsu", "ta"); it doubles the next consonant, as inside a chunk (使って → "tsukatte").
            words[-1] = words[-1][: -len("tsu")] + parts[0][0]
        if previous and len(original) == 1 and _HIRAGANA.match(original):
            # A lone kana after a word is that word's ending (食べ+る → "taberu").
            words[-1] += parts.pop(0)
        words.extend(part for part in parts if part)
        previous = original if words and not original.isascii() else ""
    return words


def suggest_slug(title, exclude_pk=None):
    """An ASCII slug for `title` (see `romanize`): lowercase letters, digits and hyphens,
    at most SUGGESTED_SLUG_LENGTH characters, that no other post has and no redirect
    starts from; "post" when the title has no letters or digits."""
    # Imported here: the models import this module.
    from .models import Post, Redirect

    base = _shortened("-".join(romanize(title)), SUGGESTED_SLUG_LENGTH) or "post"
    for number in itertools.count(1):
        suffix = f"-{number}" if number > 1 else ""
        slug = _shortened(base, SUGGESTED_SLUG_LENGTH - len(suffix)) + suffix
        taken = Post.objects.filter(slug=slug).exclude(pk=exclude_pk).exists()
        # Another post's old URL: links to that post would land on this one instead.
        moved_away = Redirect.objects.filter(old_path=reverse("posts:detail", kwargs={"slug": slug})).exists()
        if not (taken or moved_away):
            return slug


def _shortened(slug, length):
    """`slug` cut to `length` characters at a hyphen, when it has one early enough."""
    if len(slug) <= length:
        return slug
    cut = slug[: length + 1].rpartition("-")[0]
    return cut if cut else slug[:length]
