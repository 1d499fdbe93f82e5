import re

from django.http import HttpResponsePermanentRedirect

from .models import Redirect


class RedirectFallbackMiddleware:
    """Answer a 404 with the 301 a `Redirect` names for that path, if any."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 404:
            return response
        new_path = _moved_to(request.path)
        if new_path is None:
            return response
        query = request.META.get("QUERY_STRING")
        return HttpResponsePermanentRedirect(f"{new_path}?{query}" if query else new_path)


_PAGE_N = re.compile(r"(?P<list>.+/)page/(?P<number>\d+)/")


# Paths a Redirect could never hold: control characters (a NUL would make PostgreSQL
# refuse the query) or more than the column takes.
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f]")


def _moved_to(path):
    """Where `path` moved; page N of a list whose first page moved (a renamed or merged
    term) moves to page N of the new list, which holds at least as many posts."""
    if _UNSTORABLE.search(path) or len(path) > Redirect._meta.get_field("old_path").max_length:
        return None
    paged = _PAGE_N.fullmatch(path)
    candidates = [path, paged["list"]] if paged else [path]
    moves = dict(Redirect.objects.filter(old_path__in=candidates).values_list("old_path", "new_path"))
    if path in moves:
        return moves[path]
    if paged and moves.get(paged["list"], "").endswith("/"):
        return f"{moves[paged['list']]}page/{paged['number']}/"
    return None
