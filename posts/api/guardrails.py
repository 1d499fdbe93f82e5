"""The checks a post from a program goes through before it is saved, as the admin's
policy (ApiPolicy) sets them: each rule off, flagging the post for an editor, or
refusing it. `check` answers with the problems found, what was corrected (links that a
redirect knows, tags written like an existing one) and the terms, slug, body and cover
to save; it raises Refused, with every problem, when a rule refuses.

Nothing here saves a post: posts/api/posts.py does, through posts/services.py.
"""

import dataclasses
import re
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from markdown_it import MarkdownIt

from .. import search, terms, uploads
from ..fetch import FetchError, fetch_image
from ..models import ApiPolicy, Category, MediaImage, Post, Redirect, Tag
from ..rendering import render, sanitize
from ..slugs import suggest_slug, urlize, validate_slug

FLAG, REFUSE, FIXED = "flag", "refuse", "fixed"
# Posts that count towards the daily quota and cap: those headed for readers that day.
COUNTED = (Post.Status.PUBLISHED, Post.Status.REVIEW)
# Attributes the sanitizer adds to links, not a sign that it removed anything.
_ADDED_ATTRIBUTES = {"rel", "target"}
_RAWHTML_RE = re.compile(r"\{\{[<%]\s*rawhtml\s*[>%]\}\}(.*?)\{\{[<%]\s*/rawhtml\s*[>%]\}\}", re.DOTALL)


@dataclass
class Problem:
    rule: str
    action: str
    message: str
    field: str = ""
    detail: dict = dataclasses.field(default_factory=dict)

    def as_dict(self):
        return {"rule": self.rule, "action": self.action, "field": self.field, "message": self.message, "detail": self.detail}


class Refused(Exception):
    """A post a rule refuses: nothing is saved. 409 for a slug another post has."""

    def __init__(self, problems, status=422, url=None):
        self.problems, self.status, self.url = problems, status, url
        super().__init__("; ".join(problem.message for problem in problems))


@dataclass
class Candidate:
    """A post as it would be saved: `post` (unsaved for a new one) with the values sent,
    and what the request gives beyond the post's fields (None: unchanged)."""

    post: Post
    slug: str = ""  # as sent; blank: made from the title (new) or kept
    status: str = Post.Status.DRAFT
    categories: list = None
    tags: list = None
    cover_media: MediaImage = None
    cover_url: str = None
    title_changed: bool = True


@dataclass
class Outcome:
    problems: list = dataclasses.field(default_factory=list)
    slug: str = ""
    body: str = ""
    categories: list = None  # Category objects, or None: unchanged
    tags: list = None  # Tag objects and names of tags to create
    new_categories: list = dataclasses.field(default_factory=list)  # names to create, when allowed
    cover_media: MediaImage = None  # a library image to use as the cover
    cover_file: ContentFile = None  # a fetched cover, ready to keep
    cover_source: str = ""
    cover_name: str = ""

    @property
    def flagged(self):
        return any(problem.action == FLAG for problem in self.problems)


