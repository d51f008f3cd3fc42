"""Load bench (`make bench-load`): a real web server, worker and Redis on loopback, bounded.

It sets up a throwaway site (SQLite and the embedded Redis in a temporary folder; nothing of
`make run` or the test suite is touched), starts uvicorn and a Celery worker as `make run`
does, and then:

1. HTTP: for --http-seconds each, N concurrent clients load the sign-in page (the trivial
   peer: a template and a session, no query of note), a student's lesson page (the
   player), the student telemetry endpoint (POSTs of new watched events, as the player
   batches them), a teacher's lesson version page (the studio) and the render-status JSON
   endpoint that the page polls when its WebSocket is down. Reported: requests per second,
   p95 latency, and the throughput of each as a ratio to the trivial one. The target
   (>= 0.5) is the issue's, for the student's pages: throughput_ratio and p95_ms are the
   lesson page's and the telemetry endpoint's (the lower ratio, the higher p95); the
   teacher's pages are reported beside them in http_requests_per_s.
2. WebSockets: --ws-clients clients (four fifths on render progress, one fifth on class
   gradebooks) connect at once; --ws-messages group messages go to every group, as a render
   or a student's progress would send them. Reported: messages delivered vs sent (target:
   all).
3. Renders: --jobs tiny renders of different lessons are queued at once; the WebSocket
   clients on them must each see the end. Reported: jobs completed vs submitted (target:
   all).

Every phase has a deadline, and the whole bench stops by itself (about 3 minutes on a
2-core machine). The last line printed is one JSON object with the keys throughput_ratio,
p95_ms, ws_sent, ws_delivered, jobs_submitted and jobs_completed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.site import free_port, private_environment, start_children, wait_until_up  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--http-seconds", type=float, default=6.0, help="per endpoint")
    parser.add_argument("--http-concurrency", type=int, default=16)
    parser.add_argument("--ws-clients", type=int, default=500)
    parser.add_argument("--ws-messages", type=int, default=5, help="per group")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="worker pool processes")
    parser.add_argument("--render-timeout", type=float, default=240.0, help="seconds")
    parser.add_argument(
        "--http-only", action="store_true", help="skip the WebSocket and render phases"
    )
    return parser.parse_args()


# What the WebSocket and render phase reports (all 0 with --http-only).
LIVE_KEYS = (
    "ws_sent", "ws_delivered", "jobs_submitted", "jobs_completed", "ws_connected",
    "ws_end_seen", "ws_end_expected", "render_s",
)  # fmt: skip


# Set-up -----------------------------------------------------------------------------------


@dataclass
class Site:
    teacher_cookie: str = ""
    student_cookie: str = ""
    student_csrf: str = ""
    lesson_id: int = 0
    version_id: int = 0
    status_job_id: int = 0
    job_ids: list[int] = field(default_factory=list)
    classroom_ids: list[int] = field(default_factory=list)


def build_site(job_count: int) -> Site:
    """The teacher, a lesson to show, job_count one-scene lessons to render, five classes."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import Classroom, Role, User
    from courses import services
    from courses.models import RenderJob, Scene

    teacher = User.objects.create_user(username="bench-teacher", password="x", role=Role.TEACHER)
    course = services.course_create(owner=teacher, title="Load bench", slug="load-bench")
    shown = services.lesson_create(course=course, title="Shown lesson", created_by=teacher)
    version = shown.versions.get()
    for position, title in enumerate(("Why is the sky blue?", "Scattering", "Sunsets")):
        Scene.objects.create(
            version=version, position=position, kind="text", title=title,
            body="Light\nAir\nColour", narration=f"{title} A short narration for the bench.",
        )  # fmt: skip
    site = Site(lesson_id=shown.pk, version_id=version.pk)
    site.status_job_id = RenderJob.objects.create(version=version, requested_by=teacher).pk
    publish_for_a_student(site, teacher, course, version)
    for number in range(job_count):
        lesson = services.lesson_create(course=course, title=f"Job {number}", created_by=teacher)
        job_version = lesson.versions.get()
        Scene.objects.create(
            version=job_version, position=0, kind="title", title=f"Lesson {number}",
            narration=f"This is lesson number {number} of the load bench.",
        )  # fmt: skip
        job = RenderJob.objects.create(
            version=job_version, requested_by=teacher, stage="queued", width_px=256,
            height_px=144, fps=12, quality="draft", scene_count=1,
        )  # fmt: skip
        site.job_ids.append(job.pk)
    for number in range(5):
        site.classroom_ids.append(Classroom.objects.create(teacher=teacher, name=f"{number}").pk)
    client = Client()
    client.force_login(teacher)
    name = settings.SESSION_COOKIE_NAME
    site.teacher_cookie = f"{name}={client.cookies[name].value}"
    return site


