"""`python manage.py run_lectern`: the embedded Redis, a Celery worker and uvicorn, supervised.

Ctrl-C (or SIGTERM) stops all three: the web server first, then the worker, then Redis.
A crashed worker or embedded Redis is started again, after a growing delay (a log line says
so); if the web server exits on its own, the others are stopped and the command fails.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_JOIN_CODE, DEMO_MODERATOR, DEMO_PASSWORD, DEMO_STUDENTS, DEMO_TEACHER
from accounts.models import User
from lectern.embedded_redis import EmbeddedRedisError, start_embedded_redis, stop_process
from lectern.webserver import web_server_command

logger = logging.getLogger(__name__)

# A crashed child is started again after these delays, one per crash in a row; the count
# starts over once it has run for STABLE_AFTER_S.
RESTART_DELAYS_S = (1, 2, 4, 8, 16, 30)
STABLE_AFTER_S = 60


def restart_delay_s(crashes_in_a_row: int) -> float:
    return RESTART_DELAYS_S[min(max(crashes_in_a_row, 1), len(RESTART_DELAYS_S)) - 1]


@dataclass
class Child:
    """A supervised process; one with `start` is started again when it exits."""

    name: str
    process: subprocess.Popen
    start: Callable[[], subprocess.Popen] | None = None
    started_at: float = field(default_factory=time.monotonic)
    crashes: int = 0
    restart_at: float | None = None


class Stop(Exception):
    """Raised from the signal handler to leave the supervision loop."""


class Command(BaseCommand):
    help = "Run Lectern: embedded Redis (unless REDIS_URL is set), a Celery worker and uvicorn."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options):
        if _port_in_use(host, port):
            raise CommandError(f"{host}:{port} is already in use; stop that server or pass --port.")
        children: list[Child] = []

        def request_stop(signum, frame):
            raise Stop

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            self._start_children(children, host, port)
            self._print_banner(host, port)
            self._supervise(children)
        except Stop:
            self.stdout.write("\nStopping Lectern…")
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            for child in reversed(children):
                stop_process(child.process, timeout_s=10)
        self.stdout.write("Lectern stopped.")

    def _start_children(self, children: list[Child], host: str, port: int) -> None:
        """Start each child, appending it at once so a failure later still stops it."""
        if not settings.REDIS_URL:
            try:
                redis = _start_redis()
            except EmbeddedRedisError as error:
                raise CommandError(str(error)) from error
            children.append(Child("embedded Redis", redis, start=_start_redis))
            self.stdout.write(f"Embedded Redis on {settings.EMBEDDED_REDIS_SOCKET}")
        # Own sessions: Ctrl-C reaches only this command, which stops the children in order.
        worker = _start_worker()
        children.append(Child("Celery worker", worker, start=_start_worker))
        web = subprocess.Popen(web_server_command(host, port), start_new_session=True)
        children.append(Child("web server (uvicorn)", web))
        _wait_for_port(host, port, web)
        _wait_for_worker(worker)

    def _supervise(self, children: list[Child]) -> None:
        while True:
            supervise_once(children, now=time.monotonic())
            time.sleep(0.5)

    def _print_banner(self, host: str, port: int) -> None:
        lines = ["", f"Lectern is running at http://{host}:{port}/  (Ctrl-C stops it)"]
        if User.objects.filter(username=DEMO_TEACHER).exists():
            lines += [
                f"Demo accounts (password {DEMO_PASSWORD}):",
                f"  teacher    {DEMO_TEACHER}",
                f"  students   {', '.join(DEMO_STUDENTS)}  (class join code {DEMO_JOIN_CODE})",
                f"  moderator  {DEMO_MODERATOR}",
            ]
        lines.append(f"Health: http://{host}:{port}/healthz")
        self.stdout.write(self.style.SUCCESS("\n".join(lines)) + "\n")


def supervise_once(children: list[Child], *, now: float) -> None:
    """Schedule a restart for each child that exited, and start those whose delay is over.

    A child without `start` that exits stops Lectern (CommandError).
    """
    for child in children:
        if child.restart_at is not None:
            if now >= child.restart_at:
                _restart(child, now=now)
            continue
        code = child.process.poll()
        if code is None:
            continue
        if child.start is None:
            raise CommandError(
                f"{child.name} exited with status {code}; stopping Lectern (see its output above)."
            )
        child.crashes = 1 if now - child.started_at >= STABLE_AFTER_S else child.crashes + 1
        delay_s = restart_delay_s(child.crashes)
        child.restart_at = now + delay_s
        logger.warning(
            "%s exited with status %s; starting it again in %.0f s (crash %d in a row)",
            child.name, code, delay_s, child.crashes,
        )  # fmt: skip


def _restart(child: Child, *, now: float) -> None:
    try:
        child.process = child.start()
    except (OSError, EmbeddedRedisError) as error:
        child.crashes += 1
        child.restart_at = now + restart_delay_s(child.crashes)
        logger.error("%s could not be started again (%s); trying later", child.name, error)
        return
    child.started_at, child.restart_at = now, None
    logger.warning("%s started again (pid %s)", child.name, child.process.pid)


def _start_redis() -> subprocess.Popen:
    return start_embedded_redis(
        settings.EMBEDDED_REDIS_SOCKET, log_path=settings.VAR_DIR / "redis.log"
    )


def _start_worker() -> subprocess.Popen:
    # Own session: Ctrl-C reaches only this command, which stops the children in order.
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lectern", "worker",
         "-Q", f"{settings.LECTERN_RENDER_QUEUE},celery", "--concurrency", "1",
         "--loglevel", "INFO"],
        start_new_session=True,
    )  # fmt: skip


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


def _wait_for_port(host: str, port: int, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandError(f"the web server exited with status {process.returncode} on start.")
        if _port_in_use(host, port):
            return
        time.sleep(0.2)
    raise CommandError(f"the web server did not listen on {host}:{port} within {timeout_s:.0f} s.")


def _wait_for_worker(process: subprocess.Popen, timeout_s: float = 60) -> None:
    """Return once a worker answers a control ping, so the banner is printed after its logs."""
    from lectern.celery import app as celery_app

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandError(f"the Celery worker exited with status {process.returncode}.")
        if celery_app.control.ping(timeout=1):
            return
    raise CommandError(f"the Celery worker did not answer within {timeout_s:.0f} s.")
