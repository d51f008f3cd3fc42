"""WebSocket URL routes, one list for the whole project."""

from django.urls import path

from courses import consumers

websocket_urlpatterns = [
    path("ws/render-jobs/<int:job_id>/", consumers.RenderJobConsumer.as_asgi()),
]
