"""Posts through the API: read, list, create, update, upsert by external id, publish,
unpublish; and the publish schedule. Every write goes through the guardrails and then
posts/services.py, in one revision, as an admin save does."""

from datetime import timedelta
from typing import Optional

import reversion
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.responses import Status
from pydantic import Field

from .. import services, uploads, workflow
from ..models import AffiliateBox, ApiExternalId, ApiPolicy, ApiProblem, Category, MediaImage, Post, Product, Tag
from . import guardrails, schemas
from .auth import require_scope
from .recording import IDEMPOTENCY_HEADER, idempotent, note

router = Router(tags=["posts"])
schedule_router = Router(tags=["schedule"])

ERRORS = {code: schemas.Error for code in (400, 401, 403, 404, 409, 422, 429)}
WRITE = {"openapi_extra": {"parameters": [IDEMPOTENCY_HEADER]}}


def _term(term):
    return {"id": term.pk, "name": term.name, "slug": term.slug, "url": term.get_absolute_url(), "description": term.description}


def _external_id(post):
    try:
        return post.api_external_id.external_id
    except ApiExternalId.DoesNotExist:
        return None


def summary(post):
    return {
        "id": post.pk,
        "url": post.get_absolute_url(),
        "title": post.title,
        "slug": post.slug,
        "status": post.status,
        "publication": post.publication.value,
        "published_at": post.published_at,
        "updated_at": post.updated_at,
        "external_id": _external_id(post),
    }


def detail(post, problems=None):
    """A post as the API shows it; `problems` found by this request, or the open ones."""
    if problems is None:
        problems = [
            {"rule": problem.rule, "action": "flag", "field": problem.field, "message": problem.message, "detail": problem.detail}
            for problem in post.api_problems.filter(resolved_at=None)
        ]
    cover = None
    if post.cover:
        cover = {"url": post.cover.url, "alt": post.cover_alt, "width": post.cover_width, "height": post.cover_height}
    return {
        **summary(post),
        "body": post.body,
        "description": post.description,
        "summary": post.summary,
        "expires_at": post.expires_at,
        "categories": [_term(term) for term in post.categories.all()],
        "tags": [_term(term) for term in post.tags.all()],
        "cover": cover,
        "pr_notice": post.pr_notice,
        "boxes": [
            {
                "id": box.pk,
                "product": box.product.slug if box.product else None,
                "keyword": box.keyword,
                "product_name": box.product_name,
                "reason": box.reason,
                "placement": box.placement,
                "position": box.position,
            }
            for box in post.affiliate_boxes.select_related("product")
        ],
        "author": post.author.get_username() if post.author else None,
        "problems": problems,
    }


def _visible(user):
    posts = Post.objects.select_related("api_external_id", "author")
    return posts if workflow.can_publish(user) else posts.filter(author=user)


def _get(request, post_id):
    require_scope(request, "read")
    return get_object_or_404(_visible(request.auth.user), pk=post_id)


def _boxes(given):
    """Unsaved AffiliateBoxes for `given` (BoxIn dicts); ValidationError for a product
    the registry lacks or a box with nothing to show."""
    slugs = {box["product"] for box in given if box.get("product")}
    products = {product.slug: product for product in Product.objects.filter(slug__in=slugs)}
    boxes = []
    for position, box in enumerate(given):
        product = None
        if box.get("product"):
            product = products.get(box["product"])
            if product is None:
                raise ValidationError({"boxes": [_("Box %(number)s: no product has the slug “%(slug)s”.") % {"number": position + 1, "slug": box["product"]}]})
        made = AffiliateBox(
            product=product,
            keyword=box.get("keyword", ""),
            product_name=box.get("product_name", ""),
            reason=box.get("reason", ""),
            placement=box.get("placement", AffiliateBox.Placement.SUMMARY),
            position=position,
        )
        if not made.keyword.strip() and product is None:
            raise ValidationError({"boxes": [_("Box %(number)s: give a search keyword or a product.") % {"number": position + 1}]})
        boxes.append(made)
    return boxes


