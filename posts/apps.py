from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _


class PostsConfig(AppConfig):
    name = "posts"
    verbose_name = _("Blog")

    def ready(self):
        from . import pagecache
        from .models import AffiliateBox, AffiliateSettings, Category, Post, Redirect, SiteSettings, Tag

        # Every way content changes (admin, actions, import, shell, QuerySet.delete())
        # starts a new generation of cached pages. A bulk insert or update that readers
        # would see must call pagecache.invalidate() itself.
        for model in (Post, Category, Tag, AffiliateBox, AffiliateSettings, SiteSettings, Redirect):
            post_save.connect(pagecache.invalidate, sender=model, dispatch_uid=f"kiji-pages-save-{model.__name__}")
            post_delete.connect(pagecache.invalidate, sender=model, dispatch_uid=f"kiji-pages-delete-{model.__name__}")
        for through in (Post.categories.through, Post.tags.through):
            m2m_changed.connect(pagecache.invalidate, sender=through, dispatch_uid=f"kiji-pages-m2m-{through.__name__}")