def publish_for_a_student(site: Site, teacher, course, version) -> None:
    """The shown lesson published with a finished render (its files are not needed: the
    player page links them), and a student of a class that has the course, signed in."""
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Classroom, Membership, Role, User
    from courses.models import RenderJob, RenderStatus, VersionStatus

    scenes = [
        {"id": f"s{i:02d}", "title": title, "start_s": 4.0 * i, "end_s": 4.0 * (i + 1)}
        for i, title in enumerate(("Why is the sky blue?", "Scattering", "Sunsets"))
    ]
    RenderJob.objects.create(
        version=version, requested_by=teacher, status=RenderStatus.SUCCEEDED, percent=100,
        width_px=256, height_px=144, fps=12, output_dir=f"renders/shown-{version.pk}",
        manifest={"duration_s": 12.0, "scenes": scenes}, finished_at=timezone.now(),
    )  # fmt: skip
    version.status, version.published_at = VersionStatus.PUBLISHED, timezone.now()
    version.save(update_fields=["status", "published_at"])
    classroom = Classroom.objects.create(teacher=teacher, name="Bench class")
    classroom.courses.add(course)
    student = User.objects.create_user(username="bench-student", password="x", role=Role.STUDENT)
    Membership.objects.create(classroom=classroom, student=student)
    client = Client()
    client.force_login(student)
    client.get(f"/learn/lessons/{site.lesson_id}/")  # sets the CSRF cookie the player uses
    session, csrf = settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME
    site.student_csrf = client.cookies[csrf].value
    site.student_cookie = f"{session}={client.cookies[session].value}; {csrf}={site.student_csrf}"


# HTTP -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResult:
    name: str
    requests: int
    errors: int
    seconds: float
    p95_ms: float

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0


async def http_load(
    name: str, url: str, cookie: str, seconds: float, concurrency: int, post=None, csrf=""
):
    """GET url (or, with post, POST the body post() makes for each request) as fast as
    concurrency clients can for seconds."""
    import httpx

    latencies: list[float] = []
    errors = 0
    headers = {"Cookie": cookie} if cookie else {}
    if csrf:
        headers.update({"X-CSRFToken": csrf, "Referer": url, "Content-Type": "application/json"})
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:

        async def request():
            return await (client.post(url, content=post()) if post else client.get(url))

        await request()  # warm: the first request of a page compiles its templates
        deadline = time.monotonic() + seconds
        started = time.monotonic()

        async def one_client() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                sent = time.monotonic()
                response = await request()
                if response.status_code == 200:
                    latencies.append(time.monotonic() - sent)
                else:
                    errors += 1

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return HttpResult(name, len(latencies), errors, elapsed, p95(latencies) * 1000)


def telemetry_batches(site: Site):
    """A new batch for each request: two watched stretches under fresh event ids (what the
    player sends every few seconds while a student watches)."""
    from datetime import UTC, datetime

    counter = iter(range(10**9))

    def batch() -> bytes:
        number = next(counter)
        now = datetime.now(UTC).isoformat()
        events = [
            {"id": f"bench-{number}-{part}", "kind": "watched", "lesson": site.lesson_id,
             "version": site.version_id, "occurred_at": now,
             "payload": {"start_s": 2 * part, "end_s": 2 * part + 2, "position_s": 2 * part + 2}}
            for part in range(2)
        ]  # fmt: skip
        return json.dumps({"events": events}).encode()

    return batch