class _Checker:
    def __init__(self, candidate, policy):
        self.candidate, self.policy = candidate, policy
        self.post = candidate.post
        self.outcome = Outcome(body=self.post.body)

    def found(self, rule, message, *, field="", **detail):
        mode = self.policy.mode(rule) if rule in ApiPolicy.RULES else FLAG
        if mode == ApiPolicy.Mode.OFF:
            return None
        problem = Problem(rule, mode, message, field, detail)
        self.outcome.problems.append(problem)
        return problem

    def fixed(self, rule, message, *, field="", **detail):
        self.outcome.problems.append(Problem(rule, FIXED, message, field, detail))

    def run(self):
        self.slug()
        if self.candidate.title_changed:
            self.similar_title()
        self.description()
        self.categories()
        self.tags()
        self.cover_alt()
        self.internal_links()
        self.sanitized_body()
        self.quotas()
        refusals = [problem for problem in self.outcome.problems if problem.action == REFUSE]
        if not refusals:
            self.cover()  # downloads only a post that will be saved
            refusals = [problem for problem in self.outcome.problems if problem.action == REFUSE]
        if refusals:
            taken = next((problem for problem in refusals if problem.rule == "slug_taken"), None)
            raise Refused(
                [problem for problem in self.outcome.problems if problem.action != FIXED],
                status=409 if taken else 422,
                url=taken.detail["url"] if taken else None,
            )
        return self.outcome

    # The rules

    def slug(self):
        wanted = self.candidate.slug.strip()
        if not wanted:
            self.outcome.slug = self.post.slug if self.post.pk else suggest_slug(self.post.title)
            return
        try:
            validate_slug(wanted)
        except ValidationError as error:
            raise ValidationError({"slug": error.messages})
        other = Post.objects.filter(slug=wanted).exclude(pk=self.post.pk).first()
        moved = None if other else Redirect.objects.filter(old_path=reverse("posts:detail", kwargs={"slug": wanted})).first()
        if other is None and moved is None:
            self.outcome.slug = wanted
            return
        url = other.get_absolute_url() if other else moved.new_path
        self.outcome.slug = suggest_slug(self.post.title, exclude_pk=self.post.pk)
        self.found(
            "slug_taken",
            _("The slug “%(slug)s” is used by another post (%(url)s).") % {"slug": wanted, "url": url},
            field="slug",
            slug=wanted,
            url=url,
            given_instead=self.outcome.slug,
        )

    def similar_title(self):
        mine = set(search.tokens(self.post.title))
        if not mine:
            return
        since = timezone.now() - timedelta(days=self.policy.similar_title_days)
        recent = Post.objects.filter(published_at__gte=since).exclude(pk=self.post.pk).only("title", "slug")
        best, best_score = None, 0.0
        for other in recent:
            theirs = set(search.tokens(other.title))
            score = 2 * len(mine & theirs) / (len(mine) + len(theirs)) if theirs else 0.0
            if score > best_score:
                best, best_score = other, score
        if best is not None and best_score >= self.policy.similar_title_threshold:
            self.found(
                "similar_title",
                _("The title is near-identical (%(score)d %%) to “%(title)s” (%(url)s) of the last %(days)s days.")
                % {"score": round(best_score * 100), "title": best.title, "url": best.get_absolute_url(), "days": self.policy.similar_title_days},
                field="title",
                url=best.get_absolute_url(),
                title=best.title,
                similarity=round(best_score, 3),
            )

    def description(self):
        text = self.post.description.strip()
        shortest = self.policy.description_min_length
        if not text:
            self.found("description", _("The description is missing: give one of at least %(count)s characters.") % {"count": shortest}, field="description", length=0, minimum=shortest)
        elif len(text) < shortest:
            self.found(
                "description",
                _("The description has %(length)s characters: give at least %(count)s.") % {"length": len(text), "count": shortest},
                field="description",
                length=len(text),
                minimum=shortest,
            )

    def categories(self):
        names = self.candidate.categories
        if names is None:
            return
        known = {}
        for category in Category.objects.all():
            for key in (category.slug, category.name.casefold(), terms.duplicate_key(category.name)):
                known.setdefault(key, category)
        chosen = []
        for name in dict.fromkeys(" ".join(str(name).split()) for name in names):
            if not name:
                continue
            category = known.get(name) or known.get(name.casefold()) or known.get(terms.duplicate_key(name))
            if category is not None:
                if category not in chosen:
                    chosen.append(category)
            elif self.policy.allow_new_categories:
                _check_new_term("categories", name)
                self.outcome.new_categories.append(name)
            else:
                self.found(
                    "unknown_category",
                    _("The category “%(name)s” does not exist; categories are made by an admin.") % {"name": name},
                    field="categories",
                    name=name,
                    known=sorted(category.name for category in Category.objects.all()[:50]),
                )
        self.outcome.categories = chosen

    def tags(self):
        names = self.candidate.tags
        if names is None:
            return
        known = {}
        for tag in Tag.objects.only("name", "slug"):
            for key in (tag.slug, tag.name.casefold(), terms.duplicate_key(tag.name)):
                known.setdefault(key, tag)
        chosen, seen = [], set()
        for name in (" ".join(str(name).split()) for name in names):
            key = terms.duplicate_key(name)
            if not key or key in seen:
                continue
            seen.add(key)
            tag = known.get(name) or known.get(name.casefold()) or known.get(key)
            if tag is None:
                _check_new_term("tags", name)
                chosen.append(name)
                continue
            if tag.name != name:
                self.fixed("tags", _("The tag “%(given)s” is the existing tag “%(name)s”.") % {"given": name, "name": tag.name}, field="tags", given=name, name=tag.name)
            chosen.append(tag)
        self.outcome.tags = chosen

    def cover_alt(self):
        has_cover = bool(self.candidate.cover_media or self.candidate.cover_url or self.post.cover)
        if not has_cover:
            return
        alt = self.post.cover_alt.strip()
        if not alt:
            self.found("cover_alt", _("The cover has no alt text: say what the image shows."), field="cover_alt")
        elif alt.casefold() in self.policy.generic_alts():
            self.found(
                "cover_alt",
                _("The cover's alt text “%(alt)s” says nothing about the image: say what it shows.") % {"alt": alt},
                field="cover_alt",
                alt=alt,
            )

    def internal_links(self):
        for href in dict.fromkeys(_links(render(self.outcome.body).html)):
            path = _internal_path(href)
            if path is None or _exists(path, own_slug=self.outcome.slug):
                continue
            target = _redirected(path)
            if target:
                self.outcome.body = _replace_link(self.outcome.body, href, target)
                self.fixed(
                    "internal_links",
                    _("The link %(url)s was changed to %(target)s, where that page is now.") % {"url": href, "target": target},
                    field="body",
                    url=href,
                    target=target,
                )
            else:
                self.found(
                    "internal_links",
                    _("The link %(url)s leads to no page of this site.") % {"url": href},
                    field="body",
                    url=href,
                )

    def sanitized_body(self):
        removed = removed_by_sanitizer(self.outcome.body)
        if removed:
            self.found(
                "sanitized_body",
                _("The sanitizer removed what pages may not carry (%(removed)s); the post is stored without it.")
                % {"removed": ", ".join(removed)},
                field="body",
                removed=removed,
            )

    def quotas(self):
        if self.candidate.status not in COUNTED:
            return
        day = timezone.localdate(self.post.published_at or timezone.now())
        cap = self.policy.daily_cap_posts
        if cap:
            count = day_count(day, exclude_pk=self.post.pk)
            if count >= cap:
                self.found(
                    "daily_cap",
                    _("%(day)s already has %(count)s posts, the site's daily cap.") % {"day": day.isoformat(), "count": count},
                    field="published_at",
                    day=day.isoformat(),
                    count=count,
                    cap=cap,
                )
        quota = self.policy.category_daily_quota
        for category in (self.outcome.categories if self.outcome.categories is not None else self.post.categories.all() if self.post.pk else []) if quota else []:
            count = day_count(day, category=category, exclude_pk=self.post.pk)
            if count >= quota:
                self.found(
                    "category_quota",
                    _("%(day)s already has %(count)s posts in “%(category)s”, its daily quota.")
                    % {"day": day.isoformat(), "count": count, "category": category.name},
                    field="categories",
                    day=day.isoformat(),
                    category=category.name,
                    count=count,
                    quota=quota,
                )

    def cover(self):
        url = self.candidate.cover_url
        self.outcome.cover_media = self.candidate.cover_media
        if not url:
            return
        mode = self.policy.remote_cover
        message = _("The cover is a remote URL (%(url)s); upload it with POST /api/v1/media instead.") % {"url": url}
        if mode == ApiPolicy.Mode.REFUSE:
            self.found("remote_cover", message, field="cover_url", url=url)
            return
        known = MediaImage.objects.filter(source=url).order_by("pk").first()
        if known is not None:
            self.outcome.cover_media = known
        else:
            try:
                fetched = fetch_image(url)
                prepared = uploads.prepare_upload(ContentFile(fetched.content, name=fetched.name))
            except (FetchError, ValidationError) as error:
                text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                self.outcome.problems.append(
                    Problem("remote_cover", REFUSE, _("The cover could not be downloaded: %(error)s") % {"error": text}, "cover_url", {"url": url})
                )
                return
            self.outcome.cover_file, self.outcome.cover_source, self.outcome.cover_name = prepared, url, fetched.name
        if mode == ApiPolicy.Mode.FLAG:
            self.found("remote_cover", _("The cover was downloaded from %(url)s: check that the site may use it.") % {"url": url}, field="cover_url", url=url)


