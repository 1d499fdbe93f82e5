"""One view at Kiji's article path, answering with the saved bytes of a cached article."""

import gzip
import json
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.urls import path
from django.utils.cache import patch_vary_headers

_saved = Path(settings.TRIVIAL_PAGE)
GZIPPED = _saved.read_bytes()
PLAIN = gzip.decompress(GZIPPED)
HEADERS = json.loads(_saved.with_suffix(".json").read_text())


def page(request, slug):
    """The saved page, compressed to clients that accept gzip, as Kiji's cache sends it."""
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    response = HttpResponse(GZIPPED if gzipped else PLAIN)
    for name, value in HEADERS.items():
        response[name] = value
    if gzipped:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


urlpatterns = [path("posts/<str:slug>/", page)]
