from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from accounts import views as account_views
from core.views import favicon
from payments.public_views import verify as receipt_verify
from payments.stripe.webhooks import stripe_webhook

admin.site.site_header = "Honora administration"
admin.site.site_title = "Honora"
admin.site.index_title = "Administration"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("tokens/", account_views.api_tokens, name="api_tokens"),
    path("", include("engagements.urls")),
    path("", include("consultants.urls")),
    path("", include("agreements.urls")),
    path("", include("consents.urls")),
    path("me/", include("portal.urls")),
    path("", include("expenses.urls")),
    path("", include("meetings.urls")),
    path("", include("transparency.urls")),
    path("finance/", include("payments.urls")),
    path("api/v1/", include("api.urls")),
    path("webhooks/stripe/", stripe_webhook, name="stripe_webhook"),
    path("verify/<str:code>/", receipt_verify, name="receipt_verify"),
    path("accounts/", include("allauth.urls")),
    # The language switch on the public pages posts to set_language (same-site next only).
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' messages in the page's language (static/js use gettext()).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    # /healthz, /readyz, /metrics: for load balancers and monitors (ops/).
    path("", include("ops.urls")),
]