def write(request, data, post=None, *, external_id=None):
    """Save `data` (a PostIn or PostPatch dict of the fields sent) to `post`, or to a new
    post: the guardrails, then services.save_post in one revision with the boxes, the
    external id and the problems flagged. (post, problems as dicts)."""
    require_scope(request, "posts:write")
    token = request.auth
    user = token.user
    is_new = post is None
    if is_new:
        post = Post(author=user)
    elif not workflow.can_edit(user, post):
        raise PermissionDenied(_("You may not change this post."))
    for name in ("title", "body", "description", "cover_alt", "pr_notice", "expires_at"):
        if name in data and data[name] is not None:
            setattr(post, name, data[name])
    was_published = post.status == Post.Status.PUBLISHED and not is_new
    status = data.get("status") or (Post.Status.DRAFT if is_new else post.status)
    if data.get("published_at"):
        post.published_at = data["published_at"]
    elif status == Post.Status.PUBLISHED and not was_published:
        post.published_at = timezone.now()
    media = None
    if data.get("cover_media_id") is not None:
        media = MediaImage.objects.filter(pk=data["cover_media_id"]).first()
        if media is None:
            raise ValidationError({"cover_media_id": [_("No image has the id %(id)s: upload it with POST /api/v1/media first.") % {"id": data["cover_media_id"]}]})
    boxes = _boxes(data["boxes"]) if data.get("boxes") is not None else None
    outcome = guardrails.check(
        guardrails.Candidate(
            post=post,
            slug=data.get("slug") or "",
            status=status,
            categories=data.get("categories"),
            tags=data.get("tags"),
            cover_media=media,
            cover_url=data.get("cover_url"),
            title_changed=is_new or "title" in data,
        ),
        ApiPolicy.load(),
    )
    if outcome.flagged and status in (Post.Status.PUBLISHED, Post.Status.REVIEW):
        status = Post.Status.REVIEW
    if status == Post.Status.PUBLISHED and (not was_published or data.get("published_at")):
        # Scheduling in the past, or publishing as a writer, is refused here as in the admin.
        post.published_at = services.check_status(post, status, user=user, at=data.get("published_at"))
    post.status, post.slug, post.body = status, outcome.slug, outcome.body
    try:
        with transaction.atomic(), reversion.create_revision():
            reversion.set_user(user)
            reversion.set_comment(_("Saved through the API by the token “%(name)s”.") % {"name": token.name})
            if outcome.cover_file is not None:
                outcome.cover_media = uploads.add_to_library(
                    outcome.cover_file, original_name=outcome.cover_name, user=user, source=outcome.cover_source
                )
            if outcome.cover_media is not None:
                post.cover = outcome.cover_media.file.name
            categories = tags = None
            if outcome.categories is not None:
                categories = [*outcome.categories, *(Category.objects.get_or_create_by_name(name) for name in outcome.new_categories)]
            if outcome.tags is not None:
                tags = [tag if isinstance(tag, Tag) else Tag.objects.get_or_create_by_name(tag) for tag in outcome.tags]
            services.save_post(post, user=user, categories=categories, tags=tags)
            if boxes is not None:
                post.affiliate_boxes.all().delete()
                for box in boxes:
                    box.post = post
                    box.save()
            if external_id:
                ApiExternalId.objects.create(external_id=external_id, post=post, token=token)
            ApiProblem.objects.filter(post=post, resolved_at=None).update(resolved_at=timezone.now())
            ApiProblem.objects.bulk_create(
                ApiProblem(post=post, token=token, rule=problem.rule, field=problem.field, message=problem.message, detail=problem.detail)
                for problem in outcome.problems
                if problem.action == guardrails.FLAG
            )
            # Again, now that terms and boxes are set: the revision keeps the post as saved.
            reversion.add_to_revision(post)
    except IntegrityError:
        if Post.objects.filter(slug=post.slug).exclude(pk=post.pk).exists():
            raise guardrails.Refused(
                [guardrails.Problem("slug_taken", "refuse", _("The slug “%(slug)s” was just taken by another post.") % {"slug": post.slug}, "slug")],
                status=409,
                url=f"/posts/{post.slug}/",
            )
        raise
    note(request, post)
    return post, [problem.as_dict() for problem in outcome.problems]


