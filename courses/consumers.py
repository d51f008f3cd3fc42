"""WebSocket consumers: live render progress."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class RenderJobConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.close()
