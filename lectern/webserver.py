"""The command line that serves lectern.asgi over HTTP and WebSockets: uvicorn.

uvicorn, not daphne: daphne (through Twisted) receives a request's whole body into memory or
a temporary file and then queues all of it to the application at once, so a 1 GiB POST to
the sign-in page cost gigabytes before any code of ours could refuse it. uvicorn hands the
body over in chunks and stops reading the socket while the application is not receiving,
so lectern.request_limits refuses an oversized body with 413 before it is read.
"""

from __future__ import annotations

import sys


def web_server_command(host: str, port: int) -> list[str]:
    """Arguments for a child process serving Lectern on host:port."""
    return [
        sys.executable, "-m", "uvicorn", "lectern.asgi:application",
        "--host", host, "--port", str(port),
        # wsproto: pure Python, and uvicorn's implementation for it is not deprecated.
        "--ws", "wsproto",
        # Channels' router has no lifespan protocol.
        "--lifespan", "off",
        # Django alone decides whether to trust X-Forwarded-* (SECURE_PROXY_SSL_HEADER);
        # uvicorn would otherwise believe them from 127.0.0.1.
        "--no-proxy-headers",
        # Open WebSockets would otherwise hold a stop (SIGTERM) back indefinitely.
        "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip
