from django.urls import path

from engagements.views import contributions, disputes, imports, review, studies, week

app_name = "engagements"

urlpatterns = [
    path("studies/", studies.dashboard, name="dashboard"),
    path("studies/<uuid:public_id>/", studies.study_dashboard, name="study_dashboard"),
    path(
        "studies/<uuid:public_id>/engagements/",
        studies.study_engagements,
        name="study_engagements",
    ),
    path(
        "studies/<uuid:public_id>/pay-calendar/",
        studies.study_pay_calendar,
        name="study_pay_calendar",
    ),
    path("engagements/new/", studies.engagement_create, name="engagement_create"),
    path("engagements/<uuid:public_id>/", studies.engagement_detail, name="engagement_detail"),
    path("log/", week.log_start, name="log"),
    path("consultants/<uuid:public_id>/week/", week.week, name="week"),
    path("contributions/", contributions.contribution_list, name="contributions"),
    path("contributions/new/", contributions.contribution_create, name="contribution_create"),
    path(
        "contributions/<uuid:public_id>/",
        contributions.contribution_detail,
        name="contribution_detail",
    ),
    path(
        "contributions/<uuid:public_id>/edit/",
        contributions.contribution_edit,
        name="contribution_edit",
    ),
    path(
        "contributions/<uuid:public_id>/submit/",
        contributions.contribution_submit,
        name="contribution_submit",
    ),
    path(
        "contributions/<uuid:public_id>/approve/",
        review.contribution_approve,
        name="contribution_approve",
    ),
    path(
        "contributions/<uuid:public_id>/return/",
        review.contribution_reject,
        name="contribution_reject",
    ),
    path(
        "contributions/<uuid:public_id>/adjust/",
        contributions.contribution_adjust,
        name="contribution_adjust",
    ),
    path(
        "contributions/<uuid:public_id>/attachment/",
        contributions.contribution_attachment,
        name="contribution_attachment",
    ),
    path("review/", review.review, name="review"),
    path("disputes/", disputes.dispute_list, name="disputes"),
    path("disputes/<uuid:public_id>/", disputes.dispute_resolve, name="dispute_resolve"),
    path("import/", imports.import_contributions, name="import"),
    path("import/<uuid:public_id>/", imports.import_run_page, name="import_run"),
]
