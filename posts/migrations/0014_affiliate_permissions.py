"""Who may do what with products and clicks (docs/roles.md): writers see products, to
place them; editors also add and change them and see the click dashboard; the Admin
group may do everything, as it may with the rest (0006)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

WRITER = ["view_product"]
EDITOR = WRITER + ["add_product", "change_product", "view_clickcount"]
MODELS = ["product", "clickcount", "viewcount"]


def grant(apps, schema_editor):
    # As in 0006: on a fresh database permissions are made only after all migrations.
    app_config = apps.get_app_config("posts")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="posts", content_type__model__in=MODELS)
    for name, codenames in (("Writer", WRITER), ("Editor", EDITOR)):
        for group in Group.objects.filter(name=name):
            group.permissions.add(*ours.filter(codename__in=codenames))
    for group in Group.objects.filter(name="Admin"):
        group.permissions.add(*ours)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="posts", content_type__model__in=MODELS)
    for group in Group.objects.filter(name__in=["Writer", "Editor", "Admin"]):
        group.permissions.remove(*ours)


class Migration(migrations.Migration):
    dependencies = [("posts", "0013_affiliate_registry_and_counts")]

    operations = [migrations.RunPython(grant, revoke)]
