"""The coordinators' consent ledger. Records are named by opaque ids only."""

from django.urls import path

from consents import views

app_name = "consents"

urlpatterns = [
    path("studies/<uuid:public_id>/consents/", views.ledger, name="ledger"),
    path("studies/<uuid:public_id>/consents/new/", views.request_create, name="request_create"),
    path("consents/<uuid:public_id>/", views.detail, name="detail"),
    path("consents/<uuid:public_id>/withdraw/", views.withdraw, name="withdraw"),
]
