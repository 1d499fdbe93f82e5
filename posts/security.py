"""Signing in to the admin: lockouts after failed passwords, and a second factor.

django-axes counts failed passwords in the database (not the cache, which may be down),
for the account and for the address apart; either one over its limit locks sign-in
until its failures are AXES_COOLOFF_TIME old. A staff member with an authenticator app
(a confirmed django-otp TOTP device) gives its code after the password, and with
KIJI_REQUIRE_2FA_FOR_ADMINS members of the Admin group and superusers must add one
first. The admin site below (the default one, through cms.apps.AdminConfig) stays
closed to a staff member until the step they owe is done. docs/roles.md, "Signing in",
says what people see.
"""

import ipaddress
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.db.models import Max, Sum
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

ADMIN_GROUP = "Admin"
VERIFY, SETUP = "verify", "setup"
# The secret of an authenticator app being added, kept until its first code proves it.
PENDING_KEY = "kiji_pending_totp_key"


# Failed passwords


def client_ip(request):
    """The address a sign-in comes from (AXES_CLIENT_IP_CALLABLE): REMOTE_ADDR, or behind
    KIJI_TRUSTED_PROXY_COUNT proxies that each append to X-Forwarded-For, the address the
    outermost of them saw. Entries further left are whatever the client sent."""
    count = settings.KIJI_TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if count and len(forwarded) >= count:
        try:
            return str(ipaddress.ip_address(forwarded[-count]))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR")


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check, first in AUTHENTICATION_BACKENDS: a locked account or address is
    refused before its password is looked at."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        # A program checking a password (the test client's login(), a shell) has no
        # request and so no address to count; axes would raise instead.
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


@dataclass
class Lock:
    """Recent failed sign-ins of one account and from one address."""

    username: str
    address: str
    account_failures: int
    address_failures: int
    account_last: datetime | None
    address_last: datetime | None

    @property
    def account_locked(self):
        return self.account_failures >= settings.AXES_FAILURE_LIMIT

    @property
    def address_locked(self):
        return self.address_failures >= settings.KIJI_LOGIN_ADDRESS_FAILURE_LIMIT

    def __bool__(self):
        return self.account_locked or self.address_locked

    @property
    def until(self):
        """A time by which every lock that applies has ended: its latest failure, cooled
        off. (A lock may end sooner, once the failures still counting are too few.)"""
        lasts = [
            last
            for locked, last in [(self.account_locked, self.account_last), (self.address_locked, self.address_last)]
            if locked and last
        ]
        return max(lasts) + get_cool_off() if lasts else None


def _tally(attempts):
    """How many failures `attempts` hold, and when the latest was."""
    row = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    return row["failures"] or 0, row["last"]


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for an address: several people
    behind one office router share it, so it may fail more often than one account."""

    def lock(self, request, credentials=None):
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        username = get_client_username(request, credentials)
        account_failures, account_last = _tally(recent.filter(username=username))
        address_failures, address_last = _tally(recent.filter(ip_address=request.axes_ip_address))
        return Lock(
            username or "", request.axes_ip_address or "", account_failures, address_failures, account_last, address_last
        )

    def get_failures(self, request, credentials=None):
        # Axes compares this with AXES_FAILURE_LIMIT, the account's limit.
        lock = self.lock(request, credentials)
        return max(lock.account_failures, settings.AXES_FAILURE_LIMIT if lock.address_locked else 0)

    def reset_user_attempts(self, request, credentials=None):
        # On success, forget this client's failures for this account only. Axes would
        # also forget every failure from the address, for any account, so that anyone
        # with an account of their own could sign in between guesses at another's.
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username, ip_address=request.axes_ip_address).delete()
        return count


def lockout_response(request, response=None, credentials=None):
    """The page a locked sign-in gets (AXES_LOCKOUT_CALLABLE): what is locked, and until
    when; 429 Too Many Requests, with Retry-After."""
    lock = LockoutHandler().lock(request, credentials)
    until = lock.until or timezone.now() + get_cool_off()
    context = {
        **admin.site.each_context(request),
        "title": _("Login locked"),
        "lock": lock,
        "until": until,
    }
    locked = TemplateResponse(request, "admin/lockout.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
    locked["Retry-After"] = str(max(1, int((until - timezone.now()).total_seconds()) + 1))
    return locked.render()


# The second factor


def must_use_two_factor(user):
    """Whether the settings require `user` to sign in with an authenticator app."""
    return settings.KIJI_REQUIRE_2FA_FOR_ADMINS and (
        user.is_superuser or user.groups.filter(name=ADMIN_GROUP).exists()
    )


def pending_step(request):
    """What the signed-in staff member must still do before the admin opens: VERIFY
    (give their app's code), SETUP (add the app the settings require) or None."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return None
    # django-otp's middleware gives request.user is_verified(); the user that login()
    # has just put there has given no code yet.
    if getattr(user, "is_verified", lambda: False)():
        return None
    if not hasattr(user, "_kiji_pending_step"):
        user._kiji_pending_step = VERIFY if user_has_device(user) else SETUP if must_use_two_factor(user) else None
    return user._kiji_pending_step


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "size": 8}
        ),
        help_text=gettext_lazy("The 6-digit code your authenticator app shows now."),
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit():
            raise forms.ValidationError(_("Enter the code as digits only, for example 123456."))
        return code


