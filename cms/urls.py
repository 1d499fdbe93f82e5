from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from posts import faults

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", faults.healthz, name="healthz"),
    path("api/v1/", include("posts.api.urls")),
    path("", include("posts.urls")),
]

handler500 = "posts.faults.server_error"

if settings.DEBUG:
    # In production the web server (or object storage) serves media; see the README.
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
