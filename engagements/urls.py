from django.urls import path

from engagements import views

app_name = "engagements"

urlpatterns = [
    path("studies/", views.dashboard, name="dashboard"),
    path("contributions/", views.contribution_list, name="contributions"),
    path("log/", views.log_start, name="log"),
    path("review/", views.review, name="review"),
    path("disputes/", views.dispute_list, name="disputes"),
    path("import/", views.import_contributions, name="import"),
]
