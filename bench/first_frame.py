"""First frame of a student's new variant in Chromium, from the request (issue 12).

Builds a throwaway site (bench/site.py: SQLite, embedded Redis, uvicorn, a Celery worker),
puts the reference lesson (bench/reference_lesson.py: 12 scenes, and its 4 remedial scenes
after the scenes they explain) in it with a concept on every scene but the title card,
renders it through the worker, and publishes it through moderation (submit, claim, approve).
Then, for each of --new students, records answers that master 3 concepts (their scenes are
skipped) and miss 2 others (their remedial scenes come in), so the student's variant is new,
opens the variant page in headless Chromium (Debian's, /usr/bin/chromium) and takes the time
from the navigation's start (performance.timeOrigin) to the first video frame presented
(requestVideoFrameCallback), with the moments between: HTML arrived, the status JSON that
said ready, playlist, first TS segment. The page does not autoplay: the bench calls play()
(muted) the moment the player is shown, as a student clicking at once. Then the same
students again (their variants now cached). Run from the repository root:
.venv/bin/python bench/first_frame.py [--out FILE.json]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import Target  # noqa: E402
from bench.site import REPO_ROOT, throwaway_site  # noqa: E402

TARGET_MS = 1000.0
TARGET_NAME = "first frame of a new variant in Chromium <= 1 s"
CHROMIUM = os.environ.get("LECTERN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip
# Each remedial scene (bench/reference_lesson.py) follows the scene it explains again, and
# shares its concept: a wrong answer there brings it in.
REMEDIAL_AFTER = {
    "staging": "remedial-staging",
    "first-commit": "remedial-commit",
    "log": "remedial-history",
    "history": "remedial-undo",
}
SKIPPED, INSERTED = 3, 2
RIGHT_ANSWERS = 6  # right answers after which P(known)'s lower bound passes 0.98 (defaults)

# Installed before any page script: marks the player's moments in performance.now() time
# (ms from the navigation's start) and presses play when the player is shown.
PAGE_PROBE = """
window.__ff = {};
document.addEventListener("DOMContentLoaded", function () {
  var video = document.getElementById("variant-video");
  var stage = document.getElementById("variant-stage");
  if (!video || !stage) return;
  function mark(name) { if (!(name in window.__ff)) window.__ff[name] = performance.now(); }
  if ("requestVideoFrameCallback" in video) {
    video.requestVideoFrameCallback(function (now, meta) {
      window.__ff.frame = meta.presentationTime || now;
      window.__ff.frame_callback = now;
    });
  }
  video.addEventListener("loadedmetadata", function () { mark("metadata"); });
  video.addEventListener("playing", function () { mark("playing"); });
  video.addEventListener("timeupdate", function () {
    if (video.currentTime > 0) mark("advanced");
  });
  new MutationObserver(function () {
    if (stage.hidden || "shown" in window.__ff) return;
    mark("shown");
    video.muted = true;  // headless Chromium's autoplay policy: a click, without the gesture
    video.play().catch(function (error) { window.__ff.play_error = String(error); });
  }).observe(stage, { attributes: true });
});
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new", type=int, default=5, help="students with a new variant")
    parser.add_argument("--cached", type=int, default=5, help="of them, visited again")
    parser.add_argument(
        "--profile", type=int, default=2, help="new variants prepared in-process, timed by step"
    )
    parser.add_argument("--size", default="hd", help="render size: tiny, small, hd (default)")
    parser.add_argument("--workers", type=int, default=2, help="worker pool processes")
    parser.add_argument("--render-timeout", type=float, default=900.0, help="seconds")
    parser.add_argument("--out", type=Path, help="results JSON (default: print only)")
    return parser.parse_args(argv)


# Site ------------------------------------------------------------------------------------


@dataclass
class BenchLesson:
    lesson: object
    version: object
    classroom: object
    checkpoints: dict[str, object]  # concept slug -> its question
    skippable: list[str]  # concepts without a remedial scene
    remedial: list[str]  # concepts with one