def _check_new_term(field, name):
    """ValidationError for a term name no URL can be made from (",", "(")."""
    if not urlize(name) or len(name) > Tag._meta.get_field("name").max_length:
        raise ValidationError(
            {field: [_("“%(name)s” cannot be a term: give a name of at most 200 characters with a letter or digit.") % {"name": name}]}
        )


def check(candidate, policy=None):
    """The Outcome of the policy's rules for `candidate`; Refused if one refuses."""
    return _Checker(candidate, policy or ApiPolicy.load()).run()


def day_count(day, *, category=None, exclude_pk=None):
    """Posts published or in review with a publish time on `day` (local), in `category`."""
    start = timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))
    posts = Post.objects.filter(status__in=COUNTED, published_at__gte=start, published_at__lt=start + timedelta(days=1))
    if category is not None:
        posts = posts.filter(categories=category)
    return posts.exclude(pk=exclude_pk).count()


# Links

class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _links(html):
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def _site_hosts():
    return {host.lstrip(".") for host in settings.ALLOWED_HOSTS if host != "*"} | set(
        settings.KIJI_API_SITE_HOSTS
    )


def _internal_path(href):
    """The path of a link to this site's pages, or None for other sites and files."""
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.hostname not in _site_hosts()):
        return None
    if not parts.netloc and not parts.path.startswith("/"):
        return None  # a fragment or a relative link
    path = unquote(parts.path or "/")
    if path.startswith((settings.MEDIA_URL, settings.STATIC_URL)):
        return None
    return path


