"""Security headers: a Content-Security-Policy on every page, no inline script anywhere, and
user files served with nosniff, a sandbox policy and a Content-Disposition (SVG never inline)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image

from courses import services
from courses.models import Scene
from tests.courses.conftest import finished_render

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "connect-src": "'self' ws: wss:",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
}


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(
        (part.split(" ", 1) + [""])[:2] for part in (p.strip() for p in header.split(";")) if part
    )


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def version(alice):
    course = services.course_create(owner=alice, title="Version control", slug="git")
    lesson = services.lesson_create(course=course, title="Git basics", created_by=alice)
    version = lesson.versions.get()
    Scene.objects.create(version=version, position=1, kind="text", title="Commits")
    return version


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True])
def test_every_page_has_the_content_security_policy(client, alice, signed_in):
    if signed_in:
        client.force_login(alice)
    url = reverse("courses:course_list") if signed_in else reverse("accounts:login")

    response = client.get(url)

    assert response.status_code == 200
    for directive, sources in PAGE_POLICY.items():
        assert policy(response)[directive] == sources
    assert "'unsafe-inline'" not in policy(response)["script-src"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_error_pages_have_the_policy_too(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert policy(response)["script-src"] == "'self'"


def test_no_template_has_inline_script_handler_or_style_attribute():
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{template.name}: {tag}")
        offenders += [f"{template.name}: {m}" for m in re.findall(r"\son[a-z]+\s*=", text)]
        offenders += [f"{template.name}: style=" for _ in re.findall(r"\sstyle\s*=", text)]
    assert offenders == []


def scene_with_image(version, media, name: str, content: bytes) -> Scene:
    scene = version.scenes.get(position=1)
    path = media / "scenes" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    scene.image.name = f"scenes/{name}"
    scene.save(update_fields=["image"])
    return scene


def png_bytes(tmp_path) -> bytes:
    Image.new("RGB", (4, 4), (200, 30, 30)).save(tmp_path / "x.png")
    return (tmp_path / "x.png").read_bytes()


@pytest.mark.django_db
def test_scene_image_png_is_inline_with_nosniff_and_sandbox(
    client, alice, version, media, tmp_path
):
    scene = scene_with_image(version, media, "a1b2.png", png_bytes(tmp_path))
    client.force_login(alice)

    response = client.get(reverse("courses:scene_image", args=[scene.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="a1b2.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in policy(response)


@pytest.mark.django_db
def test_svg_scene_image_is_never_inline(client, alice, version, media):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    scene = scene_with_image(version, media, "c3d4.svg", svg)
    client.force_login(alice)

    response = client.get(reverse("courses:scene_image", args=[scene.pk]))
    ranged = client.get(reverse("courses:scene_image", args=[scene.pk]), HTTP_RANGE="bytes=0-9")

    for answer in (response, ranged):
        assert answer["Content-Disposition"] == 'attachment; filename="c3d4.svg"'
        assert answer["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in policy(answer)
    assert ranged.status_code == 206


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "disposition"),
    [
        ("video", 'inline; filename="lesson.mp4"'),
        ("captions", 'inline; filename="lesson.vtt"'),
        ("transcript", 'attachment; filename="lesson.txt"'),
        ("manifest", 'attachment; filename="lesson.json"'),
    ],
)
def test_render_files_are_inline_media_or_attachments(
    client, alice, version, media, name, disposition
):
    job = finished_render(version, alice, output_dir="renders/9")
    folder = media / "renders" / "9"
    folder.mkdir(parents=True)
    for file_name in ("lesson.mp4", "lesson.vtt", "lesson.txt", "lesson.json"):
        (folder / file_name).write_bytes(b"0123456789" * 10)
    client.force_login(alice)
    url = reverse("courses:render_job_file", args=[job.pk, name])

    whole = client.get(url)
    part = client.get(url, HTTP_RANGE="bytes=10-19")

    assert (whole.status_code, part.status_code) == (200, 206)
    for answer in (whole, part):
        assert answer["Content-Disposition"] == disposition
        assert answer["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_download_of_a_render_file_is_an_attachment_named_for_the_lesson(
    client, alice, version, media
):
    job = finished_render(version, alice, output_dir="renders/9")
    (media / "renders" / "9").mkdir(parents=True)
    (media / "renders" / "9" / "lesson.mp4").write_bytes(b"\0" * 64)
    client.force_login(alice)

    response = client.get(
        reverse("courses:render_job_file", args=[job.pk, "video"]) + "?download=1"
    )

    expected = f'attachment; filename="git-{version.lesson_id}-v1.mp4"'
    assert response["Content-Disposition"] == expected