def build_lesson(folder: Path) -> tuple[BenchLesson, object, object]:
    """Teacher, moderator, a class and the reference lesson as a draft; every scene but the
    title card introduces its own concept and has a question on it."""
    from django.core.files import File

    from accounts.models import Classroom, Role, User
    from bench.reference_lesson import reference_storyboard, remedial_scenes
    from courses import services
    from courses.models import Checkpoint, Choice, Concept, Scene, SceneKind

    teacher = User.objects.create_user(username="ff-teacher", password="x", role=Role.TEACHER)
    moderator = User.objects.create_user(username="ff-mod", password="x", role=Role.MODERATOR)
    course = services.course_create(owner=teacher, title="First frame", slug="first-frame")
    storyboard = reference_storyboard(folder / "images")
    lesson = services.lesson_create(course=course, title=storyboard.title, created_by=teacher)
    version = lesson.versions.get()
    remedial = {scene.id: scene for scene in remedial_scenes()}
    ordered = []
    for scene in storyboard.scenes:
        ordered.append(scene)
        if scene.id in REMEDIAL_AFTER:
            ordered.append(remedial[REMEDIAL_AFTER[scene.id]])
    concepts: dict[str, Concept] = {}
    checkpoints = {}
    for position, scene in enumerate(ordered):
        visual = scene.visual
        kind = {"title": SceneKind.TITLE, "text": SceneKind.TEXT, "code": SceneKind.CODE,
                "image": SceneKind.IMAGE}[visual.kind]  # fmt: skip
        row = Scene.objects.create(
            version=version, position=position, kind=kind, title=visual.title,
            body=visual.subtitle if kind == SceneKind.TITLE else "\n".join(visual.bullets),
            code=visual.code, code_language=visual.code_language, image_alt=visual.alt,
            narration=scene.narration, role=scene.role or "core",
        )  # fmt: skip
        if visual.image_path:
            with open(visual.image_path, "rb") as handle:
                row.image.save(Path(visual.image_path).name, File(handle))
        if position == 0:
            continue  # the title card: shown to everyone
        core_id = next((k for k, v in REMEDIAL_AFTER.items() if v == scene.id), scene.id)
        if core_id not in concepts:
            concepts[core_id] = Concept.objects.create(course=course, slug=core_id, name=core_id)
        row.concepts.add(concepts[core_id])
        if scene.role != "remedial":
            checkpoint = Checkpoint.objects.create(scene=row, prompt=f"Is {core_id} clear?")
            Choice.objects.create(checkpoint=checkpoint, text="Yes", is_correct=True, position=0)
            Choice.objects.create(checkpoint=checkpoint, text="No", is_correct=False, position=1)
            checkpoints[core_id] = checkpoint
    classroom = Classroom.objects.create(teacher=teacher, name="First frame class")
    classroom.courses.add(course)
    found = BenchLesson(
        lesson, version, classroom, checkpoints,
        skippable=[c for c in checkpoints if c not in REMEDIAL_AFTER],
        remedial=list(REMEDIAL_AFTER),
    )  # fmt: skip
    return found, teacher, moderator


def render_and_publish(found: BenchLesson, teacher, moderator, size: str, timeout_s: float) -> dict:
    """Render through the worker (the studio's Render button), then submit, claim, approve."""
    from courses import services
    from courses.models import RenderJob, RenderStatus
    from moderation import services as moderation

    job = services.lesson_version_render_enqueue(version=found.version, user=teacher, size=size)
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        job.refresh_from_db()
        if job.status in (RenderStatus.SUCCEEDED, RenderStatus.FAILED, RenderStatus.CANCELLED):
            break
        time.sleep(1)
    render_s = time.monotonic() - started
    if job.status != RenderStatus.SUCCEEDED:
        raise SystemExit(f"the render ended {job.status}: {job.error or 'timed out'}")
    services.lesson_version_submit(version=found.version, user=teacher)
    moderation.review_claim(version=found.version, moderator=moderator)
    moderation.review_decide(version=found.version, moderator=moderator, verdicts={})
    found.version.refresh_from_db()
    job = RenderJob.objects.get(pk=job.pk)
    return {
        "size": f"{job.width_px}x{job.height_px}",
        "fps": job.fps,
        "scenes": found.version.scenes.count(),
        "render_wall_s": round(render_s, 1),
        "video_duration_s": (job.manifest or {}).get("duration_s"),
        "status": found.version.status,
    }


