"""Read-only views of the money records: they change only through their services."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from payments.documents.models import AnnualStatement, Receipt
from payments.models import (
    Payment,
    PaymentAttempt,
    PaymentItem,
    PayoutBatch,
    StripeAccount,
    StripeSetupFailure,
    WebhookEvent,
)


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PaymentItemInline(ReadOnlyMixin, admin.TabularInline):
    model = PaymentItem
    fields = ["contribution", "amount", "live", "released_at", "release_reason"]
    readonly_fields = fields
    extra = 0


class PaymentAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = PaymentAttempt
    fields = ["number", "status", "provider_reference", "error_code", "started_at", "finished_at"]
    readonly_fields = fields
    extra = 0


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ["created_at", "status", "cutoff_date", "method", "created_by", "approved_by"]
    list_filter = ["status", "method"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ["batch", "consultant", "method", "amount", "status", "hold_reason", "paid_at"]
    list_filter = ["status", "method", "rail", "hold_reason"]
    list_select_related = ["batch", "consultant"]
    search_fields = ["consultant__display_name", "reference", "transfer_id"]
    exclude = ["proof"]
    inlines = [PaymentItemInline, PaymentAttemptInline]


@admin.register(PaymentItem)
class PaymentItemAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ["payment", "contribution", "amount", "live"]
    list_filter = ["live"]


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ["payment", "number", "status", "provider_reference", "error_code", "started_at"]
    list_filter = ["status"]


@admin.register(StripeAccount)
class StripeAccountAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = [
        "consultant",
        "account_id",
        "country",
        "payouts_enabled",
        "transfers_active",
        "updated_at",
    ]


@admin.register(StripeSetupFailure)
class StripeSetupFailureAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["at", "consultant", "step", "code", "http_status", "request_id"]
    list_filter = ["step", "code"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["received_at", "type", "event_id", "account", "outcome"]
    list_filter = ["type"]
    exclude = ["payload"]


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["number", "paid_on", "total", "currency", "issued_at", "replaces"]
    search_fields = ["number", "verification_code"]
    exclude = ["payee_name", "lines", "pdf"]


@admin.register(AnnualStatement)
class AnnualStatementAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["consultant", "year", "version", "generated_at"]
    exclude = ["pdf"]
