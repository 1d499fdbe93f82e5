"""The Admin group may see and lift lockouts (django-axes) and remove a colleague's
authenticator app (django-otp), as it may everything else (0006)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ["axes", "otp_totp"]


def grant(apps, schema_editor):
    # As in 0006: on a fresh database permissions are made only after all migrations.
    for app_config in apps.get_app_configs():
        if app_config.label in APPS:
            app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Admin"):
        group.permissions.add(*Permission.objects.filter(content_type__app_label__in=APPS))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Admin"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label__in=APPS))


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0011_search_title_words"),
        ("axes", "0010_accessattemptexpiration"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
