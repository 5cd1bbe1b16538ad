from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from consultants import services
from consultants.models import Consultant, IdentityVault, TaxForm, VaultReveal
from consultants.selectors import mask_taxpayer_id
from core.admin import ReasonedHistoryAdmin
from core.errors import DomainError


@admin.register(Consultant)
class ConsultantAdmin(ReasonedHistoryAdmin):
    """Staff name a consultant and set their status; nothing more.

    Contact details, safe-contact preferences and the consultant's own choices
    (payout method, credit, receipts, benefits limit, language) are theirs: they set
    them in the portal or through the API. The admin neither shows nor edits them,
    and its history pages show only the fields below.
    """

    list_display = ["display_name", "status", "payout_method", "preferred_language", "user"]
    list_filter = ["status", "payout_method", "preferred_language"]
    search_fields = ["display_name", "pseudonym"]
    fields = ["display_name", "pseudonym", "status", "user", "public_id", "created_at"]
    readonly_fields = ["public_id", "created_at"]
    raw_id_fields = ["user"]
    # What the history pages may show of a change: the admin's own fields, never values
    # a consultant keeps private (an allowlist, so a new private field stays hidden).
    history_fields = ("display_name", "pseudonym", "status", "user")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields.append("user")  # linking a sign-in to a consultant is a superuser's act
        return fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # Added like anywhere else: with its tax form and a named history row.
        try:
            created = services.consultant_create(
                by=request.user,
                display_name=obj.display_name,
                user=obj.user,
                pseudonym=obj.pseudonym,
                status=obj.status,
            )
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.pk = created.pk
        obj._state.adding = False

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(
                    current,
                    included_fields=self.history_fields,
                    foreign_keys_are_objs=foreign_keys_are_objs,
                )
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current

    def has_delete_permission(self, request, obj=None):
        return False


class VaultForm(forms.ModelForm):
    """Write-only inputs: the admin never prints a stored vault value."""

    legal_name = forms.CharField(required=False, help_text=_("Leave blank to keep what is stored."))
    mailing_address = forms.CharField(
        required=False, widget=forms.Textarea, help_text=_("Leave blank to keep what is stored.")
    )
    date_of_birth = forms.DateField(
        required=False, help_text=_("Leave blank to keep what is stored.")
    )
    taxpayer_id = forms.CharField(
        required=False, help_text=_("Leave blank to keep what is stored.")
    )
    reason = forms.CharField(help_text=_("Why are these details changing? Kept in the history."))

    class Meta:
        model = IdentityVault
        fields = ["consultant"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in IdentityVault.FIELDS:
                self.initial[name] = None


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=VaultReveal.Field.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Recorded."))


@admin.register(IdentityVault)
class IdentityVaultAdmin(admin.ModelAdmin):
    form = VaultForm
    list_display = ["consultant", "legal_name_masked", "taxpayer_id_masked", "updated_at"]
    search_fields = ["consultant__display_name"]
    raw_id_fields = ["consultant"]

    @admin.display(description=_("legal name"))
    def legal_name_masked(self, obj):
        return "••••••" if obj.legal_name else "—"

    @admin.display(description=_("taxpayer id"))
    def taxpayer_id_masked(self, obj):
        return mask_taxpayer_id(obj.taxpayer_id[-4:] if obj.taxpayer_id else "")

    def get_readonly_fields(self, request, obj=None):
        return ["consultant", "reveal_link", "history_summary"] if obj else []

    def get_fields(self, request, obj=None):
        fields = ["consultant", *IdentityVault.FIELDS, "reason"]
        if obj:
            fields += ["reveal_link", "history_summary"]
        return fields

    @admin.display(description=_("reveal"))
    def reveal_link(self, obj):
        url = reverse("admin:consultants_identityvault_reveal", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Reveal one field (recorded)"))

    @admin.display(description=_("history"))
    def history_summary(self, obj):
        rows = obj.history.select_related("history_user").order_by("-history_date")[:20]
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} · {} · {}</li>",
                (
                    (
                        h.history_date.strftime("%Y-%m-%d %H:%M"),
                        h.history_user or _("system"),
                        h.history_change_reason or h.history_action or "",
                    )
                    for h in rows
                ),
            ),
        )

    def save_model(self, request, obj, form, change):
        values = {
            name: form.cleaned_data[name]
            for name in IdentityVault.FIELDS
            if form.cleaned_data.get(name) not in (None, "")
        }
        try:
            vault = services.vault_update(
                consultant=form.cleaned_data.get("consultant") or obj.consultant,
                by=request.user,
                reason=form.cleaned_data["reason"],
                **values,
            )
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.pk = vault.pk

    def get_urls(self):
        return [
            path(
                "<int:pk>/reveal/",
                self.admin_site.admin_view(self.reveal_view),
                name="consultants_identityvault_reveal",
            ),
            *super().get_urls(),
        ]

    def reveal_view(self, request, pk):
        vault = get_object_or_404(IdentityVault, pk=pk)
        if not request.user.has_perm("consultants.reveal_vault"):
            raise PermissionDenied
        value = None
        form = RevealForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            value = services.vault_reveal(
                consultant=vault.consultant,
                field=form.cleaned_data["field"],
                by=request.user,
                reason=form.cleaned_data["reason"],
                context="admin",
            )
            messages.info(request, _("This reveal was recorded."))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reveal an identity detail"),
            "form": form,
            "value": value,
            "vault": vault,
            "opts": self.model._meta,
        }
        response = render(request, "admin/consultants/identityvault/reveal.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(VaultReveal)
class VaultRevealAdmin(admin.ModelAdmin):
    list_display = ["revealed_at", "consultant", "field", "revealed_by", "context"]
    list_filter = ["field", "context"]
    readonly_fields = [f.name for f in VaultReveal._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaxForm)
class TaxFormAdmin(ReasonedHistoryAdmin):
    list_display = ["consultant", "form_type", "status", "received_on", "tin_masked"]
    list_filter = ["status"]
    readonly_fields = ["consultant", "form_type", "tin_last4"]

    @admin.display(description=_("taxpayer id"))
    def tin_masked(self, obj):
        return mask_taxpayer_id(obj.tin_last4)

    def has_add_permission(self, request):
        return False  # created with the consultant

    def has_delete_permission(self, request, obj=None):
        return False
