from django.contrib import admin

from agreements.models import AgreementAcceptance, AgreementVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    """Agreements are issued and accepted through Honora's pages; the admin only reads."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AgreementVersion)
class AgreementVersionAdmin(ReadOnlyAdmin):
    list_display = ["engagement", "number", "reason", "language", "issued_at", "issued_by"]
    list_filter = ["reason", "language"]
    raw_id_fields = ["engagement"]


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ["version", "how", "accepted_by", "witnessed_by", "accepted_at"]
    list_filter = ["how"]
