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
# Tasks run right after the transaction that queued them commits (tests that check
# their effects capture on-commit callbacks), so results never depend on a worker.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
# A process reads page versions again only after its own changes (see versions.bump),
# so that query counts do not depend on how fast a test runs; test_pagecache.py and
# the multi-process tests shorten it where time is the subject.
KIJI_CACHE_VERSION_TRUST = 3600
# Browsers revalidate every page (with its ETag): a browser test that changes a post
# expects the next visit to show it. test_pagecache.py checks the production header.
KIJI_BROWSER_MAX_AGE = 0
