"""The interactive docs (Swagger UI, django-ninja's own copy) under Kiji's strict
Content-Security-Policy: no inline script, every file from this site."""

import json
import mimetypes
from pathlib import Path

import ninja
from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from ninja.openapi.docs import Swagger

ASSETS_DIR = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js", "favicon.png"}

PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
    '<link rel="stylesheet" href="{css}">\n<link rel="icon" href="{icon}" type="image/png">\n</head>\n<body>\n'
    '<script type="application/json" id="swagger-settings">{config}</script>\n'
    '<div id="swagger-ui"></div>\n<script src="{bundle}"></script>\n<script src="{init}"></script>\n'
    "</body>\n</html>\n"
)


class Docs(Swagger):
    """django-ninja's Swagger page. Without "ninja" in INSTALLED_APPS (whose static
    files the page then uses), django-ninja falls back to Swagger UI from a CDN started
    by an inline script, which the CSP blocks; this serves its bundled files instead."""

    def render_page(self, request, api, **kwargs):
        if "ninja" in settings.INSTALLED_APPS:
            return super().render_page(request, api, **kwargs)
        self.settings["url"] = self.get_openapi_url(api, kwargs)

        def asset_url(name):
            return reverse(f"{api.urls_namespace}:docs-asset", kwargs={"name": name})

        # JSON in a data block, "<" escaped so that no string in it can end the element.
        config = json.dumps(self.settings).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return HttpResponse(
            format_html(
                PAGE,
                title=api.title,
                css=asset_url("swagger-ui.css"),
                icon=asset_url("favicon.png"),
                config=mark_safe(config),
                bundle=asset_url("swagger-ui-bundle.js"),
                init=asset_url("swagger-ui-init.js"),
            )
        )


def asset(request, name):
    """One of Swagger UI's files, from django-ninja's package."""
    if name not in ASSETS:
        raise Http404
    response = FileResponse(open(ASSETS_DIR / name, "rb"), content_type=mimetypes.guess_type(name)[0])
    response["Cache-Control"] = "public, max-age=86400"
    return response
