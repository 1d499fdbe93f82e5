"""Signing in to the admin: lockouts after failed passwords, the second factor, passwords."""

import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import logged_in, member

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
ACCOUNT_LOCKED = "アカウント「{}」はログインの失敗が続いたため、ロックされています。"
ADDRESS_LOCKED = "このアドレス（{}）からのログインの失敗が続いたため、ここからのログインはロックされています。"
WRONG_PASSWORD = "正しいユーザー名とパスワードを入力してください"


def log_in(client, username, password="pw", address="127.0.0.1", **extra):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address, **extra)


def fail(client, username, times, address="127.0.0.1", **extra):
    for _ in range(times):
        response = log_in(client, username, "wrong password", address, **extra)
    return response


def text(response):
    return response.content.decode()


def signed_in(client):
    return client.get("/admin/").status_code == 200


# Failed passwords


def test_five_wrong_passwords_lock_the_account_even_against_the_right_password(client):
    member("Writer", "writer")
    response = fail(client, "writer", 4)
    assert response.status_code == 200 and WRONG_PASSWORD in text(response)

    before = timezone.localtime()
    fifth = fail(client, "writer", 1)
    after = timezone.localtime()
    assert fifth.status_code == 429
    assert ACCOUNT_LOCKED.format("writer") in text(fifth)
    cooled = {f"{moment + timezone.timedelta(minutes=15):%Y-%m-%d %H:%M}" for moment in (before, after)}
    assert any(f"{when} 以降にもう一度お試しください" in text(fifth) for when in cooled)
    assert 890 <= int(fifth["Retry-After"]) <= 901

    right = log_in(client, "writer")
    assert right.status_code == 429 and ACCOUNT_LOCKED.format("writer") in text(right)
    assert not signed_in(client)
    # The account is locked wherever the next try comes from.
    assert log_in(Client(), "writer", address="198.51.100.7").status_code == 429


def test_an_address_with_too_many_failures_is_locked_for_every_account(client):
    member("Writer", "writer")
    for number in range(5):
        fail(client, f"guess-{number}", 4, address="203.0.113.9")  # each account stays under its limit

    locked = log_in(client, "writer", address="203.0.113.9")
    assert locked.status_code == 429
    assert ADDRESS_LOCKED.format("203.0.113.9") in text(locked)
    assert ACCOUNT_LOCKED.format("writer") not in text(locked)
    assert log_in(client, "writer", address="203.0.113.10").status_code == 302


def test_a_successful_login_resets_the_count(client):
    member("Writer", "writer")
    fail(client, "writer", 4)
    assert log_in(client, "writer").status_code == 302
    client.post("/admin/logout/")

    assert fail(client, "writer", 4).status_code == 200
    assert log_in(client, "writer").status_code == 302


def test_lockouts_are_listed_in_the_admin_for_the_admin_group_only(client):
    member("Writer", "writer")
    fail(client, "writer", 5)
    admin_member = logged_in(member("Admin", "boss"))

    attempts = admin_member.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200
    assert "writer" in text(attempts) and "127.0.0.1" in text(attempts)
    assert "writer" in text(admin_member.get("/admin/axes/accessfailurelog/"))
    for group in ["Writer", "Editor"]:
        other = logged_in(member(group, f"{group.lower()}-member"))
        assert other.get("/admin/axes/accessattempt/").status_code == 403
        assert "/admin/axes/" not in text(other.get("/admin/"))


def test_deleting_the_attempt_in_the_admin_lifts_the_lock(client):
    member("Writer", "writer")
    fail(client, "writer", 5)
    admin_member = logged_in(member("Admin", "boss"))
    attempt = re.search(r'/admin/axes/accessattempt/(\d+)/change/', text(admin_member.get("/admin/axes/accessattempt/")))

    delete_url = f"/admin/axes/accessattempt/{attempt.group(1)}/delete/"
    assert admin_member.post(delete_url, {"post": "yes"}).status_code == 302
    assert log_in(client, "writer").status_code == 302


def test_axes_reset_username_lifts_the_lock(client, capsys):
    member("Writer", "writer")
    fail(client, "writer", 5)

    call_command("axes_reset_username", "writer")

    assert "1 attempts removed." in capsys.readouterr().out
    assert log_in(client, "writer").status_code == 302