def _by_external_id(external_id):
    return Post.objects.filter(api_external_id__external_id=external_id).first()


class PostFilters(Schema):
    status: Optional[schemas.Status] = None
    category: Optional[str] = Field(None, description="A category's slug.")
    tag: Optional[str] = Field(None, description="A tag's slug.")
    external_id: Optional[str] = None
    published_after: Optional[schemas.Moment] = None
    published_before: Optional[schemas.Moment] = None
    updated_after: Optional[schemas.Moment] = None
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=schemas.MAX_ID)


@router.get("", response={200: schemas.PostPage, **ERRORS}, summary="List posts")
def list_posts(request, filters: Query[PostFilters]):
    """Newest first. A writer token sees the posts it wrote; an editor's, every post."""
    require_scope(request, "read")
    posts = _visible(request.auth.user).defer(*Post.HEAVY_FIELDS)
    if filters.status:
        posts = posts.filter(status=filters.status)
    if filters.category:
        posts = posts.filter(categories__slug=filters.category)
    if filters.tag:
        posts = posts.filter(tags__slug=filters.tag)
    if filters.external_id:
        posts = posts.filter(api_external_id__external_id=filters.external_id)
    if filters.published_after:
        posts = posts.filter(published_at__gte=filters.published_after)
    if filters.published_before:
        posts = posts.filter(published_at__lt=filters.published_before)
    if filters.updated_after:
        posts = posts.filter(updated_at__gte=filters.updated_after)
    posts = posts.distinct()
    page = posts[filters.offset : filters.offset + filters.limit]
    return {"items": [summary(post) for post in page], "count": posts.count()}


@router.post("", response={200: schemas.PostOut, 201: schemas.PostOut, **ERRORS}, summary="Create a post", **WRITE)
@decorate_view(idempotent)
def create_post(request, data: schemas.PostIn):
    """A new post; with an `external_id` already known, that post as it is (200), so a
    retry never makes a second one. Flagged posts are saved in review."""
    require_scope(request, "posts:write")
    values = data.model_dump()
    external_id = values.pop("external_id", None)
    if external_id:
        existing = _by_external_id(external_id)
        if existing is not None:
            if not workflow.can_see(request.auth.user, existing):
                raise PermissionDenied(_("Another token's post has this external id."))
            note(request, existing)
            return Status(200, detail(existing))
    try:
        post, problems = write(request, values, external_id=external_id)
    except IntegrityError:
        existing = external_id and _by_external_id(external_id)
        if not existing:
            raise
        note(request, existing)
        return Status(200, detail(existing))  # the same external id, sent twice at once
    return Status(201, detail(post, problems))


@router.get("/by-external-id/{external_id}", response={200: schemas.PostOut, **ERRORS}, summary="Read a post by external id")
def get_post_by_external_id(request, external_id: str):
    require_scope(request, "read")
    return detail(get_object_or_404(_visible(request.auth.user), api_external_id__external_id=external_id))


