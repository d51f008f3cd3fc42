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
]
