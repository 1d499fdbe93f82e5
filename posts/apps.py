from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PostsConfig(AppConfig):
    name = "posts"
    verbose_name = _("Blog")

    def ready(self):
        from . import changes

        # Every way content changes through the ORM bumps the page versions it
        # affects and notes related lists to refresh (see changes.py).
        changes.connect()
