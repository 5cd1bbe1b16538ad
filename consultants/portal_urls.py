from django.urls import path

from consultants import portal_views as views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("contributions/", views.contributions, name="contributions"),
    path("log/", views.log_hours, name="log"),
    path("payments/", views.payments, name="payments"),
    path("receipts/", views.receipts, name="receipts"),
    path("preferences/", views.preferences, name="preferences"),
]
