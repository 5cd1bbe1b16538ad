from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import User


class InviteForm(forms.ModelForm):
    """Staff invite people by e-mail; the invitee signs in by code or sets a password."""

    class Meta:
        model = User
        fields = ["email", "name", "groups"]

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, DjangoUserAdmin):
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

    def has_delete_permission(self, request, obj=None):
        return False  # people are deactivated, never deleted: their history points at them

    def save_model(self, request, obj, form, change):
        if not change and not obj.password:
            obj.set_unusable_password()  # invited: they sign in by e-mailed code or reset
        super().save_model(request, obj, form, change)