def new_student(found: BenchLesson, number: int, mastered: tuple, missed: tuple):
    """A student of the class whose answers master `mastered` and miss `missed`."""
    from django.utils import timezone

    from accounts.models import Membership, Role, User
    from learning.services import EventIn, learning_events_record

    student = User.objects.create_user(
        username=f"ff-student-{number}", password="x", role=Role.STUDENT
    )
    Membership.objects.create(classroom=found.classroom, student=student)
    answers = [(c, True) for c in mastered for _ in range(RIGHT_ANSWERS)]
    answers += [(c, False) for c in missed]
    attempts: dict[str, int] = {}
    now = timezone.now()
    for index, (concept, right) in enumerate(answers):
        checkpoint = found.checkpoints[concept]
        attempts[concept] = attempts.get(concept, 0) + 1
        event = EventIn(
            client_event_id=f"ff-{number}-{index}", kind="answered", lesson=found.lesson,
            version=found.version, occurred_at=now - timedelta(minutes=len(answers) - index),
            payload={"checkpoint": checkpoint.pk,
                     "choice": checkpoint.choices.get(is_correct=right).pk,
                     "attempt": attempts[concept]},
        )  # fmt: skip
        learning_events_record(student=student, events=[event], broadcast=False)
    return student


def describe_variant(found: BenchLesson, student) -> dict:
    """The student's plan now, and whether its variant is already stored."""
    from learning.models import LessonVariant
    from learning.variants import student_variant

    variant = student_variant(student=student, lesson=found.lesson)
    rows = {str(row.pk): row for row in variant.rows}
    shown = [rows[scene_id] for scene_id in variant.plan.order]
    all_core = [row for row in variant.rows if row.role != "remedial"]
    return {
        "scenes": len(shown),
        "skipped": sorted(r.title for r in all_core if str(r.pk) not in variant.plan.order),
        "inserted": [r.title for r in shown if r.role == "remedial"],
        "pre_checks": len(variant.pre_checks),
        "stored_before": LessonVariant.objects.filter(
            version=found.version, scene_order=",".join(variant.plan.order)
        ).exists(),
    }


def wait_for_quiet_variants(timeout_s: float = 120) -> None:
    """Wait until no variant is pending (the publish asks for the class's variants)."""
    from learning.models import LessonVariant, VariantStatus

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not LessonVariant.objects.filter(status=VariantStatus.PENDING).exists():
            return
        time.sleep(0.5)


def session_cookie(base: str, user) -> dict:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {"name": name, "value": client.cookies[name].value, "url": base}


# Browser ---------------------------------------------------------------------------------


