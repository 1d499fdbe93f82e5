"""The Writer, Editor and Admin groups (docs/roles.md says who may do what).

Permissions are created by a signal after all migrations have run, so on a fresh
database they do not exist yet: make them here first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

WRITER = [
    "posts.view_post", "posts.add_post", "posts.change_post", "posts.delete_post",
    "posts.view_affiliatebox", "posts.add_affiliatebox", "posts.change_affiliatebox",
    "posts.delete_affiliatebox", "posts.view_category", "posts.view_tag", "posts.add_tag",
    "posts.view_mediaimage", "posts.add_mediaimage",
]  # fmt: skip
EDITOR = WRITER + ["posts.publish_post", "posts.change_mediaimage", "posts.view_redirect"]
GROUPS = {"Writer": WRITER, "Editor": EDITOR}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _created = Group.objects.get_or_create(name=name)
        for codename in codenames:
            app_label, codename = codename.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    # Everything this installation has: posts, terms, settings, redirects, users, revisions.
    admin, _created = Group.objects.get_or_create(name="Admin")
    admin.permissions.set(Permission.objects.all())


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Writer", "Editor", "Admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0005_roles_revisions_media"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("reversion", "0002_add_index_on_version_for_content_type_and_db"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