@router.put(
    "/by-external-id/{external_id}",
    response={200: schemas.PostOut, 201: schemas.PostOut, **ERRORS},
    summary="Create or update a post by external id",
    **WRITE,
)
@decorate_view(idempotent)
def put_post_by_external_id(request, external_id: str, data: schemas.PostIn):
    """The post with this external id, updated to `data` (200), or made (201)."""
    require_scope(request, "posts:write")
    if len(external_id) > 200:
        raise ValidationError({"external_id": [_("An external id may be at most 200 characters.")]})
    values = data.model_dump()
    values.pop("external_id", None)
    existing = _by_external_id(external_id)
    if existing is None:
        try:
            post, problems = write(request, values, external_id=external_id)
            return Status(201, detail(post, problems))
        except IntegrityError:
            existing = _by_external_id(external_id)
            if existing is None:
                raise
    if not workflow.can_see(request.auth.user, existing):
        raise PermissionDenied(_("You may not change this post."))
    post, problems = write(request, values, existing)
    return Status(200, detail(post, problems))


@router.get("/{post_id}", response={200: schemas.PostOut, **ERRORS}, summary="Read a post")
def get_post(request, post_id: schemas.Id):
    return detail(_get(request, post_id))


@router.patch("/{post_id}", response={200: schemas.PostOut, **ERRORS}, summary="Update a post", **WRITE)
@decorate_view(idempotent)
def update_post(request, post_id: schemas.Id, data: schemas.PostPatch):
    """Only the fields sent change; the guardrails check the post as it will be."""
    post = _get(request, post_id)
    post, problems = write(request, data.model_dump(exclude_unset=True), post)
    return detail(post, problems)


@router.put("/{post_id}/boxes", response={200: schemas.PostOut, **ERRORS}, summary="Replace a post's affiliate boxes", **WRITE)
@decorate_view(idempotent)
def put_boxes(request, post_id: schemas.Id, data: list[schemas.BoxIn]):
    post = _get(request, post_id)
    post, problems = write(request, {"boxes": [box.model_dump() for box in data]}, post)
    return detail(post, problems)


def _open_problems(post):
    return [
        guardrails.Problem(problem.rule, "refuse", problem.message, problem.field, problem.detail)
        for problem in post.api_problems.filter(resolved_at=None)
    ]


@router.post("/{post_id}/publish", response={200: schemas.PostOut, **ERRORS}, summary="Publish or schedule a post", **WRITE)
@decorate_view(idempotent)
def publish_post(request, post_id: schemas.Id, data: schemas.PublishIn):
    """Editor tokens only. A post with open problems is refused: an editor looks at it
    in the admin first."""
    require_scope(request, "posts:write")
    post = _get(request, post_id)
    problems = _open_problems(post)
    if problems:
        raise guardrails.Refused(problems)
    services.publish(post, user=request.auth.user, at=data.at)
    note(request, post)
    return detail(post)


@router.post("/{post_id}/unpublish", response={200: schemas.PostOut, **ERRORS}, summary="Unpublish a post", **WRITE)
@decorate_view(idempotent)
def unpublish_post(request, post_id: schemas.Id):
    """Editor tokens only: readers no longer see the post."""
    require_scope(request, "posts:write")
    post = _get(request, post_id)
    services.unpublish(post, user=request.auth.user)
    note(request, post)
    return detail(post)


@schedule_router.get("", response={200: schemas.Schedule, **ERRORS}, summary="The publish schedule")
def schedule(request, days: int = Query(7, ge=1, le=62)):
    """Scheduled posts, in order, and for each of the next `days` days the posts
    headed for it against the site's daily cap."""
    require_scope(request, "read")
    scheduled = Post.objects.scheduled().defer(*Post.HEAVY_FIELDS).prefetch_related("categories").order_by("published_at")[:200]
    cap = ApiPolicy.load().daily_cap_posts
    today = timezone.localdate()
    return {
        "scheduled": [
            {
                "id": post.pk,
                "url": post.get_absolute_url(),
                "title": post.title,
                "published_at": post.published_at,
                "categories": [category.name for category in post.categories.all()],
            }
            for post in scheduled
        ],
        "days": [
            {"date": day.isoformat(), "posts": guardrails.day_count(day), "cap": cap}
            for day in (today + timedelta(days=offset) for offset in range(days))
        ],
    }

