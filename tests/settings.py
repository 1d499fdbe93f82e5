"""Settings for the test suite: the real ones, with what tests must not depend on swapped out."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "kiji-tests-only")

from cms.settings import *  # noqa: E402,F403

DEBUG = False
SECURE_SSL_REDIRECT = False
# Manifest storage needs `collectstatic`; tests read the source files.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = tempfile.mkdtemp(prefix="kiji-test-media-")
STATIC_ROOT = tempfile.mkdtemp(prefix="kiji-test-static-")
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
atexit.register(shutil.rmtree, STATIC_ROOT, ignore_errors=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests look at each response as the views make it; test_pagecache.py turns the page
# cache on where it is the subject.
KIJI_PAGE_CACHE_SECONDS = 0
