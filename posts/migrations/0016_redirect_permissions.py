"""Editors keep the redirects (an old URL sent to where its content lives now) as well as
seeing them; the Admin group may do everything, as it may with the rest (0006)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR = ["view_redirect", "add_redirect", "change_redirect", "delete_redirect"]


def grant(apps, schema_editor):
    # As in 0006: on a fresh database permissions are made only after all migrations.
    app_config = apps.get_app_config("posts")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="posts", codename__in=EDITOR)
    for group in Group.objects.filter(name__in=["Editor", "Admin"]):
        group.permissions.add(*ours)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    changes = Permission.objects.filter(content_type__app_label="posts", codename__in=EDITOR[1:])
    for group in Group.objects.filter(name="Editor"):
        group.permissions.remove(*changes)


class Migration(migrations.Migration):
    dependencies = [("posts", "0015_media_alt_text_and_renditions")]

    operations = [migrations.RunPython(grant, revoke)]
