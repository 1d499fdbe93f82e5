"""The post editor: markdownx with Kiji's preview and upload endpoints, the review
flow's actions, revisions with side-by-side comparison, and who may do what."""

import reversion
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from markdownx.admin import MarkdownxModelAdmin
from reversion.admin import VersionAdmin
from reversion.models import Version

from .. import renditions, services, uploads, views, workflow
from ..models import AffiliateBox, Category, Post, Product, Tag
from ..models.media import markdown_image
from ..rendering import preview_html
from . import editor
from .api import ApiProblemInline
from .media import thumbnail_html

# The submit row's buttons that save the post with a status (submit_line.html): the
# value each sends as STATUS_BUTTON, the status it sets, and who is offered it.
STATUS_BUTTON = "_kiji_status"
STATUS_BUTTONS = {
    "draft": Post.Status.DRAFT,
    "review": Post.Status.REVIEW,
    "publish": Post.Status.PUBLISHED,
    "schedule": Post.Status.PUBLISHED,
}


class WriterStatusField(forms.ChoiceField):
    """A writer's status menu: it offers draft and review only, yet takes any status,
    so that `PostAdminForm.clean_status` can say why publishing is refused."""

    def __init__(self, **kwargs):
        offered = [choice for choice in Post.Status.choices if choice[0] in Post.WRITER_STATUSES]
        super().__init__(choices=offered, **kwargs)

    def valid_value(self, value):
        return value in Post.Status.values


class PostAdminForm(forms.ModelForm):
    # The post's edit token when the form was opened (see workflow.find_conflict).
    opened_token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Post
        fields = "__all__"
        # Django's ImageField would refuse bad files with one general message before
        # clean_cover could say what is wrong.
        field_classes = {"cover": forms.FileField}
        # Titles of the real site run to 229 characters: two lines that grow, not a cut-off input.
        widgets = {"title": forms.Textarea(attrs={"rows": 2, "class": "kiji-title"})}

    user = None  # set by PostAdmin.get_form
    conflict = None
    cover_upload_name = None  # the name of a cover uploaded with the form
    status_change = None  # (status, publish time or None) of the status button pressed

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["opened_token"].initial = self.instance.edit_token
        if "status" in self.fields and not workflow.can_publish(self.user):
            self.fields["status"] = WriterStatusField(
                label=self.fields["status"].label, initial=self.fields["status"].initial
            )

    def clean_cover(self):
        cover = self.cleaned_data.get("cover")
        if isinstance(cover, UploadedFile):
            self.cover_upload_name = cover.name
            return uploads.prepare_upload(cover)
        return cover

    def clean_status(self):
        status = self.cleaned_data["status"]
        try:
            services.check_status(self.instance, status, user=self.user)
        except PermissionDenied as refusal:
            raise ValidationError(str(refusal), code="permission") from None
        return status

    def clean_title(self):
        # A title is one line, whatever the two-row field let through.
        return " ".join(self.cleaned_data["title"].split())

    def clean(self):
        cleaned = super().clean()
        self._clean_status_button(cleaned)
        if self.instance.pk and not self.errors:
            self.conflict = workflow.find_conflict(self.instance.pk, cleaned.get("opened_token"), cleaned)
            if self.conflict:
                # The form is shown again with the writer's text; saving it once more,
                # after reading the difference, is a deliberate overwrite.
                self.data = self.data.copy()
                self.data[self.add_prefix("opened_token")] = str(self.conflict.token)
                raise ValidationError(self.conflict.message, code="conflict")
        return cleaned

    def _clean_status_button(self, cleaned):
        """A status button (「公開」, 「予約投稿」…) sets the status, checked as the save
        will check it (services.check_status) against the post as it is stored, so
        that a refusal shows on the form with the writer's text kept."""
        button = self.data.get(STATUS_BUTTON)
        if button not in STATUS_BUTTONS or "published_at" in self.errors:
            return
        status = STATUS_BUTTONS[button]
        at = cleaned.get("published_at") if button == "schedule" else None
        if button == "schedule" and at is None:
            return  # the field's own error says the time is missing
        try:
            published_at = services.check_status(self.instance, status, user=self.user, at=at)
        except PermissionDenied as refusal:
            self.add_error("status" if "status" in self.fields else None, str(refusal))
            return
        except ValidationError as refusal:
            self.add_error("published_at" if "published_at" in self.fields else None, refusal)
            return
        cleaned["status"] = status
        if status == Post.Status.PUBLISHED:
            cleaned["published_at"] = published_at
        self.status_change = (status, at)


