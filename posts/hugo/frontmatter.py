"""Reading a Hugo content file: its bytes as text, its front matter as Hugo reads it.

Every value is taken the way Hugo takes it, and every value that had to be changed or
left out to be used is said: `Meta` collects (problem, action) notes for the importer's
report, so nothing is kept or dropped silently.
"""

import datetime as dt
import json
import re
import tomllib
from pathlib import Path

import yaml
from django.utils import timezone

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FRONT_MATTER_VALUES = 5000
CONFIG_NAMES = [f"{stem}.{ext}" for stem in ("hugo", "config") for ext in ("toml", "yaml", "yml", "json")]
# The front matter key that holds affiliate boxes in exported (and demo) posts, and the
# site data file that holds the product registry.
AFFILIATE_KEY = "affiliate"
PRODUCTS_FILE = "data/products.yaml"

# Keys Kiji reads, and PaperMod's display switches that Kiji sets site-wide (so a post
# that carries them loses nothing). Anything else is reported as ignored.
KNOWN_KEYS = {
    "title", "date", "publishDate", "lastmod", "expiryDate", "draft", "slug", "url",
    "aliases", "description", "summary", "categories", "tags", "cover", "image", "images",
    "author", AFFILIATE_KEY,
}  # fmt: skip
COVER_KEYS = {"image", "alt", "caption", "relative", "hidden", "hiddenInList", "hiddenInSingle", "responsiveImages"}


class SourceError(Exception):
    """A post file Kiji cannot import; the message says what is wrong."""


# libyaml's safe loader where PyYAML has it: several times faster on 2,000 files.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_size(value, budget=MAX_FRONT_MATTER_VALUES):
    """Raise SourceError if `value`, with aliases expanded, holds more than `budget`
    values: YAML aliases can make a small file (a "billion laughs") enormous."""
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > budget:
            raise SourceError(f"front matter holds more than {budget} values (YAML aliases?)")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "\x00" in item:
            # YAML's "\0" escape: no database column takes it (PostgreSQL refuses it).
            raise SourceError("front matter holds a NUL character")


_DELIMITERS = {"---": "YAML", "+++": "TOML"}


def split_front_matter(text):
    """(front matter as a dict, Markdown body) of a Hugo content file."""
    first_line, _, rest = text.partition("\n")
    marker = first_line.strip()
    if marker in _DELIMITERS:
        closing = re.search(rf"^{re.escape(marker)}[ \t]*\r?$", rest, re.MULTILINE)
        if closing is None:
            raise SourceError(f"front matter opened with '{marker}' on line 1 is never closed")
        raw, body = rest[: closing.start()], rest[closing.end() :]
        meta = _load_front_matter(_DELIMITERS[marker], raw)
    elif text.lstrip().startswith("{"):
        decoder = json.JSONDecoder()
        start = len(text) - len(text.lstrip())
        try:
            meta, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as error:
            raise SourceError(f"front matter is not valid JSON (line {error.lineno}: {error.msg})")
        body = text[end:]
    else:
        raise SourceError("no front matter (the file must start with ---, +++ or {)")
    if not isinstance(meta, dict):
        raise SourceError("front matter is not a mapping of keys to values")
    return meta, body.lstrip("\r\n")


def _load_front_matter(kind, raw):
    try:
        if kind == "TOML":
            return tomllib.loads(raw)
        meta = yaml.load(raw, Loader=_YamlLoader) or {}
    except tomllib.TOMLDecodeError as error:
        raise SourceError(f"front matter is not valid TOML ({error})")
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 2}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SourceError(f"front matter is not valid YAML ({where}{problem})")
    except ValueError as error:
        # PyYAML builds dates as it reads: 2024-02-30 raises here, not as a YAMLError.
        raise SourceError(f"front matter has an impossible {_impossible_date(raw) or 'date or number'} ({error})")
    except RecursionError:
        raise SourceError("front matter is nested too deeply")
    _check_size(meta)
    return meta


_DATE_RE = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])")


def _impossible_date(raw):
    """'date 2024-02-30' for the first date in `raw` that no calendar has, if any."""
    for match in _DATE_RE.finditer(raw):
        try:
            dt.date(*map(int, match.groups()))
        except ValueError:
            return f"date {match.group()}"
    return None


def decode(data):
    """The text of a Markdown file, or SourceError if it is binary or not UTF-8."""
    if b"\x00" in data:
        raise SourceError("binary file, not Markdown text (it holds NUL bytes)")
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as error:
        raise SourceError(f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})")


