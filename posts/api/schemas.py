"""What goes in and out of the API, as pydantic schemas: they validate requests and
make the OpenAPI document."""

from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Optional

from django.utils import timezone as django_timezone
from ninja import Path, Schema
from pydantic import AfterValidator, Field

Status = Literal["draft", "review", "published", "unpublished"]
Placement = Literal["summary", "end"]
Mode = Literal["off", "flag", "refuse"]

# Lengths the database enforces (Post, Term, Product, AffiliateBox).
TITLE = 300
SLUG = 255
NAME = 200
# Ids fit a 64-bit column (SQLite and PostgreSQL refuse larger numbers outright).
MAX_ID = 2**62
Id = Path[Annotated[int, Field(ge=1, le=MAX_ID)]]


def _in_utc(moment):
    """A time as the database keeps it: in UTC (a time without a zone is the site's).
    PostgreSQL refuses offsets past ±16 hours that ISO 8601 allows, and no database
    takes a year outside 1–9999 once it is moved to UTC."""
    if django_timezone.is_naive(moment):
        moment = django_timezone.make_aware(moment)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("the time is out of range once moved to UTC") from None


# Every time a request gives: checked and moved to UTC before any query sees it.
Moment = Annotated[datetime, AfterValidator(_in_utc)]


class Problem(Schema):
    """Something a guardrail found: `action` says what came of it."""

    rule: str = Field(description="The guardrail: slug_taken, similar_title, description, cover_alt, remote_cover, internal_links, unknown_category, sanitized_body, category_quota, daily_cap.")
    action: Literal["flag", "refuse", "fixed"] = Field(description="refuse: nothing saved; flag: saved, for an editor to review; fixed: corrected, nothing to do.")
    field: str = ""
    message: str
    detail: dict[str, Any] = {}


class Error(Schema):
    detail: str
    problems: list[Problem] = []
    errors: list[dict[str, Any]] = []
    url: Optional[str] = Field(None, description="For a slug another post has: that post's URL.")


class Term(Schema):
    id: int
    name: str
    slug: str
    url: str
    description: str = ""


class TermIn(Schema):
    name: str = Field(min_length=1, max_length=NAME)
    slug: str = Field("", max_length=SLUG)
    description: str = ""


class BoxIn(Schema):
    """An affiliate box: a product of the registry (by slug), or a search keyword."""

    product: Optional[str] = Field(None, max_length=SLUG, description="Slug of a product in the registry.")
    keyword: str = Field("", max_length=200)
    product_name: str = Field("", max_length=200)
    reason: str = Field("", max_length=300)
    placement: Placement = "summary"


class Box(Schema):
    id: int
    product: Optional[str]
    keyword: str
    product_name: str
    reason: str
    placement: Placement
    position: int


class Cover(Schema):
    url: str
    alt: str
    width: Optional[int]
    height: Optional[int]


class PostIn(Schema):
    """A whole post. Terms are names (or slugs); a cover is an uploaded image's id
    (POST /media) or, if the policy allows, a remote URL that Kiji downloads."""

    title: str = Field(min_length=1, max_length=TITLE)
    slug: str = Field("", max_length=SLUG, description="Left blank: made from the title, and unique.")
    body: str = Field("", description="Markdown.")
    description: str = ""
    status: Status = "draft"
    published_at: Optional[Moment] = Field(None, description="Publish time; in the future, the post is scheduled. Blank: now.")
    expires_at: Optional[Moment] = None
    categories: list[str] = []
    tags: list[str] = []
    cover_media_id: Optional[int] = Field(None, ge=1, le=MAX_ID, description="An image uploaded with POST /media.")
    cover_url: Optional[str] = Field(None, max_length=2048, description="A remote image, downloaded through the safe fetcher.")
    cover_alt: str = Field("", max_length=TITLE)
    pr_notice: Literal["", "show", "hide"] = ""
    boxes: list[BoxIn] = []
    external_id: Optional[str] = Field(None, min_length=1, max_length=200, description="Your id for the post: sending it again updates that post.")


class PostPatch(Schema):
    """Only the fields given change."""

    title: Optional[str] = Field(None, min_length=1, max_length=TITLE)
    slug: Optional[str] = Field(None, max_length=SLUG)
    body: Optional[str] = None
    description: Optional[str] = None
    status: Optional[Status] = None
    published_at: Optional[Moment] = None
    expires_at: Optional[Moment] = None
    categories: Optional[list[str]] = None
    tags: Optional[list[str]] = None
    cover_media_id: Optional[int] = Field(None, ge=1, le=MAX_ID)
    cover_url: Optional[str] = Field(None, max_length=2048)
    cover_alt: Optional[str] = Field(None, max_length=TITLE)
    pr_notice: Optional[Literal["", "show", "hide"]] = None
    boxes: Optional[list[BoxIn]] = None


class PostSummary(Schema):
    id: int
    url: str
    title: str
    slug: str
    status: Status
    publication: str = Field(description="live, scheduled, expired, review, draft or unpublished.")
    published_at: datetime
    updated_at: datetime
    external_id: Optional[str]


class PostOut(PostSummary):
    body: str
    description: str
    summary: str
    expires_at: Optional[datetime]
    categories: list[Term]
    tags: list[Term]
    cover: Optional[Cover]
    pr_notice: str
    boxes: list[Box]
    author: Optional[str]
    problems: list[Problem] = Field(description="Open problems the guardrails flagged.")


class PostPage(Schema):
    items: list[PostSummary]
    count: int


class PublishIn(Schema):
    at: Optional[Moment] = Field(None, description="In the future: scheduled for then. Blank: now.")


class Media(Schema):
    id: int
    url: str
    width: int
    height: int
    size: int
    markdown: str


class ProductIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field("", max_length=SLUG)
    keyword: str = Field(min_length=1, max_length=200)
    reason: str = Field("", max_length=300)
    image_media_id: Optional[int] = Field(None, ge=1, le=MAX_ID)
    image_alt: str = Field("", max_length=300)
    asin: str = Field("", max_length=10)
    rakuten_url: str = Field("", max_length=1000)
    yahoo_url: str = Field("", max_length=1000)


class ProductPatch(Schema):
    name: Optional[str] = Field(None, min_length=1, max_length=200)
    keyword: Optional[str] = Field(None, min_length=1, max_length=200)
    reason: Optional[str] = Field(None, max_length=300)
    image_media_id: Optional[int] = Field(None, ge=1, le=MAX_ID)
    image_alt: Optional[str] = Field(None, max_length=300)
    asin: Optional[str] = Field(None, max_length=10)
    rakuten_url: Optional[str] = Field(None, max_length=1000)
    yahoo_url: Optional[str] = Field(None, max_length=1000)


class Product(Schema):
    id: int
    name: str
    slug: str
    keyword: str
    reason: str
    image_url: Optional[str]
    image_alt: str
    asin: str
    rakuten_url: str
    yahoo_url: str


class ScheduledPost(Schema):
    id: int
    url: str
    title: str
    published_at: datetime
    categories: list[str]


class ScheduleDay(Schema):
    date: str
    posts: int = Field(description="Published or in review with a publish time that day.")
    cap: int = Field(description="The site's daily cap; 0: none.")


class Schedule(Schema):
    scheduled: list[ScheduledPost]
    days: list[ScheduleDay]


class Me(Schema):
    name: str
    role: str
    scopes: list[str]
    expires_at: Optional[datetime]
    rate_per_minute: int
