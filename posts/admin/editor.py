"""The post editor's endpoints beyond markdownx: an ASCII slug suggested for a title."""

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ..models import Post
from ..slugs import suggest_slug

TITLE_LENGTH = Post._meta.get_field("title").max_length


def urls(model_admin):
    """URL patterns for `model_admin` (PostAdmin) to put before the admin's own, whose
    `<path:object_id>/` would otherwise take "suggest-slug/" for a post's id."""

    def suggested_slug(request):
        """{"slug": an ASCII slug for ?title=, unused by any post but ?post= (its id)}."""
        if not (model_admin.has_add_permission(request) or model_admin.has_change_permission(request)):
            raise PermissionDenied
        post = request.GET.get("post") or None
        if post is not None and not post.isdigit():
            return JsonResponse({"error": _("“post” must be a post’s id.")}, status=400)
        title = request.GET.get("title", "")[:TITLE_LENGTH]
        return JsonResponse({"slug": suggest_slug(title, exclude_pk=post and int(post))})

    return [
        path(
            "suggest-slug/",
            model_admin.admin_site.admin_view(require_GET(suggested_slug)),
            name="posts_post_suggest_slug",
        ),
    ]
