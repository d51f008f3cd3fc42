"""Request bodies over their limit are refused with 413 before they are read (issue 16).

Against a real web server process started as `make run` starts it, with an upload limit of
2 MB and the default 1 MB form limit; the requests are written on raw sockets so the test,
not a client library, decides what is sent and when.
"""

from __future__ import annotations

import re
import select
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar

import pytest
from django.urls import reverse

from courses import services
from lectern.embedded_redis import stop_process
from lectern.request_limits import body_limit_bytes
from tests.conftest import LiveServer, start_asgi_server, subprocess_env

MB = 1024 * 1024
UPLOAD_LIMIT_MB = 2


@pytest.fixture(scope="module")
def limited_server(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():
        env = subprocess_env()
    env["LECTERN_MAX_UPLOAD_MB"] = str(UPLOAD_LIMIT_MB)
    env.pop("LECTERN_MAX_FORM_KB", None)
    server = start_asgi_server(env, log_name="web-limits.log")
    yield server
    stop_process(server.process)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class PeakRss:
    """Samples a process's resident memory every 20 ms while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mb = rss_mb(pid)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak_mb = max(self.peak_mb, rss_mb(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        time.sleep(0.2)  # the last of the body reaches the server
        self._done.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, rss_mb(self.pid))


def request_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket, timeout_s: float = 5) -> tuple[int, bytes]:
    """Status and raw response read until the server closes (it sends Connection: close)."""
    sock.settimeout(timeout_s)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
    assert match, f"no HTTP response, got {data[:200]!r}"
    return int(match.group(1)), data


def post_declaring_length(server: LiveServer, path: str, length: int, **headers) -> tuple:
    """Send only the headers of a POST that declares `length` bytes; return the response and
    how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        head = {"Content-Length": str(length), "Content-Type": "application/octet-stream"}
        sock.sendall(request_head(path, head | headers))
        status, response = read_response(sock)
    return status, response, time.monotonic() - started


def post_chunked(server: LiveServer, path: str, total_bytes: int) -> tuple[int | None, int]:
    """Stream a chunked body until it is all sent, the server answers or drops the
    connection; return the status (None when none could be read) and the bytes sent."""
    chunk = b"a" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(request_head(path, {"Transfer-Encoding": "chunked"}))
        try:
            while sent < total_bytes:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered early
                sock.sendall(frame)
                sent += len(chunk)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            status, _ = read_response(sock)
        except (AssertionError, OSError):
            status = None
    return status, sent


def test_sign_in_refuses_a_declared_gigabyte_before_reading_it(limited_server):
    status, response, elapsed_s = post_declaring_length(limited_server, "/accounts/login/", 1 << 30)

    assert status == 413
    assert elapsed_s < 2
    assert b"Request too large" in response
    assert b"connection: close" in response.lower()


def test_the_refusal_speaks_the_visitors_language(limited_server):
    status, response, _ = post_declaring_length(
        limited_server, "/accounts/login/", 1 << 30, **{"Accept-Language": "zh-CN,zh;q=0.9"}
    )

    assert status == 413
    assert "请求内容过大".encode() in response


def test_sign_in_cuts_off_a_chunked_stream_with_memory_flat(limited_server):
    pid = limited_server.process.pid
    post_chunked(limited_server, "/accounts/login/", 2 * MB)  # first request: lazy imports
    before_mb = rss_mb(pid)

    with PeakRss(pid) as rss:
        status, sent = post_chunked(limited_server, "/accounts/login/", 256 * MB)

    # The server stops reading at the 1 MB form limit: only socket buffers take the rest.
    assert sent < 32 * MB
    assert status in (413, None)  # None: the connection was reset before the page was read
    assert rss.peak_mb - before_mb < 64, f"RSS {before_mb:.0f} -> peak {rss.peak_mb:.0f} MB"


# Every view that receives a file: the lesson import and the scene editor (its image).
UPLOAD_PATHS = ["/courses/git/import/", "/courses/scenes/1/"]


@pytest.mark.parametrize("path", UPLOAD_PATHS)
def test_upload_url_refuses_a_declared_body_over_the_upload_limit(limited_server, path):
    # Only the headers are sent: an answer at once shows the body was never waited for.
    status, _, elapsed_s = post_declaring_length(limited_server, path, (UPLOAD_LIMIT_MB + 2) * MB)

    assert status == 413
    assert elapsed_s < 2


@pytest.mark.parametrize("path", UPLOAD_PATHS)
def test_upload_url_cuts_off_a_chunked_body_over_the_upload_limit(limited_server, path):
    status, sent = post_chunked(limited_server, path, 64 * MB)

    assert sent < 32 * MB
    assert status in (413, None)


def test_upload_url_accepts_a_body_under_the_limit_that_sign_in_refuses(
    limited_server, transactional_db, alice
):
    """A signed-in teacher's 1.5 MB upload reaches the import view (which names the file in
    its form), while the same size to the sign-in page is over the form limit."""
    services.course_create(owner=alice, title="Version control", slug="git")
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirectErrors()
    )
    sign_in(opener, limited_server, username="alice", password="pw-alice")
    import_url = f"{limited_server.url}/courses/git/import/"
    token = csrf_token(opener.open(import_url).read())
    body, content_type = multipart(
        {"csrfmiddlewaretoken": token, "language": ""},
        file_field=("file", "notes.txt", b"x" * (MB + MB // 2)),
    )
    request = urllib.request.Request(
        import_url, data=body, headers={"Content-Type": content_type, "Referer": import_url}
    )

    with opener.open(request) as response:
        page = response.read().decode()

    assert response.status == 200
    assert "is not a file Lectern can import" in page
    status, _, _ = post_declaring_length(limited_server, "/accounts/login/", len(body))
    assert status == 413


def test_sign_in_still_works(limited_server, transactional_db, alice):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    final_url, page = sign_in(opener, limited_server, username="alice", password="pw-alice")

    assert final_url == f"{limited_server.url}/"
    assert reverse("accounts:logout") in page


def test_upload_urls_get_the_upload_limit_and_other_urls_the_form_limit(settings):
    settings.LECTERN_MAX_UPLOAD_BYTES = 7 * MB
    settings.LECTERN_MAX_FORM_BYTES = 100_000
    upload_paths = [
        reverse("courses:lesson_import", kwargs={"slug": "git"}),
        reverse("courses:scene_edit", kwargs={"scene_id": 3}),
    ]
    form_paths = [
        reverse("accounts:login"),
        reverse("courses:course_create"),
        reverse("admin:courses_scene_change", args=[3]),  # shows the image, takes none
        "/no/such/page/",
    ]

    assert {body_limit_bytes(path) for path in upload_paths} == {7 * MB + 100_000}
    assert {body_limit_bytes(path) for path in form_paths} == {100_000}


class NoRedirectErrors(urllib.request.HTTPErrorProcessor):
    """Return 4xx/5xx responses instead of raising, so a test can assert on them."""

    def http_response(self, request, response):
        if response.status >= 400:
            return response
        return super().http_response(request, response)


def csrf_token(page: bytes) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1).decode()


def sign_in(opener, server: LiveServer, *, username: str, password: str) -> tuple[str, str]:
    """Sign in through the real form; return the URL and the page the browser ends on."""
    login_url = f"{server.url}/accounts/login/"
    token = csrf_token(opener.open(login_url).read())
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": username, "password": password}
    ).encode()
    request = urllib.request.Request(login_url, data=form, headers={"Referer": login_url})
    with opener.open(request) as response:
        assert response.status == 200
        return response.url, response.read().decode()


def multipart(fields: dict[str, str], *, file_field: tuple[str, str, bytes]) -> tuple:
    boundary = "lectern-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    name, file_name, content = file_field
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{file_name}"\r\nContent-Type: text/plain\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