def visit(browser, base: str, found: BenchLesson, student, timeout_s: float = 60) -> dict:
    """Open the student's variant page in a fresh context; the moments in ms from the
    navigation's start."""
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies([session_cookie(base, student)])
    context.add_init_script(PAGE_PROBE)
    page = context.new_page()
    # (url, responseEnd in epoch ms, the server's time: request sent to first byte)
    finished: list[tuple[str, float, float]] = []
    polls: list[tuple[float, float]] = []  # status requests: (start, end) in epoch ms
    every: list[tuple[str, float, float]] = []  # (path, start, end) of every request

    def on_finished(request) -> None:
        timing = request.timing
        if timing["responseEnd"] >= 0:
            server_ms = timing["responseStart"] - timing["requestStart"]
            finished.append((request.url, timing["startTime"] + timing["responseEnd"], server_ms))
            every.append((request.url.removeprefix(base), timing["startTime"],
                          timing["startTime"] + timing["responseEnd"]))  # fmt: skip
            if "status.json" in request.url:
                polls.append((timing["startTime"], timing["startTime"] + timing["responseEnd"]))

    page.on("requestfinished", on_finished)
    url = f"{base}/learn/lessons/{found.lesson.pk}/my-video/?skip_checks=1"
    page.goto(url)
    page.wait_for_function(
        "() => window.__ff && ('frame' in window.__ff || 'play_error' in window.__ff)",
        timeout=timeout_s * 1000,
    )
    # Playback advancing too (the fallback measure), briefly; missing is reported as None.
    with contextlib.suppress(PlaywrightError):
        page.wait_for_function("() => 'advanced' in window.__ff", timeout=5000)
    marks = page.evaluate("() => window.__ff")
    origin = page.evaluate("() => performance.timeOrigin")
    html, html_server = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return [n.responseEnd, n.responseStart - n.requestStart]; }"
    )
    player = page.evaluate("() => document.getElementById('variant-video').dataset.player")
    with contextlib.suppress(PlaywrightError):  # captions arrive after the first frame
        page.wait_for_function(
            "() => document.getElementById('variant-video').textTracks.length", timeout=5000
        )
    captions = page.evaluate(
        "() => { const t = document.getElementById('variant-video').textTracks[0];"
        " return t ? t.mode : 'none'; }"
    )
    statuses = page.evaluate(
        "() => performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('status.json')).length"
    )
    context.close()

    def first(part: str, *, last: bool = False) -> float | None:
        times = [end - origin for u, end, _server in finished if part in u]
        return round(max(times) if last else min(times), 1) if times else None

    def server(part: str) -> float | None:
        times = [server_ms for u, _end, server_ms in finished if part in u]
        return round(statistics.median(times), 1) if times else None

    return {
        "player": player,
        "captions": captions,
        "status_polls": statuses,
        "status_requests_ms": [[round(a - origin), round(b - origin)] for a, b in sorted(polls)],
        "requests_ms": [[path[:80], round(a - origin), round(b - origin)]
                        for path, a, b in sorted(every, key=lambda r: r[1])],  # fmt: skip
        "html_ms": round(html, 1),
        "ready_ms": first("status.json", last=True),
        "shown_ms": _round(marks.get("shown")),
        "hls_library_ms": first("hls.min.js"),
        "playlist_ms": first("playlist.m3u8"),
        "first_segment_ms": first(".ts"),
        "metadata_ms": _round(marks.get("metadata")),
        "first_frame_ms": _round(marks.get("frame")),
        "playing_ms": _round(marks.get("playing")),
        "advanced_ms": _round(marks.get("advanced")),
        "play_error": marks.get("play_error", ""),
        # Median time to first byte (the server's work) of each kind of request.
        "server_ms": {"html": round(html_server, 1), "status": server("status.json"),
                      "playlist": server("playlist.m3u8"), "segment": server(".ts")},
    }  # fmt: skip


def _round(value) -> float | None:
    return None if value is None else round(value, 1)


def variant_prepare_s(found: BenchLesson, student) -> float | None:
    """The worker's side: from the variant's request to ready (its row)."""
    from learning.models import LessonVariant
    from learning.variants import student_variant

    variant = student_variant(student=student, lesson=found.lesson)
    row = LessonVariant.objects.filter(
        version=found.version, scene_order=",".join(variant.plan.order)
    ).first()
    if row is None or row.ready_at is None:
        return None
    return round((row.ready_at - row.created_at).total_seconds(), 3)


def profile_prepare(found: BenchLesson, student) -> dict:
    """Prepare the student's (new) variant in this process, as the worker's task does, with
    each step timed: where a new variant's preparation goes (wall seconds)."""
    import synthesis.plan
    import synthesis.render
    from courses import playlists
    from learning import variants
    from learning.models import LessonVariant
    from moderation import publishing

    steps: dict[str, float] = {}

    def timed(module, name: str, label: str):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                steps[label] = steps.get(label, 0.0) + time.perf_counter() - started

        return original, wrapper

    patches = [
        (synthesis.render, "speak_lesson", "speech (cache lookups)"),
        (synthesis.plan, "plan", "plan"),
        (synthesis.render, "encode", "encode (new crossfades)"),
        (variants, "variant_manifest_store", "C2PA sidecar (MP4 remux, TS digests, signing)"),
        (variants, "variant_video_write", "  of which MP4 remux"),
        (publishing, "segment_digests", "  of which TS digests"),
        (publishing, "sign_sidecar", "  of which signing"),
        (playlists, "variant_segments_pin", "pin segments"),
    ]
    variant = variants.student_variant(student=student, lesson=found.lesson)
    row = LessonVariant.objects.create(
        version=found.version,
        scene_order=",".join(variant.plan.order),
        settings_key=variants.settings_key(variants.variant_render_settings(found.version)),
    )
    originals = []
    for module, name, label in patches:
        original, wrapper = timed(module, name, label)
        originals.append((module, name, original))
        setattr(module, name, wrapper)
    started = time.perf_counter()
    try:
        outcome = variants.lesson_variant_prepare(variant_id=row.pk)
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
    total_s = time.perf_counter() - started
    steps = {label: round(value, 3) for label, value in steps.items()}
    accounted = sum(value for label, value in steps.items() if not label.startswith(" "))
    steps["other (queries, storyboard, captions, row)"] = round(total_s - accounted, 3)
    row.refresh_from_db()
    return {"outcome": outcome, "total_s": round(total_s, 3), "steps_s": steps,
            "encoded": row.encoded}  # fmt: skip