# WebSockets and renders -------------------------------------------------------------------


@dataclass
class Watcher:
    path: str
    kind: str  # "render" or "gradebook"
    job_id: int = 0
    bench_messages: int = 0
    final_status: str = ""
    connected: bool = False


async def watch(base_ws: str, watcher: Watcher, cookie: str, origin: str, stop, gate) -> None:
    import websockets

    headers = {"Cookie": cookie, "Origin": origin}
    async with gate:
        connection = await websockets.connect(
            base_ws + watcher.path, additional_headers=headers, open_timeout=60
        )
    watcher.connected = True
    try:
        while not stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(connection.recv(), 0.5))
            except TimeoutError:
                continue
            if "bench_seq" in message:
                watcher.bench_messages += 1
            elif watcher.kind == "render" and message.get("finished"):
                watcher.final_status = message["status"]
    except websockets.ConnectionClosed:
        pass
    finally:
        await connection.close()


async def broadcast(site: Site, count: int) -> int:
    """Send count messages to every group, as renders and students' progress do."""
    from channels.layers import get_channel_layer

    from courses.models import RenderJob
    from learning.services import gradebook_group_name

    layer = get_channel_layer()
    for seq in range(count):
        for job_id in site.job_ids:
            payload = {"id": job_id, "bench_seq": seq, "finished": False}
            await layer.group_send(
                RenderJob(pk=job_id).group_name, {"type": "render.progress", "payload": payload}
            )
        for classroom_id in site.classroom_ids:
            await layer.group_send(
                gradebook_group_name(classroom_id),
                {"type": "gradebook.update", "payload": {"bench_seq": seq}},
            )
    return count


async def run_ws_and_renders(site: Site, base: str, args) -> dict:
    from asgiref.sync import sync_to_async
    from django.conf import settings

    from courses.models import RenderJob, RenderStatus
    from courses.tasks import render_lesson_version

    base_ws = base.replace("http://", "ws://")
    render_clients = args.ws_clients * 4 // 5
    watchers = [
        Watcher(f"/ws/render-jobs/{job_id}/", "render", job_id)
        for index in range(render_clients)
        for job_id in [site.job_ids[index % len(site.job_ids)]]
    ] + [
        Watcher(f"/ws/classes/{site.classroom_ids[index % 5]}/gradebook/", "gradebook")
        for index in range(args.ws_clients - render_clients)
    ]
    stop = asyncio.Event()
    gate = asyncio.Semaphore(50)  # connections being opened at once
    started = time.monotonic()
    tasks = [
        asyncio.create_task(watch(base_ws, w, site.teacher_cookie, base, stop, gate))
        for w in watchers
    ]
    while not all(w.connected for w in watchers):
        if time.monotonic() - started > 90 or any(t.done() and t.exception() for t in tasks):
            break
        await asyncio.sleep(0.1)
    connected = sum(w.connected for w in watchers)
    connect_s = time.monotonic() - started
    print(f"websockets: {connected} of {len(watchers)} connected in {connect_s:.1f} s")

    sent_per_group = await broadcast(site, args.ws_messages)
    ws_sent = sent_per_group * len(watchers)
    deadline = time.monotonic() + 30
    while sum(w.bench_messages for w in watchers) < ws_sent and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    ws_delivered = sum(w.bench_messages for w in watchers)
    print(f"websockets: {ws_delivered} of {ws_sent} group messages delivered")

    started = time.monotonic()
    for job_id in site.job_ids:
        render_lesson_version.apply_async((job_id,), queue=settings.LECTERN_RENDER_QUEUE)
    deadline = started + args.render_timeout
    finished_statuses = RenderStatus.SUCCEEDED, RenderStatus.FAILED, RenderStatus.CANCELLED

    @sync_to_async
    def statuses() -> list[str]:
        return list(RenderJob.objects.filter(pk__in=site.job_ids).values_list("status", flat=True))

    while time.monotonic() < deadline:
        current = await statuses()
        if all(status in finished_statuses for status in current):
            break
        await asyncio.sleep(0.5)
    render_s = time.monotonic() - started
    current = await statuses()
    completed = sum(status == RenderStatus.SUCCEEDED for status in current)
    # Every render client must see its job end; give the last pushes a moment.
    wait_until = time.monotonic() + 10
    render_watchers = [w for w in watchers if w.kind == "render"]
    while time.monotonic() < wait_until and not all(w.final_status for w in render_watchers):
        await asyncio.sleep(0.1)
    seen_end = sum(w.final_status == "succeeded" for w in render_watchers)
    print(
        f"renders: {completed} of {len(site.job_ids)} completed in {render_s:.1f} s "
        f"({len(site.job_ids) / render_s:.2f} jobs/s); {seen_end} of {len(render_watchers)} "
        "render watchers saw the end live"
    )
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "ws_clients": len(watchers),
        "ws_connected": connected,
        "ws_sent": ws_sent,
        "ws_delivered": ws_delivered,
        "ws_end_seen": seen_end,
        "ws_end_expected": len(render_watchers),
        "jobs_submitted": len(site.job_ids),
        "jobs_completed": completed,
        "render_s": round(render_s, 1),
    }


