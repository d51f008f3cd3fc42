"""Learning pages: the student's player and telemetry, the teacher's gradebook and exports."""

from django.urls import path

from learning import views

app_name = "learning"
urlpatterns = [
    path("lessons/<int:lesson_id>/", views.player, name="player"),
    path("lessons/<int:lesson_id>/settings/", views.lesson_settings, name="lesson_settings"),
    path("events/", views.events, name="events"),
    path("classes/<int:classroom_id>/gradebook/", views.gradebook, name="gradebook"),
    path("classes/<int:classroom_id>/gradebook.csv", views.gradebook_csv, name="gradebook_csv"),
    path("classes/<int:classroom_id>/xapi.json", views.xapi_export, name="xapi"),
]
