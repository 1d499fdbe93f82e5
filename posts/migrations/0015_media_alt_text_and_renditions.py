"""Alt text for the media library's images, kept with each image and carried by the
Markdown that puts it in a post; and the resized copies the admin's lists show."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("posts", "0014_affiliate_permissions")]

    operations = [
        migrations.AddField(
            model_name="mediaimage",
            name="alt",
            field=models.CharField(
                blank=True,
                help_text=(
                    "What the image shows, for readers who cannot see it; the Markdown to put it in "
                    "a post carries it. Leave it blank only for an image that is decoration."
                ),
                max_length=300,
                verbose_name="alt text",
            ),
        ),
        migrations.AddField(
            model_name="mediaimage",
            name="renditions",
            field=models.JSONField(default=dict, editable=False),
        ),
    ]
