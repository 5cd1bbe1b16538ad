from django.urls import path

from agreements import views

app_name = "agreements"

urlpatterns = [
    path(
        "engagements/<uuid:public_id>/agreements/",
        views.engagement_agreements,
        name="engagement",
    ),
    path(
        "engagements/<uuid:public_id>/agreements/issue/",
        views.agreement_issue,
        name="issue",
    ),
    path("agreements/<uuid:public_id>/paper/", views.agreement_record_paper, name="paper"),
]
