"""Hostile files through the web upload paths: a clear form error, quickly, never a 500.

The probes of issue 16: an SVG of stacked blurs kept a request busy for 12 minutes, a
72 x 14400 pt PDF page took 83 s and 8 GB, a 3 pt wide page was a MemoryError (HTTP 500)
and a PPTX picture claiming 40000 x 40000 pixels a DecompressionBombError (HTTP 500).
"""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

import synthesis.frames.images as images
from courses.messages import message_text
from courses.models import Lesson, PendingImport
from tests.courses.conftest import import_tasks_run_at_once, post_scene_image
from tests.courses.documents import png_header_only, write_blank_pdf, write_pptx_with_picture
from tests.synthesis.test_images import stacked_blurs_svg


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return settings.MEDIA_ROOT


def _pending_folders(settings) -> list:
    root = settings.VAR_DIR / "pending-imports"
    return list(root.iterdir()) if root.exists() else []


def test_scene_image_svg_too_complex_to_draw_is_a_form_error_within_its_limit(
    client, alice, version, media, tmp_path, monkeypatch
):
    monkeypatch.setattr(images, "SVG_TIME_LIMIT_S", 2.0)
    svg = stacked_blurs_svg(tmp_path / "blurs.svg")
    scene = version.scenes.get(position=1)
    client.force_login(alice)
    started = time.monotonic()

    response = post_scene_image(
        client, scene, SimpleUploadedFile("blurs.svg", svg.read_bytes(), "image/svg+xml")
    )

    assert time.monotonic() - started < 15
    assert response.status_code == 200
    assert "is too complex to draw (it took more than 2 s)" in response.content.decode()
    scene.refresh_from_db()
    assert not scene.image


@pytest.mark.parametrize("size_pt", [(72, 14400), (3, 792)], ids=["tall", "three-points-wide"])
def test_import_of_a_pdf_with_an_absurd_page_size_completes_quickly(
    client, alice, course, media, settings, tmp_path, size_pt
):
    pdf = write_blank_pdf(tmp_path / "strip.pdf", [size_pt])
    client.force_login(alice)
    started = time.monotonic()

    with import_tasks_run_at_once():
        response = client.post(
            reverse("courses:lesson_import", args=[course.slug]),
            {"file": SimpleUploadedFile("strip.pdf", pdf.read_bytes())},
        )

    assert time.monotonic() - started < 20
    pending = PendingImport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("courses:import_review", args=[pending.pk])
    assert any("thin shape" in message_text(warning) for warning in pending.warnings)


def test_import_of_a_pptx_with_a_bomb_picture_is_a_form_error_leaving_nothing(
    client, alice, course, media, settings, tmp_path
):
    deck = write_pptx_with_picture(tmp_path / "bomb.pptx", png_header_only(40_000, 40_000))
    client.force_login(alice)

    with import_tasks_run_at_once():
        response = client.post(
            reverse("courses:lesson_import", args=[course.slug]),
            {"file": SimpleUploadedFile("bomb.pptx", deck.read_bytes())},
        )
    response = client.get(response.url)  # the import's page, once the worker has read it

    assert response.status_code == 200
    assert "shows a picture of 40000 x 40000 pixels" in response.content.decode()
    assert PendingImport.objects.get().status == "failed" and not Lesson.objects.exists()
    assert _pending_folders(settings) == []
