"""Slugs as Hugo makes them, so that an imported site keeps its URLs."""

import re
import unicodedata

from django.core.exceptions import ValidationError
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
