"""Under ASGI every request runs in a thread of its own: a web process must not keep a
PostgreSQL connection per request (it once ran the server out of connections, "too many
clients", after a few hundred requests). Connections come from a bounded pool."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.models import Role
from lectern.embedded_redis import stop_process
from tests.conftest import make_user, start_asgi_server, subprocess_env

POOL_SIZE = 3
APPLICATION = "lectern-pool-test"


async def load(url: str, cookie: str, requests: int, concurrency: int) -> list[int]:
    async with httpx.AsyncClient(headers={"Cookie": cookie}, timeout=30) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> int:
            async with gate:
                return (await client.get(url)).status_code

        return await asyncio.gather(*(one() for _ in range(requests)))


def server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APPLICATION]
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_web_process_holds_no_more_postgresql_connections_than_its_pool():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server connections to count")
    teacher = make_user("pool-teacher", Role.TEACHER)
    client = Client()
    client.force_login(teacher)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    # libpq names the child's connections, so they can be told from this process's own.
    env = {**subprocess_env(), "LECTERN_DB_POOL_SIZE": str(POOL_SIZE), "PGAPPNAME": APPLICATION}
    server = start_asgi_server(env, log_name="pool-web.log")
    try:
        statuses = asyncio.run(load(f"{server.url}/courses/", cookie, 240, 24))
        assert statuses == [200] * len(statuses), server.log_tail()
        assert 1 <= server_connections() <= POOL_SIZE
    finally:
        stop_process(server.process)
