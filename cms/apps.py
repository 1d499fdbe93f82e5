from django.apps import apps
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

# Names the admin shows for the packages Kiji signs in and works with: axes, django_otp
# and django-tasks name their apps (and otp_totp its model and fields) with plain
# English strings, which no catalogue can translate, so Kiji gives them its own.
APP_NAMES = {
    "axes": _("Sign-in records"),
    "otp_totp": _("Authenticator apps"),
    "django_tasks_database": _("Background tasks"),
}
MODEL_NAMES = {
    ("otp_totp", "totpdevice"): (_("authenticator app"), _("authenticator apps")),
}
FIELD_NAMES = {
    ("otp_totp", "totpdevice"): {
        "user": _("user"),
        "name": _("name"),
        "confirmed": _("confirmed"),
        "created_at": _("added"),
        "last_used_at": _("last used"),
    },
}
# Columns that the packages' admins name after their methods, so in English.
COLUMN_NAMES = {
    ("axes", "accessattempt"): {"status": _("status")},
}

# Words that axes, django-reversion and django-tasks do translate, but for which they
# ship no Japanese: listed here so that makemessages keeps them in locale/ja, where
# Django finds them before the packages' own (empty) catalogues.
PACKAGE_MESSAGES = (
    # axes: its models, columns and filters
    gettext_noop("access attempt"), gettext_noop("access attempts"),
    gettext_noop("access failure"), gettext_noop("access failures"),
    gettext_noop("access log"), gettext_noop("access logs"),
    gettext_noop("Attempt Time"), gettext_noop("Logout Time"), gettext_noop("Path"),
    gettext_noop("Locked Out"), gettext_noop("Attempt Remaining"), gettext_noop("Failed Logins"),
    gettext_noop("IP Address"), gettext_noop("Username"), gettext_noop("User Agent"),
    gettext_noop("HTTP Accept"), gettext_noop("GET Data"), gettext_noop("POST Data"),
    gettext_noop("Form Data"), gettext_noop("Meta Data"), gettext_noop("Expires At"),
    gettext_noop("Not set"), gettext_noop("Clean up expired attempts"),
    gettext_noop("Session key hash (sha256)"), gettext_noop("Access lock out"),
    # django-reversion: recovering deleted posts, reverting to a version
    gettext_noop("Recover deleted %(name)s"), gettext_noop("Recover %(name)s"),
    gettext_noop("Revert %(name)s"), gettext_noop("Revert %(verbose_name)s"),
    gettext_noop("Choose a date from the list below to recover a deleted version of an object."),
    gettext_noop("Choose a date from the list below to revert to a previous version of this object."),
    gettext_noop("There are no deleted objects to recover."),
    gettext_noop("Press the save button below to recover this version of the object."),
    gettext_noop("Press the save button below to revert to this version of the object."),
    gettext_noop("Initial version."),
    gettext_noop("Reverted to previous version, saved on %(datetime)s"),
    # django-tasks: the task results' list
    gettext_noop("Task Result"), gettext_noop("Task Results"), gettext_noop("task path"),
    gettext_noop("queue name"), gettext_noop("priority"), gettext_noop("enqueued at"),
    gettext_noop("started at"), gettext_noop("finished at"), gettext_noop("run after"),
    gettext_noop("backend name"), gettext_noop("return value"), gettext_noop("worker id"),
    gettext_noop("args kwargs"), gettext_noop("exception class path"), gettext_noop("traceback"),
    # its statuses have a context; Django has no pgettext_noop, and a lazy string is
    # only looked up when shown, as a noop's never is
    pgettext_lazy("Task", "Ready"), pgettext_lazy("Task", "Running"),
    pgettext_lazy("Task", "Failed"), pgettext_lazy("Task", "Successful"),
)  # fmt: skip


class AdminConfig(DjangoAdminConfig):
    """Django's admin, with Kiji's site (posts/desk.py, which keeps the sign-in checks of
    posts/security.py) as `admin.site`, so that every registration and every admin URL
    goes through those checks and shows Kiji's name and dashboard."""

    default_site = "posts.desk.DeskSite"

    def ready(self):
        from django.contrib import admin

        super().ready()
        for label, name in APP_NAMES.items():
            apps.get_app_config(label).verbose_name = name
        for (label, model_name), (singular, plural) in MODEL_NAMES.items():
            options = apps.get_model(label, model_name)._meta
            options.verbose_name, options.verbose_name_plural = singular, plural
        for (label, model_name), fields in FIELD_NAMES.items():
            options = apps.get_model(label, model_name)._meta
            for field_name, name in fields.items():
                options.get_field(field_name).verbose_name = name
        for (label, model_name), columns in COLUMN_NAMES.items():
            model_admin = type(admin.site.get_model_admin(apps.get_model(label, model_name)))
            for column, name in columns.items():
                getattr(model_admin, column).short_description = name
        # django_otp writes the hint under its search box in English when its admin
        # class is defined (it searches by the user's name and e-mail address).
        devices = admin.site.get_model_admin(apps.get_model("otp_totp", "totpdevice"))
        devices.search_help_text = _("Search by the user’s name or e-mail address.")