# Main ------------------------------------------------------------------------------------


def summarize(visits: list[dict]) -> dict:
    frames = [v["first_frame_ms"] for v in visits if v["first_frame_ms"] is not None]
    out = {
        "count": len(visits),
        "frames_seen": len(frames),
        "median_ms": round(statistics.median(frames), 1) if frames else None,
        "slowest_ms": max(frames) if frames else None,
    }
    for key in ("html_ms", "ready_ms", "playlist_ms", "first_segment_ms", "first_frame_ms"):
        values = [v[key] for v in visits if v[key] is not None]
        out[f"median_{key}"] = round(statistics.median(values), 1) if values else None
    for kind in ("html", "status", "playlist", "segment"):
        values = [v["server_ms"][kind] for v in visits if v["server_ms"][kind] is not None]
        out[f"median_server_{kind}_ms"] = round(statistics.median(values), 1) if values else None
    prepared = [v["prepare_s"] for v in visits if v.get("prepare_s") is not None]
    out["median_prepare_s"] = round(statistics.median(prepared), 3) if prepared else None
    out["load_average_max"] = max(v["load_average"] for v in visits) if visits else None
    return out


def measure_first_frame(args: argparse.Namespace, log=print) -> dict:
    """Build the site, render and publish, visit new then cached variants; the results."""
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    overrides = {
        # No periodic refit or class pass during the visits: they would prepare the
        # students' variants before the page asks (a publish still asks for its class).
        "LECTERN_LEARNER_FIT_INTERVAL_S": "86400",
    }
    with throwaway_site(prefix="lectern-first-frame-", **overrides) as site:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM beside Playwright's loop
        found, teacher, moderator = build_lesson(site.folder)
        site.start(args.workers)
        log(f"site up at {site.base} ({time.monotonic() - started:.0f} s); rendering")
        lesson_info = render_and_publish(found, teacher, moderator, args.size,
                                         args.render_timeout)  # fmt: skip
        log(f"rendered {lesson_info['scenes']} scenes at {lesson_info['size']} in "
            f"{lesson_info['render_wall_s']} s and published")  # fmt: skip
        wait_for_quiet_variants()
        rng = random.Random(12)
        choices = list(itertools.product(
            itertools.combinations(found.skippable, SKIPPED),
            itertools.combinations(found.remedial, INSERTED),
        ))  # fmt: skip
        picked = rng.sample(choices, args.new + args.profile)
        picked, profiled = picked[: args.new], picked[args.new :]
        new_visits, students = [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            # A first visit warms the web server's templates and the browser (not counted).
            warm = new_student(found, 0, (), ())
            wait_for_quiet_variants()
            visit(browser, site.base, found, warm)
            for number, (mastered, missed) in enumerate(picked, start=1):
                student = new_student(found, number, mastered, missed)
                students.append(student)
                variant = describe_variant(found, student)
                time.sleep(1.0)  # the answers' own work settles
                load = os.getloadavg()[0]
                measured = visit(browser, site.base, found, student)
                prepare_s = variant_prepare_s(found, student)
                measured.update(variant=variant, load_average=round(load, 2), prepare_s=prepare_s)
                if prepare_s is not None and measured["status_requests_ms"]:
                    # About how long the variant was ready before a poll saw it (its row is
                    # made during the first status request, so this errs low by a little).
                    made_ms = measured["status_requests_ms"][0][1] + 1000 * prepare_s
                    measured["ready_unseen_ms"] = round(measured["ready_ms"] - made_ms)
                new_visits.append(measured)
                log(
                    f"new variant {number}: first frame {measured['first_frame_ms']} ms (ready "
                    f"{measured['ready_ms']}, segment {measured['first_segment_ms']}); skipped "
                    f"{len(variant['skipped'])}, inserted {len(variant['inserted'])}"
                )
            cached_visits = []
            for number, student in enumerate(students[: args.cached], start=1):
                time.sleep(0.5)
                load = os.getloadavg()[0]
                measured = visit(browser, site.base, found, student)
                measured.update(load_average=round(load, 2))
                cached_visits.append(measured)
                log(f"cached variant {number}: first frame {measured['first_frame_ms']} ms")
            browser_version = browser.version
            browser.close()
        profiles = []
        for number, (mastered, missed) in enumerate(profiled, start=100):
            student = new_student(found, number, mastered, missed)
            time.sleep(0.5)
            profiles.append(profile_prepare(found, student))
            log(f"prepared in this process: {profiles[-1]}")
    new, cached = summarize(new_visits), summarize(cached_visits)
    return {
        "target_ms": TARGET_MS,
        "met": bool(target({"new": new}).met),
        "lesson": lesson_info,
        "chromium": browser_version,
        "play": "the bench calls play() (muted) as soon as the page shows the player",
        "new": new,
        "cached": cached,
        "prepare_profiles": profiles,
        "new_visits": new_visits,
        "cached_visits": cached_visits,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "bench_wall_s": round(time.monotonic() - started, 1),
    }


def target(found: dict | None) -> Target:
    """The issue's line in bench/run.py's targets table (judged on the slowest new variant)."""
    slowest = (found or {}).get("new", {}).get("slowest_ms")
    name, goal = TARGET_NAME, "a student's new variant, from the request, slowest of them"
    if slowest is None:
        return Target(name, goal, None, "not measured", None)
    new = found["new"]
    shown = f"{slowest:.0f} ms (slowest new variant; median {new['median_ms']:.0f})"
    blank = new["count"] - new["frames_seen"]  # a page that never showed a frame misses it
    if blank:
        shown += f"; {blank} showed no frame"
    return Target(name, goal, slowest, shown, slowest <= TARGET_MS and not blank)


def summary_lines(found: dict) -> list[str]:
    new, cached = found["new"], found["cached"]
    lines = [
        f"first frame in Chromium ({found['lesson']['size']}, {found['chromium']}): "
        f"new variants median {new['median_ms']} ms, slowest {new['slowest_ms']} ms "
        f"({new['frames_seen']}/{new['count']}); cached median {cached['median_ms']} ms, "
        f"slowest {cached['slowest_ms']} ms",
        "  new, medians (ms from the request): HTML {median_html_ms}, ready {median_ready_ms}, "
        "playlist {median_playlist_ms}, first segment {median_first_segment_ms}, "
        "first frame {median_first_frame_ms}".format(**new),
        "  cached, medians: HTML {median_html_ms}, ready {median_ready_ms}, playlist "
        "{median_playlist_ms}, first segment {median_first_segment_ms}, first frame "
        "{median_first_frame_ms}".format(**cached),
        "  new: the worker prepared a variant in {median_prepare_s} s (median); the server "
        "answered HTML in {median_server_html_ms} ms, a status poll in "
        "{median_server_status_ms}, the playlist in {median_server_playlist_ms}, a segment "
        "in {median_server_segment_ms} (medians, to first byte); load average up to "
        "{load_average_max}".format(**new),
    ]
    return lines


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    found = measure_first_frame(args, log=lambda m: print(f"[{time.strftime('%H:%M:%S')}] {m}",
                                                          flush=True))  # fmt: skip
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(found, indent=1) + "\n", "utf-8")
    print("\n".join(summary_lines(found)))
    line = target(found)
    verdict = {True: "met", False: "MISSED", None: "n/a"}[line.met]
    print(f"  [{verdict:>6}] {line.name}: {line.shown}")
    return found


if __name__ == "__main__":
    os.chdir(REPO_ROOT)
    main()
