"""The Content-Security-Policy: django-csp's middleware with AdSense's hosts added to
the pages that load its ads, and an endpoint that logs browsers' violation reports.

The policy itself is in settings (CONTENT_SECURITY_POLICY); the README says how to
switch it to report-only and where reports go.
"""

import json
import logging
import threading
import time

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError
from django.dispatch import receiver
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import SiteSettings

logger = logging.getLogger(__name__)

# What adsbygoogle.js and the ads it places load today. Google supports only a
# nonce-based policy for AdSense ("the domains change over time"), which cached pages
# cannot carry (a nonce must be new for each response), so this list is kept by hand:
# turn CSP_REPORT_ONLY on when ads are first switched on, and add what reports name.
ADSENSE = {
    "script-src": [
        "https://pagead2.googlesyndication.com",
        "https://tpc.googlesyndication.com",
        "https://partner.googleadservices.com",
        "https://www.googletagservices.com",
        "https://adservice.google.com",
        "https://fundingchoicesmessages.google.com",
        "https://*.adtrafficquality.google",
    ],
    "img-src": [
        "https://pagead2.googlesyndication.com",
        "https://tpc.googlesyndication.com",
        "https://googleads.g.doubleclick.net",
        "https://www.google.com",
        "https://*.adtrafficquality.google",
    ],
    # Ads render in cross-origin frames (SafeFrame), whose own contents our policy
    # does not govern.
    "frame-src": [
        "https://googleads.g.doubleclick.net",
        "https://tpc.googlesyndication.com",
        "https://*.safeframe.googlesyndication.com",
        "https://www.google.com",
        "https://fundingchoicesmessages.google.com",
        "https://*.adtrafficquality.google",
    ],
    "connect-src": [
        "https://pagead2.googlesyndication.com",
        "https://googleads.g.doubleclick.net",
        "https://fundingchoicesmessages.google.com",
        "https://*.adtrafficquality.google",
    ],
}
# How base.html loads AdSense. A post body cannot hold it: the sanitizer drops scripts
# and text shows it escaped.
ADSENSE_LOADER = b'<script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js'


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's header, plus AdSense's hosts on pages that load adsbygoogle.js.

    It sits outside the page cache, so that a cache hit gets the header too, made from
    the current settings: nothing a view sets on its response survives in the cache."""

    def process_response(self, request, response):
        # A 304 has no page to govern, and a browser may copy its headers onto the
        # page it keeps: that page's own policy must stay.
        if response.status_code == 304:
            return response
        # django-csp's own process_response, but with each policy built once per
        # process: building it (a deep copy of the parts, then the string) cost more
        # than the rest of a cache hit.
        if response.status_code in (404, 500) and settings.DEBUG:
            return response  # Django's debug pages have inline scripts
        for report_only, header, exempt, setting in (
            (False, HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (True, HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            if header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if request.path_info.startswith(tuple(prefixes)):
                continue
            policy = _policy(self.get_policy_parts(request, response, report_only), report_only)
            if policy:
                response[header] = policy
        if getattr(request, "_csp_nonce", None) is None:
            # As django-csp does: a nonce asked for now would be in no header.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if _loads_ads(response):
            parts.update = _merged(ADSENSE, parts.update or {})
        return parts


_policies = {}


def _policy(parts, report_only):
    """The header for `parts`; built once per set of parts, unless it carries a nonce."""
    if parts.nonce is not None:
        return build_policy(parts.config, parts.update, parts.replace, parts.nonce, report_only)
    key = (report_only, repr(parts.config), repr(parts.update), repr(parts.replace))
    policy = _policies.get(key)
    if policy is None:
        policy = _policies[key] = build_policy(parts.config, parts.update, parts.replace, None, report_only)
    return policy


@receiver(setting_changed)
def _forget_policies(setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _policies.clear()


def _loads_ads(response):
    if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
        return False
    if not response.has_header("Content-Encoding"):
        return ADSENSE_LOADER in response.content
    # Compressed: a reader's page from the page cache, made with the current site
    # settings (a change to them makes every page again).
    try:
        return bool(SiteSettings.load().adsense_client)
    except DatabaseError:
        return False


def _merged(*updates):
    merged = {}
    for update in updates:
        for directive, sources in update.items():
            merged[directive] = [*merged.get(directive, []), *sources]
    return merged


# Reports cost a log line each, and anyone can send them: each process logs at most
# this many a minute and ignores bodies longer than a real report.
REPORTS_PER_MINUTE = 60
MAX_REPORT_BYTES = 8 * 1024
FIELD_CHARS = 300
_window = {"start": 0.0, "count": 0}
_window_lock = threading.Lock()


@csrf_exempt  # browsers send reports without a token, and they change nothing
@require_POST
@never_cache
def report(request):
    """Log one `report-uri` violation report (application/csp-report); always 204."""
    body = request.read(MAX_REPORT_BYTES + 1)
    if len(body) <= MAX_REPORT_BYTES and _within_budget():
        violation = _violation(body)
        if violation is not None:
            logger.warning(
                "CSP %s: %s refused %s on %s (%s:%s)",
                _field(violation.get("disposition")),
                _field(violation.get("effective-directive") or violation.get("violated-directive")),
                _field(violation.get("blocked-uri")),
                _field(violation.get("document-uri")),
                _field(violation.get("source-file")),
                _field(violation.get("line-number")),
            )
    return HttpResponse(status=204)


def _within_budget():
    now = time.monotonic()
    with _window_lock:
        if now - _window["start"] >= 60:
            _window["start"], _window["count"] = now, 0
        _window["count"] += 1
        if _window["count"] == REPORTS_PER_MINUTE + 1:
            logger.warning("CSP: more than %s reports this minute; the rest are not logged", REPORTS_PER_MINUTE)
        return _window["count"] <= REPORTS_PER_MINUTE


def _violation(body):
    try:
        violation = json.loads(body).get("csp-report")
    except (ValueError, AttributeError):
        return None
    return violation if isinstance(violation, dict) else None


def _field(value):
    """`value` shortened, on one line: a report's text must not forge log lines."""
    text = "-" if value in (None, "") else str(value)[:FIELD_CHARS]
    return json.dumps(text, ensure_ascii=False)[1:-1]