# Main -------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    bench_started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="lectern-bench-", dir="/tmp"))
    private_environment(folder)
    (folder / "static").mkdir()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from lectern.embedded_redis import start_embedded_redis, stop_process

    redis_process = start_embedded_redis(settings.EMBEDDED_REDIS_SOCKET, persist=False)
    children: list[subprocess.Popen] = []
    try:
        call_command("migrate", verbosity=0)
        call_command("collectstatic", verbosity=0, interactive=False)
        site = build_site(args.jobs)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        children = start_children(folder, port, args.workers)
        wait_until_up(base, children)
        print(f"set-up: {time.monotonic() - bench_started:.1f} s; {base}, folder {folder}")

        endpoints = [
            ("trivial: sign-in page", f"{base}/accounts/login/", "", {}),
            ("student lesson page", f"{base}/learn/lessons/{site.lesson_id}/",
             site.student_cookie, {}),
            ("student telemetry (POST)", f"{base}/learn/events/", site.student_cookie,
             {"post": telemetry_batches(site), "csrf": site.student_csrf}),
            ("teacher version page", f"{base}/courses/versions/{site.version_id}/",
             site.teacher_cookie, {}),
            ("render status (polled)", f"{base}/courses/render-jobs/{site.status_job_id}/status/",
             site.teacher_cookie, {}),
        ]  # fmt: skip
        http = [
            asyncio.run(http_load(n, u, c, args.http_seconds, args.http_concurrency, **extra))
            for n, u, c, extra in endpoints
        ]
        trivial = http[0]
        for result in http:
            print(
                f"http: {result.name}: {result.per_s:.1f} requests/s "
                f"({result.per_s / trivial.per_s:.2f} of trivial), p95 {result.p95_ms:.0f} ms, "
                f"{result.errors} errors"
            )
        students = [result for result in http if result.name.startswith("student")]
        ratio = min(result.per_s / trivial.per_s for result in students)
        if args.http_only:
            ws = dict.fromkeys(LIVE_KEYS, 0)
        else:
            ws = asyncio.run(run_ws_and_renders(site, base, args))
    finally:
        for child in children:
            stop_process(child, timeout_s=15)
        stop_process(redis_process)
        shutil.rmtree(folder, ignore_errors=True)
    summary = {
        "throughput_ratio": round(ratio, 3),
        "p95_ms": round(max(result.p95_ms for result in students), 1),
        "ws_sent": ws["ws_sent"],
        "ws_delivered": ws["ws_delivered"],
        "jobs_submitted": ws["jobs_submitted"],
        "jobs_completed": ws["jobs_completed"],
        "http_requests_per_s": {result.name: round(result.per_s, 1) for result in http},
        "ws_clients_connected": ws["ws_connected"],
        "ws_render_ends_seen": f"{ws['ws_end_seen']}/{ws['ws_end_expected']}",
        "render_s": ws["render_s"],
        "total_s": round(time.monotonic() - bench_started, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
