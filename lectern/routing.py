"""WebSocket URL routes, one list for the whole project."""

from django.urls import path

from courses import consumers
from learning import consumers as learning_consumers

websocket_urlpatterns = [
    path("ws/render-jobs/<int:job_id>/", consumers.RenderJobConsumer.as_asgi()),
    path(
        "ws/classes/<int:classroom_id>/gradebook/", learning_consumers.GradebookConsumer.as_asgi()
    ),
    # A variant page waiting for its video: the student's own, and the teacher's preview.
    path("ws/lessons/<int:lesson_id>/my-video/", learning_consumers.VariantConsumer.as_asgi()),
    path(
        "ws/classes/<int:classroom_id>/students/<int:student_id>/lessons/<int:lesson_id>/preview/",
        learning_consumers.VariantConsumer.as_asgi(),
    ),
]