def read_config(site_dir):
    """The site configuration (hugo.toml, config.yaml, …) as a dict; {} if there is none."""
    for name in CONFIG_NAMES:
        path = Path(site_dir) / name
        if path.is_file():
            text = path.read_text(encoding="utf-8-sig")
            if name.endswith(".toml"):
                return tomllib.loads(text)
            if name.endswith(".json"):
                return json.loads(text)
            return yaml.load(text, Loader=_YamlLoader) or {}
    return {}


def parse_datetime(value, tz, what):
    """An aware datetime from a front matter value; naive ones take the site's zone."""
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str) and value.strip():
        try:
            result = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise SourceError(f"{what} {value!r} is not a date")
    else:
        raise SourceError(f"{what} is missing or is not a date")
    return result if timezone.is_aware(result) else result.replace(tzinfo=tz)


class Meta:
    """A post's front matter, read as Hugo reads it; `notes` says what was changed."""

    def __init__(self, data):
        self.data = data
        self.notes = []  # (problem, action)

    def note(self, problem, action):
        self.notes.append((problem, action))

    def get(self, key, default=None):
        return self.data.get(key, default)

    def __contains__(self, key):
        return key in self.data

    def text(self, key, *, required=False):
        """The value of `key` as text: numbers become text (Hugo shows them), anything
        else that is not text is left out with a note."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise SourceError(f"front matter has no {key}")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            if required:
                raise SourceError(f"{key} is a {_kind(value)}, not text")
            self.note(f"{key} is a {_kind(value)}, not text", "ignored")
            return ""
        if not isinstance(value, str):
            self.note(f"{key} {value!r} is a number", "used as text")
            value = str(value)
        if required and not value.strip():
            raise SourceError(f"front matter has no {key}")
        return value.strip()

    def names(self, key):
        """Category or tag names: a list, or one name as Hugo takes a lone string."""
        value = self.data.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            if "," in value:
                self.note(
                    f"{key} is one text “{value}”, so it is one term (write a list for several)",
                    "imported as one term",
                )
            value = [value]
        elif not isinstance(value, list):
            self.note(f"{key} is a {_kind(value)}, not a list of names", "ignored")
            return []
        names = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                self.note(f"{key} holds a {_kind(item)} ({_short(item)}), not a name", "skipped")
                continue
            if not isinstance(item, str):
                self.note(f"{key} holds the number {item!r}", "used as text")
            name = " ".join(str(item).split())
            if name:
                names.append(name)
        return names

    def cover(self):
        """(reference, alt text) of the cover: PaperMod's `cover.image`, a plain
        `cover: path`, or Hugo's `image` / `images[0]`."""
        cover, alt = self.data.get("cover"), ""
        ref = None
        if isinstance(cover, dict):
            ref = cover.get("image")
            alt = cover.get("alt") or ""
            if not isinstance(alt, str):
                self.note(f"cover.alt is a {_kind(alt)}, not text", "ignored")
                alt = ""
            unknown = sorted(set(map(str, cover)) - COVER_KEYS)
            if unknown:
                self.note(f"cover keys {', '.join(unknown)} are not used by Kiji", "ignored")
        elif isinstance(cover, str):
            ref = cover
            if cover.strip():
                self.note("cover is a plain path, not cover.image", "used as the cover image")
        elif cover is not None:
            self.note(f"cover is a {_kind(cover)}", "ignored")
        if not ref:
            images = self.data.get("images")
            ref = self.data.get("image") or (images[0] if isinstance(images, list) and images else None)
        if ref is not None and not isinstance(ref, str):
            self.note(f"the cover image is a {_kind(ref)}, not a path", "imported without a cover")
            ref = None
        return (ref or "").strip(), alt.strip()

    def list_of_text(self, key):
        """`aliases` and the like: one text or a list of texts."""
        value = self.data.get(key)
        if value is None:
            return []
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else None
        if items is None:
            self.note(f"{key} is a {_kind(value)}, not a list", "ignored")
            return []
        kept = []
        for item in items:
            if isinstance(item, str) and item.strip():
                kept.append(item.strip())
            elif item is not None:
                self.note(f"{key} holds a {_kind(item)} ({_short(item)})", "skipped")
        return kept

    def unknown_keys(self):
        return sorted(str(key) for key in self.data if key not in KNOWN_KEYS)


def _kind(value):
    if value is None:
        return "null"
    return {dict: "mapping", list: "list", bool: "true/false value"}.get(type(value), type(value).__name__)


def _short(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
