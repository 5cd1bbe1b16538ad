from django.contrib import admin

from promises.models import SlipNotice


@admin.register(SlipNotice)
class SlipNoticeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "reason", "promised_date", "staff_told", "consultant_outcome")
    list_filter = ("reason",)
    readonly_fields = (
        "consultant",
        "reason",
        "promised_date",
        "contributions",
        "staff_told",
        "consultant_outcome",
        "created_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
