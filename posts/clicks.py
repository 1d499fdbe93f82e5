"""Counting clicks on store buttons, and views of articles, with nothing about the reader.

A store link keeps the store's own URL (Amazon forbids redirects and cloaking); the
browser tells Kiji of a click with the link's `ping` attribute, or, where it has no
ping (Firefox), a `navigator.sendBeacon` from static/js/kiji.js; an article's view
is a beacon too, so cached pages count. Each is one POST to a first-party endpoint
that adds one to a count per day. No cookie is set or read and no address is stored:
addresses are only used, hashed and for a minute, to refuse a flood. Bots (by their
user agent) and prefetches are not counted, and no answer is ever cached.
"""

import hashlib
import hmac
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import ClickCount, Post, Product, ViewCount
from .pagecache import store
from .security import client_ip

BOT_RE = re.compile(
    r"bot|crawl|spider|slurp|preview|scan|monitor|headless|lighthouse|facebookexternalhit|"
    r"embedly|python-|curl/|wget/|go-http|okhttp|java/|httpclient|axios|node-fetch",
    re.IGNORECASE,
)
BOX_RE = re.compile(r"^(?:body|(?:summary|end|marker)-\d{1,3})\Z")
PREFETCH_HEADERS = {"Sec-Purpose": "prefetch", "Purpose": "prefetch", "X-Purpose": "preview", "X-Moz": "prefetch"}
# Counts one address may add in a minute: a reader clicks a few buttons, not hundreds.
PER_MINUTE = 30


def _nothing():
    return HttpResponse(status=204)


def _from_a_reader(request):
    """Whether the request is a person's browser, not a bot, a prefetch or a flood."""
    agent = request.headers.get("User-Agent", "")
    if not agent or BOT_RE.search(agent):
        return False
    if any(word in request.headers.get(name, "").lower() for name, word in PREFETCH_HEADERS.items()):
        return False
    address = client_ip(request) or ""
    # A keyed hash, counted for a minute from the first request it makes: the address
    # itself is never kept.
    key = hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]
    seen = store.incr(f"kiji:clicks:{key}", 60)
    return seen is None or seen <= PER_MINUTE  # without a cache, nothing to count with


def _live_post(request):
    try:
        post_id = int(request.GET.get("p", ""))
    except ValueError:
        return None
    return Post.objects.published().filter(pk=post_id).values_list("pk", flat=True).first()


def _add_one(model, **fields):
    """Add one to the day's row for `fields`, making it if it is the first."""
    with transaction.atomic():
        if model.objects.filter(**fields).update(count=F("count") + 1):
            return
        try:
            with transaction.atomic():
                model.objects.create(**fields, count=1)
        except IntegrityError:  # another request made it meanwhile
            model.objects.filter(**fields).update(count=F("count") + 1)


@csrf_exempt
@require_POST
@never_cache
def click(request):
    """A click on a store link: ?p=post&s=store&b=box[&r=product]."""
    store_name, box = request.GET.get("s", ""), request.GET.get("b", "")
    if store_name not in ClickCount.Store.values or not BOX_RE.match(box):
        return _nothing()
    post_id = _live_post(request)
    if post_id is None or not _from_a_reader(request):
        return _nothing()
    product = request.GET.get("r", "")
    product_id = Product.objects.filter(pk=int(product)).values_list("pk", flat=True).first() if product.isdigit() else None
    fields = {"day": timezone.localdate(), "post_id": post_id, "box": box, "store": store_name}
    with transaction.atomic():
        _add_one(ClickCount, **fields)
        if product_id:
            ClickCount.objects.filter(**fields, product__isnull=True).update(product_id=product_id)
    return _nothing()


@csrf_exempt
@require_POST
@never_cache
def view(request):
    """An article's page was shown: ?p=post."""
    post_id = _live_post(request)
    if post_id is not None and _from_a_reader(request):
        _add_one(ViewCount, day=timezone.localdate(), post_id=post_id)
    return _nothing()