class AffiliateBoxInline(admin.TabularInline):
    model = AffiliateBox
    fields = ["product", "keyword", "product_name", "reason", "placement", "position"]
    autocomplete_fields = ["product"]
    extra = 0


class PublicationFilter(admin.SimpleListFilter):
    """Where posts stand for readers, by the one publication rule (PostQuerySet)."""

    title = _("publication")
    parameter_name = "publication"

    def lookups(self, request, model_admin):
        return Post.Publication.choices

    def queryset(self, request, queryset):
        by_time = {
            Post.Publication.LIVE: queryset.published,
            Post.Publication.SCHEDULED: queryset.scheduled,
            Post.Publication.EXPIRED: queryset.expired,
        }
        if self.value() in by_time:
            return by_time[self.value()]()
        if self.value() in Post.Publication.values:
            return queryset.filter(status=self.value())
        return queryset


@admin.register(Post)
class PostAdmin(VersionAdmin, MarkdownxModelAdmin):
    form = PostAdminForm
    list_display = ["thumbnail", "title", "publication", "published_at", "category_names", "author"]
    list_display_links = ["thumbnail", "title"]
    list_filter = [PublicationFilter, "status", "categories", "author"]
    search_fields = ["title", "slug", "description"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["categories", "tags"]
    inlines = [AffiliateBoxInline]
    readonly_fields = ["preview_link", "updated_at", "updated_by", "word_count", "reading_time"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "body", "opened_token"]}),
        (
            _("Publication"),
            {"fields": ["status", "published_at", "expires_at", "author", "preview_link", "updated_at", "updated_by"]},
        ),
        (_("Listing and SEO"), {"fields": ["description", "cover", "cover_alt", "categories", "tags", "pr_notice"]}),
        (_("Statistics"), {"fields": ["word_count", "reading_time"], "classes": ["collapse"]}),
    ]
    actions = ["submit_for_review", "publish_now", "unpublish"]
    list_per_page = 50
    change_form_template = "admin/posts/post/change_form.html"
    object_history_template = "admin/posts/post/object_history.html"
    history_latest_first = True

    # Who may do what (the rules are in workflow.py)

    def _reversion_order_version_queryset(self, request, queryset):
        """Deleted posts to recover: a writer sees only their own."""
        versions = super()._reversion_order_version_queryset(request, queryset)
        if workflow.can_publish(request.user):
            return versions
        # A version keeps a foreign key under its column name.
        return [version for version in versions if version.field_dict.get("author_id") == request.user.pk]

    def render_change_form(self, request, context, *args, **kwargs):
        # The products the "Insert box" control offers (templates/admin/posts/post/change_form.html).
        if request.user.has_perm("posts.view_product"):
            context["box_products"] = list(Product.objects.values_list("slug", "name"))
        context.update(self._submit_row_context(request, kwargs.get("obj")))
        return super().render_change_form(request, context, *args, **kwargs)

    def _submit_row_context(self, request, obj):
        """The status buttons the submit row offers (templates/admin/posts/post/submit_line.html):
        draft and review to everyone who may edit the post, publish and schedule to
        editors; a post readers see already is saved with 「保存」 as it stands."""
        stored = obj if obj is not None and obj.pk else None
        if stored is not None and not workflow.can_edit(request.user, stored):
            return {}
        publication = stored.publication if stored else None
        editor = workflow.can_publish(request.user)
        buttons = [("draft", _("Save draft")), ("review", _("Ask for review"))]
        if editor:
            buttons += [("publish", _("Publish")), ("schedule", _("Schedule"))]
        if publication == Post.Publication.LIVE:
            buttons = []
        primary = "review" if not editor else "schedule" if publication == Post.Publication.SCHEDULED else "publish"
        now = timezone.now()
        return {
            # One row of buttons: "Save and add another" is not what a writer looks for.
            "show_save_and_add_another": False,
            "status_buttons": [
                {"value": value, "label": label, "primary": value == primary} for value, label in buttons
            ],
            "status_button_name": STATUS_BUTTON,
            "schedule": {
                "note": services.schedule_note(stored.published_at, now) if publication == Post.Publication.SCHEDULED else "",
                "texts": services.schedule_note_templates(),
                "now": int(now.timestamp() * 1000),
                "utc_offset": int(timezone.localtime(now).utcoffset().total_seconds() // 60),
            }
            if editor and buttons
            else None,
        }

    def get_queryset(self, request):
        posts = super().get_queryset(request).defer(*Post.HEAVY_FIELDS).prefetch_related("categories")
        if not workflow.can_publish(request.user):
            posts = posts.filter(author=request.user)
        return posts

    def get_object(self, request, object_id, from_field=None):
        # Any post, not only get_queryset's: another writer's post then answers 403
        # through the permission checks instead of pretending not to exist.
        try:
            return Post.objects.get(pk=Post._meta.pk.to_python(object_id))
        except (Post.DoesNotExist, ValidationError):
            return None

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and workflow.can_see(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and workflow.can_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and workflow.can_edit(request.user, obj)

    def has_publish_permission(self, request):
        return workflow.can_publish(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if workflow.can_publish(request.user) else [*fields, "author"]

    def get_inlines(self, request, obj):
        # The problems the API's guardrails flagged, for the editor who reviews the post;
        # only where there are some, so that every other form stays as it was.
        if obj is not None and obj.api_problems.filter(resolved_at=None).exists():
            return [*self.inlines, ApiProblemInline]
        return self.inlines

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.user = request.user
        return form

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        status, at = form.status_change or (None, None)
        services.save_post(
            obj,
            user=request.user,
            status=status,
            at=at,
            cover_upload_name=form.cover_upload_name if "cover" in form.changed_data else None,
        )

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        self._comment_status(request, obj, entry)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        self._comment_status(request, obj, entry)
        return entry

    def _comment_status(self, request, obj, entry):
        # VersionAdmin comments a revision with the form's change message, after
        # save_post commented it; a status button's comment goes first.
        if request.POST.get(STATUS_BUTTON) in STATUS_BUTTONS and reversion.is_active():
            reversion.set_comment(f"{services.status_comment(obj)} {entry.get_change_message()}".strip())

    def response_add(self, request, obj, post_url_continue=None):
        if request.POST.get(STATUS_BUTTON) in STATUS_BUTTONS and "_popup" not in request.POST:
            return self._status_response(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if request.POST.get(STATUS_BUTTON) in STATUS_BUTTONS and "_popup" not in request.POST:
            return self._status_response(request, obj)
        return super().response_change(request, obj)

    def _status_response(self, request, obj):
        """Back to the form, saying where the post now stands (a schedule: when readers
        will see it)."""
        title = {"title": obj.title}
        if obj.is_scheduled:
            message = _("“%(title)s” is scheduled.") % title + " " + services.schedule_note(obj.published_at)
        elif obj.is_published:
            message = _("“%(title)s” is published.") % title
        elif obj.status == Post.Status.REVIEW:
            message = _("“%(title)s” is in review: an editor will publish it.") % title
        else:
            message = _("“%(title)s” is saved as a draft.") % title
        self.message_user(request, message, messages.SUCCESS)
        url = reverse("admin:posts_post_change", args=[obj.pk])
        return HttpResponseRedirect(
            add_preserved_filters({"preserved_filters": self.get_preserved_filters(request), "opts": self.opts}, url)
        )

    def view_on_site(self, obj):
        return obj.get_absolute_url() if obj.is_published else reverse("admin:posts_post_preview", args=[obj.pk])

    # Actions

    @admin.action(description=_("Submit the selected drafts for review"))
    def submit_for_review(self, request, queryset):
        self._change_status(request, queryset.filter(status=Post.Status.DRAFT), Post.Status.REVIEW)

    @admin.action(description=_("Publish the selected posts now"), permissions=["publish"])
    def publish_now(self, request, queryset):
        self._change_status(request, queryset, Post.Status.PUBLISHED)

    @admin.action(description=_("Unpublish the selected posts"), permissions=["publish"])
    def unpublish(self, request, queryset):
        self._change_status(request, queryset.filter(status=Post.Status.PUBLISHED), Post.Status.UNPUBLISHED)

    def _change_status(self, request, queryset, status):
        changed = 0
        for post in queryset:
            try:
                services.change_status(post, status, user=request.user)
            except PermissionDenied:
                continue  # another writer's post, or one published since: left as it is
            changed += 1
        self.message_user(
            request,
            ngettext("%(count)d post is now “%(status)s”.", "%(count)d posts are now “%(status)s”.", changed)
            % {"count": changed, "status": Post.Status(status).label},
            messages.SUCCESS if changed else messages.WARNING,
        )

    # Columns

    @admin.display(description="")
    def thumbnail(self, obj):
        return thumbnail_html(obj.cover, renditions.current(obj))

    @admin.display(description=_("status"), ordering="status")
    def publication(self, obj):
        publication = obj.publication
        pill = format_html('<span class="kiji-status kiji-status--{}">{}</span>', publication.value, publication.label)
        if publication == Post.Publication.SCHEDULED:
            return format_html('{} <span class="kiji-status__when">{}</span>', pill, services.relative_time(obj.published_at))
        return pill

    @admin.display(description=_("categories"))
    def category_names(self, obj):
        return ", ".join(category.name for category in obj.categories.all())

    @admin.display(description=_("preview"))
    def preview_link(self, obj):
        if obj.pk is None:
            return _("Save the post to preview it.")
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("admin:posts_post_preview", args=[obj.pk]),
            _("Open the preview"),
        )

    # Views

    def get_urls(self):
        def view(function, post_only=False):
            return self.admin_site.admin_view(require_POST(function) if post_only else function)

        own = [
            path("<int:pk>/preview/", view(self.preview_view), name="posts_post_preview"),
            path("<int:pk>/preview-changes/", view(self.preview_changes_view, True), name="posts_post_preview_changes"),
            # The live preview of a post not saved yet.
            path("preview-changes/", view(self.preview_changes_view, True), name="posts_post_preview_new"),
            path(
                "<int:pk>/history/<int:version_id>/compare/",
                view(self.compare_view),
                name="posts_post_compare",
            ),
            path("markdownify/", view(self.markdownify_view, True), name="posts_post_markdownify"),
            path("upload-image/", view(self.upload_image_view, True), name="posts_post_upload_image"),
        ]
        return own + editor.urls(self) + super().get_urls()

    def _post_or_404(self, request, pk, check):
        post = get_object_or_404(Post, pk=pk)
        if not check(request, post):
            raise PermissionDenied
        return post

    def preview_view(self, request, pk):
        self._post_or_404(request, pk, self.has_view_or_change_permission)
        return views.preview(request, pk)

    def preview_changes_view(self, request, pk=None):
        """The post as it would look with the form's unsaved changes (nothing is saved)."""
        if pk is None:
            if not self.has_add_permission(request):
                raise PermissionDenied
            post = None
        else:
            post = self._post_or_404(request, pk, self.has_change_permission)
        shown = ("title", "slug", "body", "description", "cover_alt", "pr_notice")
        values = {name: request.POST[name] for name in shown if name in request.POST}
        if post is not None:
            values.pop("slug", None)  # a saved post is previewed at its own URL
        boxes = AffiliateBoxInline(Post, self.admin_site).get_formset(request, post)(
            request.POST, instance=post or Post(pk=0), prefix="affiliate_boxes"
        )
        boxes.is_valid()  # a box with errors is left out of the preview
        preview = services.create_preview(
            post,
            user=request.user,
            values=values,
            categories=Category.objects.filter(pk__in=request.POST.getlist("categories")),
            tags=Tag.objects.filter(pk__in=request.POST.getlist("tags")),
            boxes=[
                form.instance
                for form in boxes.forms
                if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE")
            ],
        )
        return views.render_preview(request, preview)

    def compare_view(self, request, pk, version_id):
        """A version of the post side by side with the one saved before it."""
        post = self._post_or_404(request, pk, self.has_view_or_change_permission)
        versions = list(Version.objects.get_for_object(post).select_related("revision__user"))
        version = get_object_or_404(Version, pk=version_id, object_id=str(post.pk))
        older = [other for other in versions if other.pk < version.pk]
        previous = max(older, key=lambda other: other.pk) if older else None
        rows = workflow.diff(
            workflow.version_snapshot(previous) if previous else {},
            workflow.version_snapshot(version),
            _("Before"),
            _("This version"),
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": Post._meta,
            "original": post,
            "title": _("Changes in this version of “%(title)s”") % {"title": post.title},
            "version": version,
            "previous": previous,
            "rows": rows,
            "revert_url": reverse("admin:posts_post_revision", args=[post.pk, version.pk]),
        }
        return TemplateResponse(request, "admin/posts/post/compare.html", context)

    def _require_edit_permission(self, request):
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied

    def markdownify_view(self, request):
        self._require_edit_permission(request)
        return HttpResponse(preview_html(request.POST.get("content", "")))

    def upload_image_view(self, request):
        self._require_edit_permission(request)
        upload = request.FILES.get("image")
        if upload is None:
            return JsonResponse({"error": str(_("No file was sent."))}, status=400)
        # The editor's script sends the alt text the writer gave (markdownx's own upload
        # sends none); the library keeps it and the Markdown carries it.
        alt = " ".join(request.POST.get("alt", "").split())
        try:
            url = uploads.store_upload(upload, request.user, alt=alt)
        except ValidationError as error:
            return JsonResponse({"error": " ".join(error.messages)}, status=400)
        return JsonResponse({"image_code": markdown_image(alt, url), "url": url, "alt": alt})

    class Media:
        css = {"all": ["kiji/admin.css"]}
        js = ["kiji/admin.js", "kiji/schedule.js"]
