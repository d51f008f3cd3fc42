"""Stored images are re-encoded and named by their content: no metadata, trailing bytes or
teacher's file name reaches media, from the scene editor or from an import."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin

from courses import services
from courses.messages import message_text
from courses.models import ImportKind
from tests.courses.conftest import post_scene_image
from tests.courses.documents import png_bytes

GENERATED_NAME = re.compile(r"scenes/\d+/[0-9a-f]{64}(_\w+)?\.(png|jpg|svg)")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return settings.MEDIA_ROOT


def png_with_text_chunk() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Alice Secret")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x0110] = "Secret Camera"  # Model
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPS IFD
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 60, 40)).save(
        buffer, format="JPEG", exif=exif.tobytes(), quality=95
    )
    return buffer.getvalue()


def stored(scene, media) -> tuple[str, bytes]:
    scene.refresh_from_db()
    return scene.image.name, (media / scene.image.name).read_bytes()


def assert_generated_name(name: str, data: bytes) -> None:
    assert GENERATED_NAME.fullmatch(name), name
    assert Path(name).stem.split("_")[0] == hashlib.sha256(data).hexdigest()


def test_uploaded_png_is_stored_without_its_text_chunk_under_a_generated_name(
    client, alice, version, media
):
    scene = version.scenes.get(position=1)
    client.force_login(alice)

    response = post_scene_image(
        client, scene, SimpleUploadedFile("holiday.png", png_with_text_chunk())
    )

    assert response.status_code == 302
    name, data = stored(scene, media)
    assert_generated_name(name, data)
    assert "holiday" not in name and name.endswith(".png")
    assert b"Alice Secret" not in data and b"tEXt" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (64, 48) and "Author" not in image.info


def test_uploaded_jpeg_is_stored_without_exif_gps(client, alice, version, media):
    scene = version.scenes.get(position=1)
    client.force_login(alice)

    post_scene_image(client, scene, SimpleUploadedFile("where-i-live.jpg", jpeg_with_gps()))

    name, data = stored(scene, media)
    assert_generated_name(name, data)
    assert name.endswith(".jpg") and "where-i-live" not in name
    assert b"Exif" not in data and b"Secret Camera" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and not image.getexif()


def test_exif_orientation_is_applied_before_it_is_dropped(client, alice, version, media):
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    buffer = io.BytesIO()
    Image.new("RGB", (80, 40), (20, 160, 60)).save(buffer, format="JPEG", exif=exif.tobytes())
    scene = version.scenes.get(position=1)
    client.force_login(alice)

    post_scene_image(client, scene, SimpleUploadedFile("turned.jpg", buffer.getvalue()))

    _name, data = stored(scene, media)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (40, 80)


def test_png_html_polyglot_is_stored_without_the_trailing_bytes(client, alice, version, media):
    polyglot = png_bytes() + b"<html><script>alert(document.cookie)</script></html>"
    scene = version.scenes.get(position=1)
    client.force_login(alice)

    post_scene_image(client, scene, SimpleUploadedFile("page.html.png", polyglot))

    name, data = stored(scene, media)
    assert_generated_name(name, data)
    assert b"<html" not in data and b"<script" not in data
    assert data.endswith(b"IEND\xaeB`\x82")


def test_a_transparent_gif_keeps_its_transparency_as_png(client, alice, version, media):
    frame = Image.new("P", (20, 20), 0)
    frame.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    frame.paste(1, (0, 0, 10, 20))
    buffer = io.BytesIO()
    frame.save(buffer, format="GIF", transparency=0)
    scene = version.scenes.get(position=1)
    client.force_login(alice)

    post_scene_image(client, scene, SimpleUploadedFile("anim.gif", buffer.getvalue()))

    name, data = stored(scene, media)
    assert name.endswith(".png")
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((15, 5))[3] == 0 and image.getpixel((5, 5)) == (0, 0, 255, 255)


def test_svg_is_kept_cleaned_under_a_generated_name(client, alice, version, media):
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" onload="alert(1)">'
        b'<script>alert(2)</script><rect width="40" height="20" fill="red"/></svg>'
    )
    scene = version.scenes.get(position=1)
    client.force_login(alice)

    post_scene_image(client, scene, SimpleUploadedFile("drawing.svg", svg))

    name, data = stored(scene, media)
    assert_generated_name(name, data)
    assert name.endswith(".svg")
    assert data == (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
        b'<rect width="40" height="20" fill="red" /></svg>'
    )


def test_imported_lesson_images_are_stored_reencoded_under_generated_names(
    alice, course, media, tmp_path
):
    folder = tmp_path / "lesson"
    (folder / "fig").mkdir(parents=True)
    (folder / "fig" / "leaf-photo.png").write_bytes(png_with_text_chunk() + b"<html>trail")
    (folder / "lesson.md").write_text(
        "---\ntitle: Leaves\n---\n\n# A leaf\n\n![A green leaf](fig/leaf-photo.png)\n\n"
        "Leaves make food.\n",
        encoding="utf-8",
    )
    pending = services.pending_import_create(
        owner=alice, course=course, source=folder, kind=ImportKind.FOLDER
    )

    lesson = services.pending_import_confirm(pending=pending, user=alice)

    scenes = [scene for scene in lesson.latest_version.scenes.all() if scene.image]
    assert scenes
    for scene in scenes:
        name, data = stored(scene, media)
        assert_generated_name(name, data)
        assert "leaf" not in name
        assert b"Alice Secret" not in data and b"<html" not in data


def test_an_imported_image_that_cannot_be_decoded_is_left_out_and_reported(
    alice, course, media, tmp_path
):
    folder = tmp_path / "lesson"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (folder / "lesson.md").write_text(
        "---\ntitle: Broken\n---\n\n# Broken\n\n![Nothing](broken.png)\n\nWords here.\n",
        encoding="utf-8",
    )
    pending = services.pending_import_create(
        owner=alice, course=course, source=folder, kind=ImportKind.FOLDER
    )

    lesson = services.pending_import_confirm(pending=pending, user=alice)

    version = lesson.latest_version
    assert not version.scenes.exclude(image="").exists()
    assert not version.scenes.filter(kind="image").exists()
    assert any(
        "broken.png" in message_text(warning) for warning in version.import_report["warnings"]
    )
    assert not [path for path in Path(media).rglob("*") if path.is_file()]
