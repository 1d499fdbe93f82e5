from urllib.parse import unquote

from django.db import models
from django.utils.translation import gettext_lazy as _


class Redirect(models.Model):
    """A permanent redirect from a URL that no longer exists (an old slug, a Hugo
    alias, a file name the old site linked to) to where the content lives now."""

    old_path = models.CharField(_("old path"), max_length=500, unique=True)
    new_path = models.CharField(_("new path"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["old_path"]
        verbose_name = _("redirect")
        verbose_name_plural = _("redirects")

    def __str__(self):
        return f"{self.old_path} → {self.new_path}"

    @classmethod
    def add(cls, old_path, new_path):
        """Redirect `old_path` to `new_path`."""
        cls.add_many([(old_path, new_path)])

    @classmethod
    def add_many(cls, pairs):
        """Redirect each old path to its new one, keeping every chain one hop long."""
        moves = {}
        for old_path, new_path in pairs:
            old_path, new_path = unquote(old_path), unquote(new_path)
            if old_path != new_path:
                moves[old_path] = new_path
        items = list(moves.items())
        for start in range(0, len(items), 500):  # databases cap query parameters
            cls._add_batch(dict(items[start : start + 500]))

    @classmethod
    def _add_batch(cls, moves):
        # The new URLs are live (again), so nothing may send them elsewhere.
        cls.objects.filter(old_path__in=set(moves.values())).delete()
        chained = list(cls.objects.filter(new_path__in=moves.keys()))
        for redirect in chained:
            redirect.new_path = moves[redirect.new_path]
        cls.objects.bulk_update(chained, ["new_path"], batch_size=500)
        existing = {r.old_path: r for r in cls.objects.filter(old_path__in=moves.keys())}
        changed = []
        for old_path, new_path in moves.items():
            redirect = existing.get(old_path)
            if redirect and redirect.new_path != new_path:
                redirect.new_path = new_path
                changed.append(redirect)
        cls.objects.bulk_update(changed, ["new_path"], batch_size=500)
        cls.objects.bulk_create(
            [cls(old_path=old, new_path=new) for old, new in moves.items() if old not in existing],
            batch_size=500,
        )
