"""The write API's records (posts/models/api.py) and who may see them: the Admin group
everything, as with the rest (0006); editors the problems the guardrails flag, which
they review.

It follows the newest migration at the time it was written (0016), so that the graph
stays one line while migrations are renumbered."""

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models
import django.db.models.deletion
import django.utils.timezone
import posts.models.api

MODELS = [
    "apitoken", "apiwrite", "apiidempotency", "apiexternalid", "apipolicy", "apiproblem", "webhook",
    "webhookdelivery", "digestrun",
]  # fmt: skip
EDITOR = ["view_apiproblem", "view_apiwrite", "view_digestrun"]


def grant(apps, schema_editor):
    # As in 0006: on a fresh database permissions are made only after all migrations.
    app_config = apps.get_app_config("posts")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="posts", content_type__model__in=MODELS)
    for group in Group.objects.filter(name="Admin"):
        group.permissions.add(*ours)
    for group in Group.objects.filter(name="Editor"):
        group.permissions.add(*ours.filter(codename__in=EDITOR))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label="posts", content_type__model__in=MODELS)
    for group in Group.objects.filter(name__in=["Editor", "Admin"]):
        group.permissions.remove(*ours)


class Migration(migrations.Migration):

    dependencies = [
        ('posts', '0016_redirect_permissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug_taken', models.CharField(choices=[('off', 'Off'), ('flag', 'Accept and flag for review'), ('refuse', 'Refuse')], default='refuse', help_text='Flagged: the post gets a new slug.', max_length=10, verbose_name='slug used by another post')),
                ('similar_title', models.CharField(choices=[('off', 'Off'), ('flag', 'Accept and flag for review'), ('refuse', 'Refuse')], default='flag', max_length=10, verbose_name="title like a recent post's")),
                ('description', models.CharField(choices=[('off', 'Off'), ('flag', 'Accept and flag for review'), ('refuse', 'Refuse')], default='flag', max_length=10, verbose_name='missing or short description')),
                ('cover_alt', models.CharField(choices=[('off', 'Off'), ('flag', 'Accept and flag for review'), ('refuse', 'Refuse')], default='flag', max_length=10, verbose_name='missing or generic cover alt text')),
                ('remote_cover', models.CharField(choices=[('off', 'Off'), ('flag', 'Accept and flag for review'), ('refuse', 'Refuse')], default='flag', help_text='Off or flagged: the image is downloaded and kept here.', max_length=10, verbose_name='cover given as a remote URL')),
                ('internal_links', models.CharField(choices=[('off', 'Off'), ('flag', 'Accept and flag for review'), ('refuse', 'Refuse')], default='flag', max_length=10, verbose_name='internal links to pages that do not exist')),
                ('unknown_category', models.CharField(choices=[('off', 'Off'), ('flag', 'Accept and flag for review'), ('refuse', 'Refuse')], default='refuse', max_length=10, verbose_name='unknown category')),
                ('sanitized_body', models.CharField(choices=[('off', 'Off'), ('flag', 'Accept and flag for review'), ('refuse', 'Refuse')], default='flag', max_length=10, verbose_name='body the sanitizer had to change')),
                ('category_quota', models.CharField(choices=[('off', 'Off'), ('flag', 'Accept and flag for review'), ('refuse', 'Refuse')], default='refuse', max_length=10, verbose_name="over a category's daily quota")),
                ('daily_cap', models.CharField(choices=[('off', 'Off'), ('flag', 'Accept and flag for review'), ('refuse', 'Refuse')], default='refuse', max_length=10, verbose_name="over the site's daily cap")),
                ('similar_title_days', models.PositiveSmallIntegerField(default=7, verbose_name='days to compare titles with')),
                ('similar_title_threshold', models.FloatField(default=0.8, help_text='0 to 1: the share of character pairs two titles have in common (Dice) from which they are near-identical.', verbose_name='title similarity threshold')),
                ('description_min_length', models.PositiveSmallIntegerField(default=50, verbose_name='shortest description')),
                ('generic_alt_texts', models.TextField(blank=True, default='AI generated thumbnail\nthumbnail\nimage\ncover\n画像\nサムネイル\nアイキャッチ', help_text='One a line; compared without case or surrounding spaces.', verbose_name='generic alt texts')),
                ('allow_new_categories', models.BooleanField(default=False, help_text='On: a category the site lacks is created, not reported.', verbose_name='create unknown categories')),
                ('category_daily_quota', models.PositiveSmallIntegerField(default=0, help_text='Published or in review, by publish day; 0: no quota.', verbose_name='posts a day per category')),
                ('daily_cap_posts', models.PositiveSmallIntegerField(default=0, help_text='Published or in review, by publish day; 0: no cap.', verbose_name='posts a day on the site')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
            ],
            options={
                'verbose_name': 'API guardrails',
                'verbose_name_plural': 'API guardrails',
            },
        ),
        migrations.CreateModel(
            name='Webhook',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, verbose_name='name')),
                ('url', models.URLField(max_length=1000, verbose_name='URL')),
                ('secret', models.CharField(default=posts.models.api._webhook_secret, help_text='The receiver checks X-Kiji-Signature: HMAC-SHA256 of timestamp.body with this secret.', max_length=100, verbose_name='signing secret')),
                ('events', models.JSONField(blank=True, default=list, verbose_name='events')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
            ],
            options={
                'verbose_name': 'webhook',
                'verbose_name_plural': 'webhooks',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.SlugField(help_text="Letters, digits, - and _: the program's name, e.g. generator.", max_length=100, unique=True, verbose_name='name')),
                ('prefix', models.CharField(editable=False, max_length=16, verbose_name='secret starts with')),
                ('secret_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('role', models.CharField(choices=[('writer', 'Writer'), ('editor', 'Editor'), ('admin', 'Admin')], default='writer', max_length=10, verbose_name='role')),
                ('scopes', models.JSONField(blank=True, default=list, verbose_name='scopes')),
                ('rate_per_minute', models.PositiveIntegerField(blank=True, help_text='Left blank, the KIJI_API_RATE setting.', null=True, verbose_name='requests a minute')),
                ('expires_at', models.DateTimeField(blank=True, null=True, verbose_name='expires')),
                ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='last used')),
                ('revoked_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='revoked')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('created_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                ('user', models.OneToOneField(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='api_token', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'verbose_name_plural': 'API tokens',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='ApiExternalId',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('external_id', models.CharField(max_length=200, unique=True, verbose_name='external id')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('post', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='api_external_id', to='posts.post', verbose_name='post')),
                ('token', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='posts.apitoken', verbose_name='token')),
            ],
            options={
                'verbose_name': 'external id',
                'verbose_name_plural': 'external ids',
                'ordering': ['external_id'],
            },
        ),
        migrations.CreateModel(
            name='ApiWrite',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token_name', models.CharField(max_length=100, verbose_name='token name')),
                ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='when')),
                ('method', models.CharField(max_length=10, verbose_name='method')),
                ('path', models.CharField(max_length=500, verbose_name='path')),
                ('status', models.PositiveSmallIntegerField(verbose_name='status')),
                ('object_type', models.CharField(blank=True, max_length=50, verbose_name='object type')),
                ('object_id', models.CharField(blank=True, max_length=50, verbose_name='object id')),
                ('object_repr', models.CharField(blank=True, max_length=300, verbose_name='object')),
                ('idempotency_key', models.CharField(blank=True, max_length=200, verbose_name='Idempotency-Key')),
                ('replayed', models.BooleanField(default=False, help_text='Answered with the stored result of an earlier request.', verbose_name='replayed')),
                ('token', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='writes', to='posts.apitoken', verbose_name='token')),
            ],
            options={
                'verbose_name': 'API write',
                'verbose_name_plural': 'API writes',
                'ordering': ['-at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='DigestRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='started')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                ('period_start', models.DateTimeField(verbose_name='from')),
                ('period_end', models.DateTimeField(verbose_name='until')),
                ('post_count', models.PositiveIntegerField(default=0, verbose_name='posts in it')),
                ('status', models.CharField(choices=[('drafted', 'Drafted'), ('published', 'Published'), ('skipped', 'Skipped'), ('failed', 'Failed')], max_length=10, verbose_name='status')),
                ('message', models.TextField(blank=True, verbose_name='message')),
                ('post', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='posts.post', verbose_name='digest post')),
            ],
            options={
                'verbose_name': 'digest run',
                'verbose_name_plural': 'digest runs',
                'ordering': ['-started_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event', models.CharField(max_length=30, verbose_name='event')),
                ('payload', models.JSONField(default=dict, verbose_name='payload')),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('retrying', 'Retrying'), ('delivered', 'Delivered'), ('failed', 'Failed')], default='pending', max_length=10, verbose_name='status')),
                ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='last answer')),
                ('last_error', models.TextField(blank=True, verbose_name='last error')),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True, verbose_name='next attempt')),
                ('delivered_at', models.DateTimeField(blank=True, null=True, verbose_name='delivered')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created')),
                ('post', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='posts.post', verbose_name='post')),
                ('webhook', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='posts.webhook', verbose_name='webhook')),
            ],
            options={
                'verbose_name': 'webhook delivery',
                'verbose_name_plural': 'webhook deliveries',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ApiProblem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rule', models.CharField(max_length=30, verbose_name='rule')),
                ('field', models.CharField(blank=True, max_length=30, verbose_name='field')),
                ('message', models.TextField(verbose_name='problem')),
                ('detail', models.JSONField(blank=True, default=dict, verbose_name='detail')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='found')),
                ('resolved_at', models.DateTimeField(blank=True, help_text='Set when the program sends the post again without it.', null=True, verbose_name='resolved')),
                ('post', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_problems', to='posts.post', verbose_name='post')),
                ('token', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='posts.apitoken', verbose_name='token')),
            ],
            options={
                'verbose_name': 'API problem',
                'verbose_name_plural': 'API problems',
                'ordering': ['-created_at', 'id'],
                'indexes': [models.Index(fields=['post', 'resolved_at'], name='api_problem_open')],
            },
        ),
        migrations.CreateModel(
            name='ApiIdempotency',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=200)),
                ('method', models.CharField(max_length=10)),
                ('path', models.CharField(max_length=500)),
                ('request_digest', models.CharField(max_length=64)),
                ('status', models.PositiveSmallIntegerField(null=True)),
                ('content_type', models.CharField(blank=True, max_length=100)),
                ('body', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('token', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='posts.apitoken')),
            ],
            options={
                'ordering': ['-created_at'],
                'constraints': [models.UniqueConstraint(fields=('token', 'key'), name='api_idempotency_once')],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
