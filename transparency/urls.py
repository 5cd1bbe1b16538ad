"""The study's publishing page (staff) and the public reports (anyone)."""

from django.urls import path

from transparency import views

app_name = "transparency"

urlpatterns = [
    path("studies/<uuid:public_id>/transparency/", views.study, name="study"),
    path("transparency/", views.index, name="index"),
    path("transparency/<uuid:public_id>/", views.report, name="report"),
    path("transparency/<uuid:public_id>/report.json", views.report_json, name="report_json"),
    path("transparency/<uuid:public_id>/report.csv", views.report_csv, name="report_csv"),
]
