from django.urls import path

from meetings import views

app_name = "meetings"

urlpatterns = [
    path("sessions/", views.session_list, name="list"),
    path("sessions/new/", views.session_schedule, name="schedule"),
    path("sessions/<uuid:public_id>/", views.session_detail, name="detail"),
    path("sessions/<uuid:public_id>/invite/", views.session_invite, name="invite"),
    path("sessions/<uuid:public_id>/attendance/", views.session_attendance, name="attendance"),
    path("sessions/<uuid:public_id>/cancel/", views.session_cancel, name="cancel"),
    path("sessions/<uuid:public_id>/calendar.ics", views.session_calendar, name="calendar"),
]
