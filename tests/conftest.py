import json
import itertools
import shutil
from html.parser import HTMLParser
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client, TestCase
from django.utils import timezone
from PIL import Image

from posts.models import AffiliateSettings, Category, Post, Tag
from posts.pagecache import store, versions

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts like a new process on a new database: an empty cache, and no
    page versions or settings remembered from the last test's (rolled back) rows."""
    cache.clear()
    versions.forget()
    store.forget()
    store.recent.clear()
    yield
    cache.clear()
    versions.forget()
    store.forget()
    store.recent.clear()


def make_post(**overrides):
    """A published post, saved, with what its commit would set off done (its related
    lists scored); any field can be overridden (categories and tags by name)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return _make_post(**overrides)


def _make_post(**overrides):
    number = next(_numbers)
    categories = overrides.pop("categories", [])
    tags = overrides.pop("tags", [])
    fields = {
        "title": f"テスト記事 {number}",
        "slug": f"test-post-{number}",
        "body": "## 3行要約\n\n- 一つ目の要点。\n- 二つ目の要点。\n\n## 本文\n\n本文です。\n",
        "status": Post.Status.PUBLISHED,
        "published_at": timezone.now() - timezone.timedelta(hours=number),
    }
    fields.update(overrides)
    post = Post.objects.create(**fields)
    post.categories.set([Category.objects.get_or_create_by_name(name) for name in categories])
    post.tags.set([Tag.objects.get_or_create_by_name(name) for name in tags])
    return post


@pytest.fixture
def affiliate_settings(db):
    settings = AffiliateSettings.load()
    settings.amazon_tag = "negi3939-22"
    settings.rakuten_id = "5000cbfd.5f52567b.5000cbff.924460a4"
    settings.enabled = True
    settings.save()
    return settings


def image_bytes(image_format="PNG", size=(40, 30)):
    """A small real image in `image_format` (any format Pillow can write)."""
    buffer = BytesIO()
    Image.new("RGB", size, (200, 60, 30)).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture
def staff_client(db, django_user_model):
    """A client of its own, logged in as staff with no model permissions at all."""
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    staff = Client()
    staff.force_login(user)
    return staff


class _TagCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


class _ScriptCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts, self._current = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._current = (dict(attrs), [])

    def handle_data(self, data):
        if self._current:
            self._current[1].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._current:
            self.scripts.append((self._current[0], "".join(self._current[1])))
            self._current = None


def scripts(html):
    """Every <script> in `html` as (attributes, text)."""
    collector = _ScriptCollector()
    collector.feed(html)
    collector.close()
    return collector.scripts


def foreign_scripts(html):
    """Scripts that are not Kiji's own: its JSON-LD (which must parse) and its two
    script files. Nothing inline runs: the Content-Security-Policy would block it."""
    foreign = []
    for attrs, text in scripts(html):
        if attrs.get("type") == "application/ld+json":
            json.loads(text)
        elif attrs.get("src", "").endswith(("/static/js/kiji.js", "/static/js/theme.js")) and not text.strip():
            pass
        else:
            foreign.append((attrs, text))
    return foreign


def start_tags(html, name=None):
    """The start tags in `html` as (tag, attributes) pairs, attribute values unescaped."""
    collector = _TagCollector()
    collector.feed(html)
    collector.close()
    return [(tag, attrs) for tag, attrs in collector.tags if name is None or tag == name]


def article_body(html):
    """The article body region of a post page: from the body <div> to the end of the article."""
    start = html.index('<div class="post__body">')
    return html[start : html.index("</article>", start)]


HUGO_FIXTURE = Path(__file__).parent / "fixtures" / "hugo-site"
# Drawn at test time, so that no binary files are committed: (format, size) by path.
HUGO_FIXTURE_COVERS = {
    "static/images/posts/2025-03-01-a1b2c3d4.png": ("PNG", (64, 48)),
    "static/images/posts/2025-02-10-e5f6a7b8.png": ("PNG", (40, 30)),
    "content/posts/2025-02-01-bundle-post/cover.jpg": ("JPEG", (32, 24)),
}


@pytest.fixture
def media_root(settings, tmp_path):
    """A MEDIA_ROOT of the test's own, so that stored files can be counted."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def hugo_site(tmp_path):
    """A copy of tests/fixtures/hugo-site with its cover images drawn."""
    site = tmp_path / "hugo-site"
    shutil.copytree(HUGO_FIXTURE, site)
    for relative, (image_format, size) in HUGO_FIXTURE_COVERS.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_bytes(image_bytes(image_format, size))
    return site