def test_the_address_is_read_from_x_forwarded_for_only_behind_configured_proxies(client, settings):
    settings.KIJI_LOGIN_ADDRESS_FAILURE_LIMIT = 3
    member("Writer", "writer")
    # Unconfigured, a client cannot pick its address: the header is ignored.
    for number in range(3):
        fail(client, f"guess-{number}", 1, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    assert log_in(client, "writer", HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429

    call_command("axes_reset")
    settings.KIJI_TRUSTED_PROXY_COUNT = 1
    for number in range(3):  # the proxy appends the address it saw; what is left of it is the client's own say
        fail(client, f"guess-{number}", 1, HTTP_X_FORWARDED_FOR=f"10.9.9.{number}, 198.51.100.20")
    assert log_in(client, "writer", HTTP_X_FORWARDED_FOR="198.51.100.20").status_code == 429
    assert log_in(client, "writer", HTTP_X_FORWARDED_FOR="198.51.100.20, 198.51.100.21").status_code == 302


def test_lockouts_work_with_the_cache_down(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}}
    member("Writer", "writer")
    assert fail(client, "writer", 5).status_code == 429
    assert log_in(client, "writer").status_code == 429


# The second factor


def add_app(user):
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def code(key, later=0):
    """The code an authenticator app with the hex `key` shows, `later` seconds from now."""
    totp = TOTP(bytes.fromhex(key))
    totp.time = time.time() + later
    return f"{totp.token():06d}"


def test_a_user_with_an_authenticator_app_gives_its_code_after_the_password(client):
    device = add_app(member("Writer", "writer"))

    response = log_in(client, "writer")
    assert response.status_code == 302 and response["Location"] == "/admin/two-factor/verify/?next=%2Fadmin%2F"
    assert not signed_in(client)
    assert client.get("/admin/posts/post/")["Location"].startswith(LOGIN)
    page = client.get("/admin/two-factor/verify/?next=/admin/posts/post/")
    assert "認証アプリに表示されているこのサイトのコードを入力してください" in text(page)

    wrong = client.post("/admin/two-factor/verify/", {"code": "000000" if code(device.key) != "000000" else "111111"})
    assert wrong.status_code == 200 and "コードが正しくありません" in text(wrong)
    assert not signed_in(client)

    device.refresh_from_db()
    device.throttling_failure_timestamp -= timezone.timedelta(seconds=2)  # the wait after one wrong code is over
    device.save()
    right = client.post("/admin/two-factor/verify/?next=/admin/posts/post/", {"code": code(device.key), "next": "/admin/posts/post/"})
    assert right["Location"] == "/admin/posts/post/"
    assert signed_in(client)


def test_a_code_straight_after_a_wrong_one_must_wait(client):
    device = add_app(member("Writer", "writer"))
    log_in(client, "writer")
    client.post("/admin/two-factor/verify/", {"code": "12345678"})

    too_soon = client.post("/admin/two-factor/verify/", {"code": code(device.key)})
    assert "間違ったコードが続きました" in text(too_soon)
    assert not signed_in(client)


def test_the_login_form_alone_never_opens_the_admin_to_a_user_with_an_app(client):
    add_app(member("Writer", "writer"))
    log_in(client, "writer")
    for url in ["/admin/", "/admin/posts/post/", "/admin/password_change/", "/admin/two-factor/", "/admin/posts/post/add/"]:
        last_url, _status = client.get(url, follow=True).redirect_chain[-1]
        assert last_url.startswith("/admin/two-factor/verify/?next="), url


def shown_key(html):
    """The key the setup page shows for typing in by hand, as hex."""
    from base64 import b32decode

    key = re.search(r"<code>([A-Z2-7 ]{20,})</code>", html).group(1)
    return b32decode(key.replace(" ", "")).hex()


def test_setting_up_an_app_saves_it_only_after_a_right_code():
    writer = member("Writer", "writer")
    client = logged_in(writer)
    page = text(client.get("/admin/two-factor/"))
    assert "<svg" in page and "otpauth://totp/Kiji%3Awriter?secret=" in page
    key = shown_key(page)

    wrong = client.post("/admin/two-factor/", {"code": "000000" if code(key) != "000000" else "111111"})
    assert "コードが正しくありません" in text(wrong)
    assert not TOTPDevice.objects.exists()
    assert shown_key(text(wrong)) == key  # the app already scanned still fits

    right = client.post("/admin/two-factor/", {"code": code(key)})
    assert right.status_code == 302
    device = TOTPDevice.objects.get(user=writer)
    assert device.confirmed and device.key == key
    assert signed_in(client)

    # From now on the password alone is not enough.
    other = Client()
    assert "/admin/two-factor/verify/" in log_in(other, "writer")["Location"]
    assert other.post("/admin/two-factor/verify/", {"code": code(key, later=30)}).status_code == 302
    assert signed_in(other)


def test_a_user_turns_their_app_off_only_after_giving_its_code(client):
    device = add_app(member("Writer", "writer"))
    log_in(client, "writer")
    assert "/verify/" in client.get("/admin/two-factor/")["Location"]
    client.post("/admin/two-factor/verify/", {"code": code(device.key)})

    client.post("/admin/two-factor/", {"turn_off": "1"})

    assert not TOTPDevice.objects.exists()
    client.post("/admin/logout/")
    assert log_in(Client(), "writer")["Location"] == "/admin/"


def test_admins_must_add_an_app_when_the_setting_says_so(settings, admin_user):
    settings.KIJI_REQUIRE_2FA_FOR_ADMINS = True
    member("Admin", "boss")
    admin_user.set_password("pw")
    admin_user.save()

    for username in ["boss", admin_user.username]:
        client = Client()
        response = log_in(client, username)
        assert response["Location"] == "/admin/two-factor/?next=%2Fadmin%2F", username
        for url in ["/admin/", "/admin/posts/post/", "/admin/auth/user/", "/admin/axes/accessattempt/"]:
            assert client.get(url, follow=True).redirect_chain[-1][0].startswith("/admin/two-factor/?next="), url
        page = text(client.get("/admin/two-factor/"))
        assert "認証アプリを追加してください" in page

    key = shown_key(page)
    assert client.post("/admin/two-factor/", {"code": code(key), "next": "/admin/"})["Location"] == "/admin/"
    assert signed_in(client)
    assert "無効にする" not in text(client.get("/admin/two-factor/"))  # required, so it cannot be turned off


def test_writers_need_no_app_when_admins_must_have_one(client, settings):
    settings.KIJI_REQUIRE_2FA_FOR_ADMINS = True
    member("Writer", "writer")
    assert log_in(client, "writer")["Location"] == "/admin/"
    assert signed_in(client)


def test_an_unverified_user_can_log_out_from_the_code_page(client):
    add_app(member("Writer", "writer"))
    log_in(client, "writer")
    response = client.post("/admin/two-factor/verify/", {"sign_out": "1"})
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


def test_the_admin_never_shows_a_saved_apps_secret():
    device = add_app(member("Writer", "writer"))
    boss = logged_in(member("Admin", "boss"))
    page = text(boss.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/"))
    assert device.key not in page
    assert boss.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403


# Passwords


def test_the_add_user_form_refuses_a_password_under_12_characters(admin_client):
    form = {"username": "newwriter", "usable_password": "true", "password1": "kiji-pass01", "password2": "kiji-pass01"}
    response = admin_client.post("/admin/auth/user/add/", form)
    assert "このパスワードは短すぎます。最低 12 文字以上必要です。" in text(response)
    assert not get_user_model().objects.filter(username="newwriter").exists()

    long_enough = {**form, "password1": "kiji-pass012", "password2": "kiji-pass012"}
    assert admin_client.post("/admin/auth/user/add/", long_enough).status_code == 302
    assert get_user_model().objects.filter(username="newwriter").exists()


def test_the_password_change_form_refuses_a_common_password():
    client = logged_in(member("Writer", "writer"))
    response = client.post(
        "/admin/password_change/", {"old_password": "pw", "new_password1": "password1234", "new_password2": "password1234"}
    )
    assert "このパスワードは一般的すぎます。" in text(response)


def test_the_demos_printed_password_passes_the_validators_and_logs_in_without_a_second_factor(client, capsys):
    call_command("load_demo")
    password = re.search(r"password:\s+(\S+)", capsys.readouterr().out).group(1)

    validate_password(password, get_user_model().objects.get(username="admin"))
    assert log_in(client, "admin", password)["Location"] == "/admin/"
    assert signed_in(client)


def test_remove_two_factor_lets_a_user_who_lost_their_phone_log_in_with_the_password(client, capsys):
    add_app(member("Writer", "writer"))

    call_command("remove_two_factor", "writer")

    assert "writer: 1 authenticator app(s) removed" in capsys.readouterr().out
    assert log_in(client, "writer")["Location"] == "/admin/"
    with pytest.raises(CommandError, match="1 user"):
        call_command("remove_two_factor", "nobody")
    assert "nobody: no such user: nothing removed" in capsys.readouterr().err
