"""Moderation URLs, under /moderation/."""

from django.urls import path

from moderation import views

app_name = "moderation"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("versions/<int:version_id>/", views.review, name="review"),
    path("versions/<int:version_id>/claim/", views.claim, name="claim"),
    path("versions/<int:version_id>/release/", views.release, name="release"),
    path("versions/<int:version_id>/decide/", views.decide, name="decide"),
    path("versions/<int:version_id>/appeal/", views.appeal, name="appeal"),
    path("reports/lessons/<int:lesson_id>/", views.report, name="report"),
    path("reports/<int:lesson_id>/", views.lesson_reports, name="lesson_reports"),
    path("reports/<int:lesson_id>/restore/", views.lesson_restore, name="lesson_restore"),
    path("lessons/<int:lesson_id>/takedown/", views.lesson_takedown, name="lesson_takedown"),
]
