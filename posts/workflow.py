"""Who may do what to a post, and how edits by two people are kept apart.

Writers write their own posts and send them for review; editors (the
`posts.publish_post` permission) publish, schedule and unpublish any post. docs/roles.md
has the whole table. Every save gives a post a new `edit_token`; a form that was opened
with an older one is refused rather than allowed to overwrite the newer work.
"""

import difflib
from dataclasses import dataclass

from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from reversion.models import Version

from .models import Category, Post, Tag


def can_publish(user):
    return user.has_perm("posts.publish_post")


def can_edit(user, post):
    """Editors edit every post; writers their own, until an editor publishes it."""
    if not user.has_perm("posts.change_post"):
        return False
    if post is None or can_publish(user):
        return True
    return post.author_id == user.pk and post.status in Post.WRITER_STATUSES


def can_see(user, post):
    """Editors see every post in the admin and in preview; writers their own."""
    if not user.has_perm("posts.view_post") and not user.has_perm("posts.change_post"):
        return False
    return post is None or can_publish(user) or post.author_id == user.pk


def editor_name(user):
    if user is None:
        return _("the Hugo import or another program")
    return user.get_full_name() or user.get_username()


@dataclass
class Conflict:
    """Someone saved the post after this form was opened."""

    by: str
    at: object
    token: object  # the saved version's edit token: a form carrying it may overwrite
    diff: list  # rows for templates/admin/posts/post/_diff.html

    @property
    def message(self):
        return _(
            "%(name)s saved this post at %(time)s, after you opened it. Your changes are "
            "not saved yet and are still in the form below. Compare them with the saved "
            "version, take in what you want to keep, and save again: saving again "
            "replaces their version with yours."
        ) % {"name": self.by, "time": timezone.localtime(self.at).strftime("%Y-%m-%d %H:%M")}


def find_conflict(post_pk, opened_token, submitted):
    """A Conflict if the post changed since the form carrying `opened_token` was
    opened; `submitted` holds the form's cleaned data. Locks the post's row until the
    transaction ends (on databases that can), so two saves cannot both pass."""
    # No select_related here: PostgreSQL cannot lock the nullable side of an outer join.
    current = Post.objects.select_for_update().prefetch_related("categories", "tags").get(pk=post_pk)
    if opened_token is None or opened_token == current.edit_token:
        return None
    mine = {
        name: submitted.get(name, getattr(current, name))
        for name in ("title", "slug", "body", "description", "status", "published_at", "cover_alt")
    }
    mine["categories"] = list(submitted.get("categories") or [])
    mine["tags"] = list(submitted.get("tags") or [])
    # The latest revision says who saved and when; `updated_at` may be a Hugo lastmod.
    latest = Version.objects.get_for_object(current).select_related("revision__user").first()
    by, at = (latest.revision.user, latest.revision.date_created) if latest else (current.updated_by, current.updated_at)
    return Conflict(
        by=editor_name(by),
        at=at,
        token=current.edit_token,
        diff=diff(snapshot(current), snapshot_of(mine), _("Saved version"), _("Your version")),
    )


def snapshot(post):
    """What a person edits of `post`, as text, for comparing."""
    return snapshot_of(
        {
            "title": post.title,
            "slug": post.slug,
            "body": post.body,
            "description": post.description,
            "status": post.status,
            "published_at": post.published_at,
            "cover_alt": post.cover_alt,
            "categories": list(post.categories.all()),
            "tags": list(post.tags.all()),
        }
    )


def snapshot_of(values):
    status = values.get("status")
    published_at = values.get("published_at")
    return {
        _("Title"): values.get("title") or "",
        _("Slug"): values.get("slug") or "",
        _("Description"): values.get("description") or "",
        _("Status"): str(Post.Status(status).label) if status in Post.Status.values else str(status or ""),
        _("Publish time"): timezone.localtime(published_at).strftime("%Y-%m-%d %H:%M") if published_at else "",
        _("Cover alt text"): values.get("cover_alt") or "",
        _("Categories"): ", ".join(sorted(_names(Category, values.get("categories")))),
        _("Tags"): ", ".join(sorted(_names(Tag, values.get("tags")))),
        _("Body"): values.get("body") or "",
    }


def _names(model, terms):
    """Names of `terms`, given as objects or as primary keys (revisions store keys)."""
    terms = list(terms or [])
    keys = [term for term in terms if not isinstance(term, model)]
    named = {term.pk: term.name for term in model.objects.filter(pk__in=keys)} if keys else {}
    return [term.name if isinstance(term, model) else named.get(int(term), str(term)) for term in terms]


def diff(before, after, before_label, after_label):
    """Side-by-side rows for the fields that differ between two snapshots. Bodies
    become a line-by-line table made by difflib, which escapes the text."""
    rows = []
    for label in dict.fromkeys([*before, *after]):
        old, new = before.get(label, ""), after.get(label, "")
        if old == new:
            continue
        if "\n" in old or "\n" in new:
            table = difflib.HtmlDiff(wrapcolumn=70).make_table(
                old.splitlines(), new.splitlines(), before_label, after_label, context=True, numlines=3
            )
            rows.append({"label": label, "table": mark_safe(table)})
        else:
            rows.append({"label": label, "before": old, "after": new})
    return rows


def version_snapshot(version):
    """A reversion Version of a post as a snapshot."""
    return snapshot_of(version.field_dict)
