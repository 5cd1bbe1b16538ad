from django.urls import path

from consultants import views

app_name = "consultants"

urlpatterns = [
    path("consultants/", views.consultant_list, name="list"),
    path("consultants/<uuid:public_id>/", views.consultant_detail, name="detail"),
]
