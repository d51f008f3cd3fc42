"""WebSocket consumers: live render progress at ws/render-jobs/<id>/.

On connect the consumer checks that the user may see the job, joins the job's group and
first sends the stored row, so a page that reloads mid-render shows the truth at once;
after that it relays every progress message the render task sends to the group.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from courses.models import RenderJob
from courses.selectors import render_job_payload, user_can_edit_course

# Close code for "you may not watch this job" (4000-4999 are for applications).
CLOSE_FORBIDDEN = 4403


class RenderJobConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        job = await self._job_if_allowed(self.scope["url_route"]["kwargs"]["job_id"])
        if job is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group_name = job.group_name
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        # Read again after joining the group, so no update can fall between read and join.
        await self.send_json(await self._stored_payload(job.pk))

    async def disconnect(self, code):
        if getattr(self, "group_name", None):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def render_progress(self, event):
        await self.send_json(event["payload"])

    @database_sync_to_async
    def _job_if_allowed(self, job_id: int) -> RenderJob | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        job = RenderJob.objects.select_related("version__lesson__course").filter(pk=job_id).first()
        if job is None or not user_can_edit_course(user, job.version.lesson.course):
            return None
        return job

    @database_sync_to_async
    def _stored_payload(self, job_id: int) -> dict:
        return render_job_payload(RenderJob.objects.get(pk=job_id))