def _exists(path, own_slug=""):
    try:
        match = resolve(path)
    except Resolver404:
        return False
    slug = match.kwargs.get("slug")
    if match.namespace != "posts" or slug is None:
        return True
    if match.url_name == "detail":
        return slug == own_slug or Post.objects.shown_or_scheduled().filter(slug=slug).exists()
    if match.url_name in ("category", "category_feed"):
        return Category.objects.filter(slug=slug).exists()
    if match.url_name in ("tag", "tag_feed"):
        return Tag.objects.filter(slug=slug).exists()
    return True


def _redirected(path):
    """Where a redirect (an old slug, a Hugo file name or alias) sends `path`, if any."""
    candidates = [path, path.rstrip("/") if path.endswith("/") else path + "/"]
    redirect = Redirect.objects.filter(old_path__in=candidates).first()
    return redirect.new_path if redirect else None


def _replace_link(markdown, href, target):
    pattern = re.compile(r"(\]\(\s*<?|href\s*=\s*[\"']|<)" + re.escape(href) + r"(?=[\s)\"'>])")
    return pattern.sub(lambda match: match.group(1) + target, markdown)


# The sanitizer

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.seen = []

    def handle_starttag(self, tag, attrs):
        self.seen.append(tag)
        for name, value in attrs:
            self.seen.append(f"{tag} {name}")

    handle_startendtag = handle_starttag


def _tags(html):
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.seen


def raw_html(markdown):
    """The raw HTML a body holds: its HTML blocks and inline tags, and what its
    {{< rawhtml >}} shortcodes wrap (code blocks and spans are not HTML)."""
    fragments = [match.group(1) for match in _RAWHTML_RE.finditer(markdown or "")]
    tokens = MarkdownIt("commonmark", {"html": True}).parse(_RAWHTML_RE.sub("", markdown or ""))
    for token in tokens:
        if token.type == "html_block":
            fragments.append(token.content)
        for child in token.children or ():
            if child.type == "html_inline":
                fragments.append(child.content)
    return "\n".join(fragments)


def removed_by_sanitizer(markdown):
    """The tags and attributes ("script", "a onclick") of the body's raw HTML that the
    sanitizer drops, in order; [] when it keeps them all."""
    html = raw_html(markdown)
    if not html.strip():
        return []
    kept = set(_tags(sanitize(html)))
    removed = []
    for item in _tags(html):
        name = item.partition(" ")[2]
        if item not in kept and name not in _ADDED_ATTRIBUTES and item not in removed:
            removed.append(item)
    return removed
