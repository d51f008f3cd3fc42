"""WebSocket consumers of the learning app.

- A class's gradebook at ws/classes/<id>/gradebook/, live: only the class's teacher (and
  staff) may join; `learning.services` sends each student's new progress to the class's
  group after its transaction commits, and this relays it.
- A waiting variant page at ws/lessons/<id>/my-video/ (and the teacher's preview under
  ws/classes/<id>/students/<id>/lessons/<id>/preview/): the same access as the variant's
  HTTP views; it is told when the variant is ready instead of finding out at its next
  status poll (`learning.variants.lesson_variant_prepare` pushes to the variant's group).
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from accounts.models import Classroom
from learning.models import LessonVariant, VariantStatus
from learning.services import gradebook_group_name
from learning.variant_views import refused_payload, variant_status_payload, variant_subject
from learning.variants import (
    VariantError,
    lesson_variant_group_name,
    lesson_variant_request,
    student_variant,
)

# Close code for "you may not watch this class" (4000-4999 are for applications).
CLOSE_FORBIDDEN = 4403


class GradebookConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        classroom_id = self.scope["url_route"]["kwargs"]["classroom_id"]
        if not await self._allowed(classroom_id):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group_name = gradebook_group_name(classroom_id)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        await self.send_json({"type": "ready"})

    async def disconnect(self, code):
        if getattr(self, "group_name", None):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def gradebook_update(self, event):
        await self.send_json({"type": "update", **event["payload"]})

    @database_sync_to_async
    def _allowed(self, classroom_id: int) -> bool:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return False
        classrooms = Classroom.objects.filter(pk=classroom_id)
        if not user.is_staff:
            classrooms = classrooms.filter(teacher=user)
        return classrooms.exists()


class VariantConsumer(AsyncJsonWebsocketConsumer):
    """Sends {"type": "ready" | "status", "status": <status.json's payload>}: once on
    connect (the row may be ready already), then "ready" when the prepare task says so."""

    async def connect(self):
        if not await self._request(self.scope["url_route"]["kwargs"]):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if self.row_id is not None:
            self.group_name = lesson_variant_group_name(self.row_id)
            await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        # Read again after joining the group: a row made ready in between is sent now.
        await self.send_json(await self._message())

    async def disconnect(self, code):
        if getattr(self, "group_name", None):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def variant_ready(self, event):
        await self.send_json(await self._message())

    @database_sync_to_async
    def _request(self, kwargs: dict) -> bool:
        """Resolve the variant as status.json does; False where the user may not see it."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return False
        try:
            student, lesson, self.ids = variant_subject(user, kwargs)
        except Http404:
            return False
        self.variant = self.row_id = self.refusal = None
        try:
            self.variant = student_variant(student=student, lesson=lesson)
            self.row_id = lesson_variant_request(self.variant).pk
        except VariantError as error:
            self.refusal = refused_payload(error)
        return True

    @database_sync_to_async
    def _message(self) -> dict:
        if self.row_id is None:
            return {"type": "status", "status": self.refusal}
        row = LessonVariant.objects.get(pk=self.row_id)
        status = variant_status_payload(self.variant, row, self.ids)
        ready = status["status"] == VariantStatus.READY
        return {"type": "ready" if ready else "status", "status": status}
