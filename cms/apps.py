from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """Django's admin, with Kiji's site (posts/security.py) as `admin.site`, so that every
    registration and every admin URL goes through its sign-in checks."""

    default_site = "posts.security.AdminSite"
