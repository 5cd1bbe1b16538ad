"""The consultant's own portal, under /me/. Records are named by opaque ids only."""

from django.urls import path

from consultants import portal_views as views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("contributions/", views.contributions, name="contributions"),
    path("contributions/<uuid:public_id>/", views.contribution_detail, name="contribution"),
    path("log/", views.log_hours, name="log"),
    path("payments/", views.payments, name="payments"),
    path("receipts/", views.receipts, name="receipts"),
    path("preferences/", views.preferences, name="preferences"),
]
