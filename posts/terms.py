"""Keeping the category and tag lists tidy: post counts, merges, possible
duplicates and unused terms.

A term's URLs (its page and its feed) go where its posts go: a rename (Term.save)
or a merge leaves permanent redirects from the old ones, so links and search results
that name an old term still reach its posts. Counts here are of every post that
carries a term, drafts included, because those are the posts a merge or a deletion
touches; public pages count published posts only (TermQuerySet.with_post_counts).
"""

import unicodedata
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from . import related
from .models import Redirect
from .pagecache import bump, post_tag, term_tag

# Dropped from names before comparing them: hyphens and dashes (Pd), underscores
# (Pc), and, by str.isspace, every kind of space, the full-width one included.
_IGNORED_CATEGORIES = frozenset({"Pd", "Pc"})


def counted(terms):
    """`terms` with `post_count`: how many posts, drafts included, carry each."""
    # A subquery rather than a join and GROUP BY, so that the admin's COUNT(*) queries
    # leave it out and a page of 100 names counts the posts of 100 terms only.
    links, _post_id, term_id = _links(terms.model)
    count = links.filter(**{term_id: OuterRef("pk")}).values(term_id).annotate(count=Count("*")).values("count")
    return terms.annotate(post_count=Coalesce(Subquery(count), 0))


def duplicate_key(name):
    """What names of one term written differently share: NFKC-normalised (full-width
    letters and digits become ASCII), casefolded, without spaces, hyphens or underscores.

    "ＡＩ" and "AI" → "ai"; "RTX 4090" and "RTX4090" → "rtx4090".
    """
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(
        char
        for char in folded
        if not char.isspace() and unicodedata.category(char) not in _IGNORED_CATEGORIES
    )


def duplicate_groups(model):
    """The terms of `model` that share a duplicate key, as lists of two or more with
    `post_count`, the most used first; groups in order of their key. One query, so
    that thousands of terms cost what a few do."""
    # A join, not counted()'s subquery: for every term at once, one pass over the links is cheaper.
    rows = model.objects.order_by().annotate(post_count=Count("posts")).values_list("pk", "name", "slug", "post_count")
    by_key = defaultdict(list)
    for row in rows:
        by_key[duplicate_key(row[1])].append(row)
    groups = []
    for key in sorted(by_key):
        if len(by_key[key]) > 1:
            # Model instances for these few only: making thousands would cost more than the query.
            groups.append([_term(model, *row) for row in sorted(by_key[key], key=lambda row: (-row[3], row[1]))])
    return groups


def _term(model, pk, name, slug, post_count):
    term = model(pk=pk, name=name, slug=slug)
    term.post_count = post_count
    return term


def merge(survivor, others, name=""):
    """Give the posts of `others` the term `survivor` (once each), delete `others`, and
    redirect their page and feed to the survivor's; then rename the survivor to `name`,
    if given. All or nothing: a ValidationError (a name another term has) changes nothing.

    Posts are re-tagged in the through table, so no post is saved: their rendered
    HTML and search documents do not depend on terms, and no revision is made."""
    model = type(survivor)
    others = [other for other in others if other.pk != survivor.pk]
    links, post_id, term_id = _links(model)
    with transaction.atomic():
        has_survivor = links.filter(**{term_id: survivor.pk}).values(post_id)
        moving = (
            links.filter(**{f"{term_id}__in": [other.pk for other in others]})
            .exclude(**{f"{post_id}__in": has_survivor})
            .values_list(post_id, flat=True)
            .distinct()
        )
        moving = list(moving)
        links.bulk_create([links.model(**{post_id: post, term_id: survivor.pk}) for post in moving], batch_size=500)
        # bulk_create sends no signals; deleting the others below tells their pages.
        bump({term_tag(survivor), *map(post_tag, moving)})
        related.queue(moving)
        model.objects.filter(pk__in=[other.pk for other in others]).delete()
        Redirect.add_many(pair for other in others for pair in zip(other.urls(), survivor.urls()))
        name = " ".join(name.split())
        if name and name != survivor.name:
            survivor.name = name
            survivor.clean()  # now that the others are gone, a clash is with another term
            survivor.save()
    return survivor


def delete_unused(terms):
    """Delete those of `terms` that no post carries, drafts included; return the
    deleted terms and how many were kept because posts carry them."""
    model = terms.model
    selected = model.objects.filter(pk__in=terms.values("pk"))
    unused = list(selected.filter(posts__isnull=True).only("pk", "name"))
    kept = selected.count() - len(unused)
    model.objects.filter(pk__in=[term.pk for term in unused]).delete()
    return unused, kept


def _links(model):
    """The through table between posts and terms of `model`, and its two columns."""
    field = model.posts.field  # Post.categories or Post.tags
    return (
        field.remote_field.through.objects,
        f"{field.m2m_field_name()}_id",
        f"{field.m2m_reverse_field_name()}_id",
    )
