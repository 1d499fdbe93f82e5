"""Settings for the real servers some tests start (gunicorn, in processes of their own):
production's, with static files read from the source folders (manifest storage needs
`collectstatic`) and no HTTPS redirect on loopback."""

import os

os.environ.setdefault("SECRET_KEY", "kiji-test-servers-only")

from cms.settings import *  # noqa: E402,F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
