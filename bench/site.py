"""A throwaway Lectern site for benches: SQLite and the embedded Redis in a temporary folder,
uvicorn and a Celery worker started as `make run` starts them, all removed at the end.

Used by bench/load.py and bench/first_frame.py; nothing of `make run` or the test suite is
touched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def private_environment(folder: Path, **overrides: str) -> None:
    """Point this process (and the children it starts) at a throwaway site in folder;
    overrides are further LECTERN_* variables."""
    for name in ("DATABASE_URL", "REDIS_URL", "LECTERN_MEDIA_ROOT", "LECTERN_CACHE_DIR"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="lectern.settings",
        LECTERN_VAR_DIR=str(folder),
        LECTERN_STATIC_ROOT=str(folder / "static"),
        LECTERN_REDIS_PREFIX=f"lectern-bench-{os.getpid()}",
        # Production mode, as a school runs it (no query log, compressed static files); plain
        # HTTP on loopback, so no redirect to HTTPS.
        LECTERN_DEBUG="0",
        LECTERN_SSL_REDIRECT="0",
        LECTERN_SECRET_KEY=secrets.token_urlsafe(50),
        LECTERN_TTS_ENGINES="espeak",  # the cheapest offline voice: the bench loads the site
        LECTERN_DEVICE="cpu",
        LECTERN_LOG_LEVEL="WARNING",
        # Only bench accounts, thrown away at the end: fast hashing keeps sign-in out of it.
        LECTERN_PASSWORD_HASHERS="django.contrib.auth.hashers.MD5PasswordHasher",
        PYTHONUNBUFFERED="1",
    )
    os.environ.update(overrides)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_children(folder: Path, port: int, workers: int) -> list[subprocess.Popen]:
    """uvicorn on 127.0.0.1:port and a Celery worker (render and default queues)."""
    from lectern.webserver import web_server_command

    env = dict(os.environ)
    web_log = open(folder / "web.log", "ab")  # noqa: SIM115
    worker_log = open(folder / "worker.log", "ab")  # noqa: SIM115
    web = subprocess.Popen(
        web_server_command("127.0.0.1", port), cwd=REPO_ROOT, env=env,
        stdout=web_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "lectern", "worker", "-Q", "render,celery",
            "--concurrency", str(workers), "--without-gossip", "--without-mingle",
            "-n", f"bench-{os.getpid()}@localhost", "--loglevel", "WARNING",
        ],
        cwd=REPO_ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return [web, worker]


def wait_until_up(base: str, processes: list[subprocess.Popen], timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise SystemExit("the web server or the worker exited; see their logs")
        try:
            if httpx.get(f"{base}/accounts/login/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the web server did not answer within a minute")


@dataclass
class ThrowawaySite:
    folder: Path
    base: str = ""
    children: list[subprocess.Popen] = field(default_factory=list)

    def start(self, workers: int) -> None:
        """Start the web server and the worker; returns once the site answers."""
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.children = start_children(self.folder, port, workers)
        wait_until_up(self.base, self.children)


@contextlib.contextmanager
def throwaway_site(prefix: str = "lectern-bench-", **overrides: str) -> Iterator[ThrowawaySite]:
    """Django set up on a migrated throwaway site with its embedded Redis; the caller adds
    rows, then site.start(workers). Everything is stopped and removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    private_environment(folder, **overrides)
    (folder / "static").mkdir()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from lectern.embedded_redis import start_embedded_redis, stop_process

    redis_process = start_embedded_redis(settings.EMBEDDED_REDIS_SOCKET, persist=False)
    site = ThrowawaySite(folder)
    try:
        call_command("migrate", verbosity=0)
        call_command("collectstatic", verbosity=0, interactive=False)
        yield site
    finally:
        for child in site.children:
            stop_process(child, timeout_s=15)
        stop_process(redis_process)
        shutil.rmtree(folder, ignore_errors=True)
