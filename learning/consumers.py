"""WebSocket consumer: a class's gradebook at ws/classes/<id>/gradebook/, live.

Only the class's teacher (and staff) may join; `learning.services` sends each student's new
progress to the class's group after its transaction commits, and this relays it.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.models import Classroom
from learning.services import gradebook_group_name

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
