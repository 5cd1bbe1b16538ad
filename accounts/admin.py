from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import ADMIN, FINANCE
from core.admin import ReasonedHistoryAdmin

# Roles only a superuser may give or take away: they reach money, the identity
# vault, and users and roles themselves.
SUPERUSER_GRANTED_ROLES = (FINANCE, ADMIN)
# What nobody but a superuser changes about their own account.
OWN_ACCESS_FIELDS = ("is_active", "is_staff", "is_superuser", "groups")


def _check_role_changes(request, before, after) -> None:
    """Refuse a change to the finance or admin role unless a superuser makes it."""
    if request.user.is_superuser:
        return
    before = {g.name for g in before}
    after = {g.name for g in after}
    changed = sorted((before ^ after).intersection(SUPERUSER_GRANTED_ROLES))
    if changed:
        raise ValidationError(
            _("Only a superuser can give or take away these roles: %(roles)s."),
            params={"roles": ", ".join(changed)},
            code="superuser_only_role",
        )


class InviteForm(forms.ModelForm):
    """Staff invite people by e-mail; the invitee signs in by code or sets a password."""

    class Meta:
        model = User
        fields = ["email", "name", "groups"]

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()


@admin.register(User)
class UserAdmin(ReasonedHistoryAdmin, DjangoUserAdmin):
    # Django's own add form asks for a password that these fieldsets never show.
    add_form = InviteForm
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_staff", "role_list"]
    list_filter = ["is_active", "is_staff", "groups"]
    search_fields = ["email", "name"]
    readonly_fields = ["public_id", "last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password", "public_id")}),
        (_("Profile"), {"fields": ("name",)}),
        (_("Roles and access"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "groups")}),)
    filter_horizontal = ["groups"]

    @admin.display(description=_("roles"))
    def role_list(self, obj):
        return ", ".join(sorted(g.name for g in obj.groups.all()))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return fields
        fields.append("is_superuser")
        if obj is not None and obj.pk == request.user.pk:
            # Nobody raises, lowers or switches off their own access.
            fields += [name for name in OWN_ACCESS_FIELDS if name not in fields]
        return fields

    def has_change_permission(self, request, obj=None):
        # A superuser's account (e-mail, password, access) is changed by a superuser:
        # otherwise whoever may edit users could take it over.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        before = list(obj.groups.all()) if obj is not None else []

        class RoleCheckedForm(form):
            def clean_groups(self):
                groups = self.cleaned_data.get("groups")
                _check_role_changes(request, before, groups or [])
                return groups

        RoleCheckedForm.__name__ = form.__name__
        return RoleCheckedForm

    def has_delete_permission(self, request, obj=None):
        return False  # people are deactivated, never deleted: their history points at them

    def save_model(self, request, obj, form, change):
        if not change and not obj.password:
            obj.set_unusable_password()  # invited: they sign in by e-mailed code or reset
        super().save_model(request, obj, form, change)
