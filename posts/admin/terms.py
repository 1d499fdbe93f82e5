"""Categories and tags, with post counts and the tools that keep them tidy (terms.py)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import terms
from ..models import Category, Tag


class PostCountFilter(admin.SimpleListFilter):
    title = _("post count")
    parameter_name = "posts"
    RANGES = {"0": {"post_count": 0}, "1": {"post_count": 1}, "2-9": {"post_count__range": (2, 9)}, "10-": {"post_count__gte": 10}}  # fmt: skip

    def lookups(self, request, model_admin):
        return [("0", _("Unused")), ("1", _("Used once")), ("2-9", _("2–9 posts")), ("10-", _("10 posts or more"))]

    def queryset(self, request, queryset):
        return queryset.filter(**self.RANGES[self.value()]) if self.value() in self.RANGES else queryset


class MergeForm(forms.Form):
    """Which of `merging` (terms with `post_count`) survives a merge, and its name."""

    survivor = forms.TypedChoiceField(coerce=int)
    name = forms.CharField(
        label=_("New name"),
        max_length=200,
        required=False,
        help_text=_("Optional. Left blank, the chosen term keeps its name."),
    )

    def __init__(self, data, merging):
        super().__init__(data)
        self.merging = sorted(merging, key=lambda term: (-term.post_count, term.name))
        self.fields["survivor"].choices = [(term.pk, term.name) for term in self.merging]
        self.fields["survivor"].initial = self.merging[0].pk if self.merging else None

    def merge(self):
        """Merge as chosen; the survivor, or None with the form's errors set."""
        if len(self.merging) < 2:
            self.add_error(None, _("Choose two or more terms to merge."))
        if not self.is_valid():
            return None
        survivor = next(term for term in self.merging if term.pk == self.cleaned_data["survivor"])
        try:
            return terms.merge(survivor, self.merging, self.cleaned_data["name"])
        except ValidationError as error:  # Term.clean's, on the name
            self.add_error(None, error)
            return None


class TermAdmin(admin.ModelAdmin):
    """Categories and tags, with post counts and tools to tidy them (see terms.py)."""

    list_display = ["name", "slug", "post_count"]
    list_filter = [PostCountFilter]
    search_fields = ["name", "slug"]
    actions = ["merge_selected", "delete_unused"]
    change_list_template = "admin/posts/term/change_list.html"

    def get_queryset(self, request):
        return terms.counted(super().get_queryset(request))

    @admin.display(description=_("post count"), ordering="post_count")
    def post_count(self, obj):
        return obj.post_count

    def changelist_view(self, request, extra_context=None):
        extra_context = {"can_tidy": self.has_change_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_duplicates"
        return [path("duplicates/", self.admin_site.admin_view(self.duplicates_view), name=name), *super().get_urls()]

    @admin.action(description=_("Merge selected into one…"), permissions=["change"])
    def merge_selected(self, request, queryset):
        form = MergeForm(request.POST if "survivor" in request.POST else None, queryset)
        if form.is_bound and self._merged(request, form):
            return None
        if len(form.merging) < 2:
            self.message_user(request, _("Choose two or more terms to merge."), messages.WARNING)
            return None
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form, "title": _("Merge into one")}
        return TemplateResponse(request, "admin/posts/term/merge.html", context)

    @admin.action(description=_("Delete selected terms that have no posts"), permissions=["delete"])
    def delete_unused(self, request, queryset):
        deleted, kept = terms.delete_unused(queryset)
        self.log_deletions(request, deleted)
        count = len(deleted)
        message = ngettext("Deleted %(count)d unused term.", "Deleted %(count)d unused terms.", count) % {"count": count}
        if kept:
            message += " " + ngettext(
                "Kept %(count)d term that posts carry.", "Kept %(count)d terms that posts carry.", kept
            ) % {"count": kept}
        self.message_user(request, message, messages.SUCCESS if count else messages.WARNING)

    def duplicates_view(self, request):
        """Terms whose names differ only in case, width, spaces, hyphens or underscores."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            chosen = [pk for pk in request.POST.getlist("merging") if pk.isdigit()]
            merging = self.get_queryset(request).filter(pk__in=chosen)
            form = MergeForm(request.POST, merging)
            if not self._merged(request, form):
                errors = [str(error) for field_errors in form.errors.values() for error in field_errors]
                self.message_user(request, " ".join(errors), messages.ERROR)
            return redirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Possible duplicates"),
            "groups": [MergeForm(None, group) for group in terms.duplicate_groups(self.model)],
        }
        return TemplateResponse(request, "admin/posts/term/duplicates.html", context)

    def _merged(self, request, form):
        survivor = form.merge()
        if survivor is not None:
            others = [term for term in form.merging if term.pk != survivor.pk]
            message = ngettext(
                "Merged %(count)d term into “%(name)s”.", "Merged %(count)d terms into “%(name)s”.", len(others)
            ) % {"count": len(others), "name": survivor.name}
            self.log_deletions(request, others)
            self.log_change(request, survivor, message)
            self.message_user(request, message, messages.SUCCESS)
        return survivor


admin.site.register(Category, TermAdmin)
admin.site.register(Tag, TermAdmin)
