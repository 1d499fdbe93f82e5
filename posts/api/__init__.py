"""Kiji's write API for programs, at /api/v1/ (docs/api.md): django-ninja operations
over the same service functions the admin uses (posts/services.py), with tokens,
idempotent retries, guardrails, webhooks and the weekly digest.

The NinjaAPI itself is built in `urls.py`, so that importing this package (the models
do, for the webhook receivers in `events.py`) loads no views.
"""
