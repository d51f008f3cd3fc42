"""Authorization of the WebSocket routes, built from lectern/routing.py: every route needs a
rule in SOCKETS (which roles may connect), so a new route without one fails here. Roles and
the world are those of tests/test_authorization.py.

Each role connects through lectern.asgi's own stack (the allowed-hosts origin check, session
authentication, the URL router) with the session cookie its browser would send. A refused
role must get exactly what it gets for an id that does not exist (closed before accepting,
the same close code, nothing sent), so a refusal does not tell that the object exists.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from lectern.asgi import application
from lectern.routing import websocket_urlpatterns
from tests.authorization import ROLES, World, build_world, rule

ACCEPT, REFUSE = "accept", "refuse"
OWNER_AND_STAFF = rule(REFUSE, REFUSE, REFUSE, ACCEPT, REFUSE, REFUSE, ACCEPT)
THE_STUDENT = rule(REFUSE, ACCEPT, REFUSE, REFUSE, REFUSE, REFUSE, REFUSE)

SOCKETS: dict[str, dict] = {
    # Render progress: the course's owner (moderators watch finished videos, not renders).
    "ws/render-jobs/<int:job_id>/": OWNER_AND_STAFF,
    # The live gradebook: the class's teacher; the students of the class see none of it.
    "ws/classes/<int:classroom_id>/gradebook/": OWNER_AND_STAFF,
    # A waiting variant page: the student's own, and the class's teacher's preview of it.
    "ws/lessons/<int:lesson_id>/my-video/": THE_STUDENT,
    "ws/classes/<int:classroom_id>/students/<int:student_id>/lessons/<int:lesson_id>/preview/": (
        OWNER_AND_STAFF
    ),
}
UNKNOWN_ID = 987654
SITE_ORIGIN = b"http://testserver"


def routes() -> list[str]:
    return [str(route.pattern) for route in websocket_urlpatterns]


def test_every_websocket_route_has_a_rule():
    missing = [route for route in routes() if route not in SOCKETS]
    assert not missing, "routes without a rule in tests/test_authorization_websockets.py:\n" + (
        "\n".join(missing)
    )


def test_no_rule_is_left_for_a_route_that_is_gone():
    assert set(SOCKETS) - set(routes()) == set()


@pytest.fixture
def world(transactional_db, settings, tmp_path) -> World:
    """Committed rows: the consumers and the session middleware read through
    database_sync_to_async, which closes a connection left in a test's transaction."""
    return build_world(settings, tmp_path)


def path_of(route: str, ids: dict, *, unknown: bool = False) -> str:
    """The route with the world's ids, or with ids nothing has."""

    def value(match: re.Match) -> str:
        assert match[1] in ids, f"{route}: give the world a value for {match[1]}"
        return str(UNKNOWN_ID if unknown else ids[match[1]])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, route)


def session_cookie(world: World, role: str) -> bytes:
    if role == "anonymous":
        return b""
    client = Client()
    client.force_login(world.users[role])
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


class Answer(NamedTuple):
    accepted: bool
    close_code: int | None  # refused: the code it was closed with
    first_message: dict | None  # accepted: what it sent first


async def connect(path: str, cookie: bytes, origin: bytes = SITE_ORIGIN) -> Answer:
    headers = [(b"origin", origin), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, path, headers=headers)
    accepted, close_code = await communicator.connect(timeout=5)
    if not accepted:
        assert await communicator.receive_nothing(timeout=0.05), f"{path}: refused, yet it sent"
        return Answer(False, close_code, None)
    first = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    return Answer(True, None, first)


def test_every_route_admits_each_role_as_its_rule_says(world):
    cookies = {role: session_cookie(world, role) for role in ROLES}

    async def check() -> list[str]:
        wrong = []
        for role, cookie in cookies.items():
            for route, rules in SOCKETS.items():
                answer = await connect(path_of(route, world.kwargs), cookie)
                unknown = await connect(path_of(route, world.kwargs, unknown=True), cookie)
                if unknown.accepted:
                    wrong.append(f"{route} as {role}: accepted an id that does not exist")
                if rules[role] == ACCEPT and not (answer.accepted and answer.first_message):
                    wrong.append(f"{route} as {role}: expected to connect, got {answer}")
                if rules[role] == REFUSE and answer != unknown:
                    wrong.append(f"{route} as {role}: expected {unknown}, got {answer}")
        return wrong

    wrong = async_to_sync(check)()
    assert not wrong, "\n".join(wrong)


def test_a_page_of_another_site_cannot_connect(world):
    """The origin check of lectern.asgi: the owner's own cookie, sent by another site's page."""
    cookie = session_cookie(world, "owner")
    for route in SOCKETS:
        answer = async_to_sync(connect)(
            path_of(route, world.kwargs), cookie, origin=b"https://elsewhere.example"
        )
        assert not answer.accepted, route
