"""A real Celery worker takes tasks, sees the test database and reaches the channel layer."""

import asyncio
import os
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection

from lectern.tasks import announce_to_group, ping
from tests.conftest import make_user

pytestmark = pytest.mark.services


def test_task_round_trips_through_worker_on_the_test_database(
    celery_worker_process, transactional_db
):
    make_user("worker-visible", "student")

    facts = ping.delay().get(timeout=30)

    assert facts["pid"] != os.getpid()
    assert facts["database"] == {
        "vendor": connection.vendor,
        "name": str(connection.settings_dict["NAME"]),
    }
    assert facts["user_count"] == 1


class AnnouncementConsumer(AsyncJsonWebsocketConsumer):
    """Joins the group named in the scope and forwards its messages, like a progress consumer."""

    async def connect(self):
        self.group_name = self.scope["group_name"]
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def lectern_announce(self, event):
        await self.send_json(event)


def test_group_message_from_worker_reaches_websocket_consumer(
    celery_worker_process, transactional_db
):
    group_name = f"announce-{uuid.uuid4().hex}"

    async def listen_while_worker_announces() -> dict:
        communicator = WebsocketCommunicator(AnnouncementConsumer.as_asgi(), "/ws/announce/")
        communicator.scope["group_name"] = group_name
        connected, _ = await communicator.connect()
        assert connected
        try:
            await asyncio.to_thread(announce_to_group.delay, group_name, "hello from the worker")
            return await communicator.receive_json_from(timeout=30)
        finally:
            await communicator.disconnect()

    message = async_to_sync(listen_while_worker_announces)()

    assert message["text"] == "hello from the worker"
    assert message["pid"] != os.getpid()


def test_channel_layer_delivers_group_messages_within_this_process(db):
    layer = get_channel_layer()
    group_name = f"local-{uuid.uuid4().hex}"

    async def round_trip() -> dict:
        channel = await layer.new_channel()
        await layer.group_add(group_name, channel)
        await layer.group_send(group_name, {"type": "lectern.announce", "text": "local"})
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout=10)
        finally:
            await layer.group_discard(group_name, channel)

    assert async_to_sync(round_trip)()["text"] == "local"
