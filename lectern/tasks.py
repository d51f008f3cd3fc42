"""Small tasks that prove the worker is alive and shares the database and channel layer."""

from __future__ import annotations

import os

from asgiref.sync import async_to_sync
from celery import shared_task
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import connection


def worker_facts() -> dict:
    """What the process running a task can see: its pid, database and number of users."""
    return {
        "pid": os.getpid(),
        "database": {"vendor": connection.vendor, "name": str(connection.settings_dict["NAME"])},
        "user_count": get_user_model().objects.count(),
    }


@shared_task(name="lectern.tasks.ping", ignore_result=False)
def ping() -> dict:
    """Answer with worker_facts(); `celery -A lectern call lectern.tasks.ping` checks a worker."""
    return worker_facts()


@shared_task(name="lectern.tasks.announce_to_group")
def announce_to_group(group_name: str, text: str) -> None:
    """Send text to a channel-layer group, the way render progress reaches browsers."""
    async_to_sync(get_channel_layer().group_send)(
        group_name, {"type": "lectern.announce", "text": text, **worker_facts()}
    )