def verified_device(user, code):
    """The confirmed device of `user` that accepts `code`, or an error message saying
    what to do. Devices refuse codes for a while after wrong ones (django-otp doubles
    the wait after each: 1, 2, 4… seconds)."""
    with transaction.atomic():
        devices = list(devices_for_user(user, for_verify=True))
        waits = [extra for allowed, extra in (device.verify_is_allowed() for device in devices) if not allowed]
        if not waits:
            for device in devices:
                if device.verify_token(code):
                    return device, None
    if waits:
        until = max(extra.get("locked_until") or timezone.now() for extra in waits)
        return None, _("Too many wrong codes. Wait until %(time)s and try again.") % {
            "time": timezone.localtime(until).strftime("%H:%M:%S")
        }
    return None, _("That code is not right. Enter the code your authenticator app shows now.")


def new_device_confirmed(device, code):
    """Whether `code` is right for the unsaved `device`; if so, remember it as used."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if not totp.verify(int(code), device.tolerance):
        return False
    device.last_t, device.drift = totp.t(), totp.drift
    return True


def qr_svg(uri):
    """`uri` as an inline SVG QR code, on white so that it scans in the dark theme too
    (shapes only: nothing from `uri` is in it as text)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=14)
    return mark_safe(image.to_string(encoding="unicode"))


def staff_only(view):
    """The two-factor pages: for a signed-in staff member, who may owe a step and so
    be shut out of the rest of the admin."""

    @wraps(view)
    def inner(site, request):
        if not (request.user.is_active and request.user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if request.method == "POST" and "sign_out" in request.POST:
            logout(request)
            return redirect("admin:login")
        return view(site, request)

    return inner


def next_url(request):
    """Where to go once the step is done: the `next` the login page carried, if it is ours."""
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("admin:index")


def step_url(step, target):
    url = reverse("admin:two_factor_verify" if step == VERIFY else "admin:two_factor")
    return f"{url}?{urlencode({REDIRECT_FIELD_NAME: target})}" if target else url


class AdminSite(admin.AdminSite):
    """Django's admin site, closed to a staff member who owes a second factor and
    sending them, from the login page, to the page that takes it."""

    def has_permission(self, request):
        return super().has_permission(request) and pending_step(request) is None

    def login(self, request, extra_context=None):
        # Every admin view sends a visitor it refuses to the login page, with `next`.
        if request.method == "GET" and (step := pending_step(request)):
            return redirect(step_url(step, request.GET.get(REDIRECT_FIELD_NAME)))
        response = super().login(request, extra_context)
        if request.method == "POST" and response.status_code == 302 and (step := pending_step(request)):
            return redirect(step_url(step, request.POST.get(REDIRECT_FIELD_NAME)))
        return response

    def get_urls(self):
        return [
            path("two-factor/", never_cache(self.two_factor_view), name="two_factor"),
            path("two-factor/verify/", never_cache(self.verify_view), name="two_factor_verify"),
            *super().get_urls(),
        ]

    @staff_only
    def verify_view(self, request):
        """The code, after the password, of a staff member who has an authenticator app."""
        step = pending_step(request)
        if step != VERIFY:
            return redirect(step_url(SETUP, next_url(request)) if step == SETUP else next_url(request))
        form = CodeForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            device, error = verified_device(request.user, form.cleaned_data["code"])
            if device:
                otp_login(request, device)
                request.session.cycle_key()
                return redirect(next_url(request))
            form.add_error("code", error)
        context = {
            **self.each_context(request),
            "title": _("Two-factor authentication"),
            "form": form,
            "next": next_url(request),
        }
        return TemplateResponse(request, "admin/two_factor/verify.html", context)

    @staff_only
    def two_factor_view(self, request):
        """A staff member adds (or replaces, or turns off) their own authenticator app;
        it is saved only once it has given a right code."""
        user = request.user
        if pending_step(request) == VERIFY:
            # Changing the app needs its code first, not just the password.
            return redirect(step_url(VERIFY, request.get_full_path()))
        devices = list(devices_for_user(user))
        required = must_use_two_factor(user)
        if request.method == "POST" and "turn_off" in request.POST and devices and not required:
            for device in devices:
                device.delete()
            messages.success(request, _("Two-factor authentication is off. You log in with your password alone."))
            return redirect("admin:two_factor")

        device = TOTPDevice(user=user, name=_("Authenticator app"), key=request.session.setdefault(PENDING_KEY, random_hex(20)))
        form = CodeForm(request.POST if request.method == "POST" and "code" in request.POST else None)
        if form.is_valid():
            if new_device_confirmed(device, form.cleaned_data["code"]):
                with transaction.atomic():
                    TOTPDevice.objects.filter(user=user).delete()
                    device.save()
                del request.session[PENDING_KEY]
                otp_login(request, device)
                request.session.cycle_key()
                messages.success(request, _("Two-factor authentication is on. From now on you log in with your password and a code from the app."))
                return redirect(next_url(request))
            form.add_error("code", _("That code is not right. Enter the code the app shows now for this account; it changes every 30 seconds."))
        key = b32encode(device.bin_key).decode()
        context = {
            **self.each_context(request),
            "title": _("Two-factor authentication"),
            "form": form,
            "devices": devices,
            "required": required,
            "qr": qr_svg(device.config_url),
            "key": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
            "uri": device.config_url,
            "next": next_url(request),
        }
        return TemplateResponse(request, "admin/two_factor/setup.html", context)
