"""WebSocket URL routes, one list for the whole project."""

from django.urls import path

from courses import consumers
from learning import consumers as learning_consumers

websocket_urlpatterns = [
    path("ws/render-jobs/<int:job_id>/", consumers.RenderJobConsumer.as_asgi()),
    path(
        "ws/classes/<int:classroom_id>/gradebook/", learning_consumers.GradebookConsumer.as_asgi()
    ),
]