def run_command(name, *args):
    """Run a management command; return what it printed (stdout, then stderr)."""
    out, err = StringIO(), StringIO()
    call_command(name, *map(str, args), stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def run_failing_command(name, *args):
    """Run a management command that must raise CommandError; return what it
    printed (stdout, then stderr) and the error's message."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(name, *map(str, args), stdout=out, stderr=err)
    return out.getvalue() + err.getvalue(), str(raised.value)


def media_files(root):
    """{path relative to `root`: (size, mtime)} of every file stored under it."""
    root = Path(root)
    return {
        path.relative_to(root).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file()
    }


def member(group, username, **fields):
    """A staff user (password "pw") in the Writer, Editor or Admin group."""
    user = get_user_model().objects.create_user(username, password="pw", is_staff=True, **fields)
    user.groups.add(Group.objects.get(name=group))
    return user


def logged_in(user):
    """A client of its own, logged in as `user`."""
    client = Client()
    client.force_login(user)
    return client


class _FormCollector(HTMLParser):
    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, []
        self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside or tag == "form":
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "button", "file", "image", "reset"):
                self.fields.append((name, attrs.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "textarea" and name:
            self._textarea = (name, [])
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in attrs, "options": [], "chosen": []}
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attrs.get("value", ""))
            if "selected" in attrs:
                self._select["chosen"].append(attrs.get("value", ""))

    def handle_data(self, data):
        if self._textarea:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea:
            name, parts = self._textarea
            # Browsers drop the newline that Django writes after <textarea>.
            self.fields.append((name, "".join(parts).removeprefix("\r\n").removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            select = self._select
            chosen = select["chosen"] or ([] if select["multiple"] else select["options"][:1])
            self.fields.extend((select["name"], value) for value in chosen)
            self._select = None


def form_data(html, form_id="post_form"):
    """What a browser would send for the form `form_id` in `html`, left as it is shown
    (without files or submit buttons): {name: value, or a list for several values}."""
    collector = _FormCollector(form_id)
    collector.feed(html)
    collector.close()
    data = {}
    for name, value in collector.fields:
        if name in data:
            data[name] = [*data[name], value] if isinstance(data[name], list) else [data[name], value]
        else:
            data[name] = value
    return data


def opened_form(client, url, form_id="post_form", **changes):
    """The form at `url` as `client` sees it, with `changes`, ready to post back."""
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return {**form_data(response.content.decode(), form_id), "_save": "保存", **changes}


class _DiffCollector(HTMLParser):
    """Reads templates/admin/posts/post/_diff.html: a label per row, and the text of its
    two sides (one cell each, or the left and right columns of difflib's table)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self._label, self._cell, self._depth = {}, None, None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "kiji-diff" in (attrs.get("class") or ""):
            self._depth = 1
        elif tag == "table" and self._depth:
            self._depth += 1
        elif not self._depth:
            return
        elif tag == "th" and attrs.get("scope") == "row" and self._depth == 1:
            self._label = []
        elif tag == "td" and self._current is not None:
            # A body's row holds difflib's table in one wide cell; its text is in the
            # table's "nowrap" cells, left and right.
            if "nowrap" in attrs if self._depth > 1 else "colspan" not in attrs:
                self._cell = []

    @property
    def _current(self):
        label = self._label
        return None if label is None or isinstance(label, list) else self.rows.setdefault(label, ([], []))

    def handle_data(self, data):
        if isinstance(self._label, list):
            self._label.append(data)
        elif self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if not self._depth:
            return
        if tag == "th" and isinstance(self._label, list):
            self._label = "".join(self._label).strip()
        elif tag == "td" and self._cell is not None:
            before, after = self._current
            side = before if len(before) <= len(after) else after
            side.append("".join(self._cell).replace("\xa0", " "))
            self._cell = None
        elif tag == "table":
            self._depth -= 1


def diff_rows(html):
    """{field label: (text before, text after)} from the side-by-side table in `html`;
    a body's lines are joined with newlines."""
    collector = _DiffCollector()
    collector.feed(html)
    collector.close()
    return {label: ("\n".join(before), "\n".join(after)) for label, (before, after) in collector.rows.items()}


# The migrations that make the Writer, Editor and Admin groups and give them their
# permissions, with the function each runs.
GROUP_MIGRATIONS = [
    ("0006_editorial_groups", "create_groups"),
    ("0012_admin_sign_in_permissions", "grant"),
    ("0014_affiliate_permissions", "grant"),
    ("0016_redirect_permissions", "grant"),
    ("0017_api", "grant"),
]


@pytest.fixture
def editorial_groups(transactional_db):
    """The Writer, Editor and Admin groups, made by the migrations that made them, for
    tests with committed rows (a live server).

    The flush after each transactional test empties every table, these groups
    included, and Django's serialized rollback cannot bring them back: the flush makes
    the content types and permissions again, which the serialized rows then clash with
    (and once Playwright runs, the test thread holds another connection object than the
    one the rows were serialized on)."""
    import importlib

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    for name, function in GROUP_MIGRATIONS:
        migration = importlib.import_module(f"posts.migrations.{name}")
        getattr(migration, function)(loader.project_state(("posts", name)).apps, schema_editor=None)
