from django.urls import path

from engagements import views

app_name = "engagements"

urlpatterns = [
    path("studies/", views.dashboard, name="dashboard"),
    path("studies/<uuid:public_id>/", views.study_dashboard, name="study_dashboard"),
    path("engagements/new/", views.engagement_create, name="engagement_create"),
    path("engagements/<uuid:public_id>/", views.engagement_detail, name="engagement_detail"),
    path("log/", views.log_start, name="log"),
    path("consultants/<uuid:public_id>/week/", views.week, name="week"),
    path("contributions/", views.contribution_list, name="contributions"),
    path("contributions/new/", views.contribution_create, name="contribution_create"),
    path("contributions/<uuid:public_id>/", views.contribution_detail, name="contribution_detail"),
    path("contributions/<uuid:public_id>/edit/", views.contribution_edit, name="contribution_edit"),
    path(
        "contributions/<uuid:public_id>/submit/",
        views.contribution_submit,
        name="contribution_submit",
    ),
    path(
        "contributions/<uuid:public_id>/approve/",
        views.contribution_approve,
        name="contribution_approve",
    ),
    path(
        "contributions/<uuid:public_id>/return/",
        views.contribution_reject,
        name="contribution_reject",
    ),
    path(
        "contributions/<uuid:public_id>/adjust/",
        views.contribution_adjust,
        name="contribution_adjust",
    ),
    path(
        "contributions/<uuid:public_id>/attachment/",
        views.contribution_attachment,
        name="contribution_attachment",
    ),
    path("review/", views.review, name="review"),
    path("disputes/", views.dispute_list, name="disputes"),
    path("disputes/<uuid:public_id>/", views.dispute_resolve, name="dispute_resolve"),
    path("import/", views.import_contributions, name="import"),
]
