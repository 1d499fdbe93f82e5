"""Redirects: old URLs (a changed slug, a Hugo alias, a renamed term) and where their
content lives now. Kiji adds most of them itself; editors add, correct and remove them."""

from urllib.parse import unquote

from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import Redirect


class RedirectForm(forms.ModelForm):
    class Meta:
        model = Redirect
        fields = ["old_path", "new_path"]
        help_texts = {
            "old_path": _("A path on this site, e.g. /posts/old-slug/. Readers are sent on only when nothing else is there."),
            "new_path": _("Where to send them: a path on this site, e.g. /posts/new-slug/, or a full https:// address."),
        }

    def clean_old_path(self):
        # Stored as the request's path is read (percent-decoded), as Redirect.add stores it.
        old_path = unquote(self.cleaned_data["old_path"].strip())
        if not old_path.startswith("/") or old_path.startswith("//"):
            raise forms.ValidationError(_("Start the old path with one “/”, e.g. /posts/old-slug/."))
        return old_path

    def clean_new_path(self):
        new_path = self.cleaned_data["new_path"].strip()
        if new_path.startswith("/") and not new_path.startswith("//"):
            return unquote(new_path)
        if new_path.startswith(("https://", "http://")):
            return new_path
        raise forms.ValidationError(
            _("Enter a path on this site that starts with “/”, or a full address that starts with https://.")
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("old_path") and cleaned.get("old_path") == cleaned.get("new_path"):
            self.add_error("new_path", _("This is the old path itself: readers would be sent round in a circle."))
        return cleaned


@admin.register(Redirect)
class RedirectAdmin(admin.ModelAdmin):
    form = RedirectForm
    list_display = ["old_path", "destination", "created_at"]
    search_fields = ["old_path", "new_path"]
    date_hierarchy = "created_at"
    list_per_page = 100

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Redirect.add keeps every chain one hop long and frees the new path.
        Redirect.add(obj.old_path, obj.new_path)

    @admin.display(description=_("new path"), ordering="new_path")
    def destination(self, obj):
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', obj.new_path, obj.new_path)

    class Media:
        css = {"all": ["kiji/admin.css"]}
