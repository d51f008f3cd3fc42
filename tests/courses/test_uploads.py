"""The upload limit: a too-large file is refused while it arrives, never stored whole."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.test import Client, override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from courses.models import Lesson, PendingImport
from courses.uploads import RefusedUpload, UploadLimitHandler

LIMIT_BYTES = 10_000


class CountingHandler(TemporaryFileUploadHandler):
    """Stores like Django's own handler and counts every byte it was given to store."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_bytes = 0

    def receive_data_chunk(self, raw_data, start):
        self.stored_bytes += len(raw_data)
        return super().receive_data_chunk(raw_data, start)


def parse(fields: dict, handlers: list):
    body = encode_multipart(BOUNDARY, fields)
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}
    return MultiPartParser(meta, io.BytesIO(body), handlers).parse()


def test_handler_stops_storing_a_file_once_it_passes_the_limit():
    limit, storing = UploadLimitHandler(max_bytes=LIMIT_BYTES), CountingHandler()
    limit.chunk_size = storing.chunk_size = 1024  # several chunks, like a real upload
    post, files = parse(
        {"title": "kept", "file": SimpleUploadedFile("big.zip", bytes(50 * LIMIT_BYTES))},
        [limit, storing],
    )
    assert "file" not in files
    assert post["title"] == "kept"
    assert storing.stored_bytes <= LIMIT_BYTES
    assert limit.refused == [RefusedUpload("file", "big.zip", LIMIT_BYTES)]


def test_handler_passes_a_file_within_the_limit():
    limit = UploadLimitHandler(max_bytes=LIMIT_BYTES)
    _post, files = parse(
        {"file": SimpleUploadedFile("small.zip", b"x" * LIMIT_BYTES)},
        [limit, MemoryFileUploadHandler()],
    )
    assert files["file"].read() == b"x" * LIMIT_BYTES
    assert limit.refused == []


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return settings.MEDIA_ROOT


@override_settings(LECTERN_MAX_UPLOAD_BYTES=LIMIT_BYTES)
def test_import_of_a_too_large_file_says_so_and_saves_nothing(client, alice, course, media):
    client.force_login(alice)
    response = client.post(
        reverse("courses:lesson_import", args=[course.slug]),
        {"file": SimpleUploadedFile("huge.pdf", b"%PDF-1.4\n" + bytes(3 * LIMIT_BYTES))},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "“huge.pdf” is larger than 9.8\xa0KB, the largest file Lectern accepts." in html
    assert "This field is required." not in html
    assert not PendingImport.objects.exists() and not Lesson.objects.exists()


@override_settings(LECTERN_MAX_UPLOAD_BYTES=LIMIT_BYTES)
def test_scene_editor_keeps_the_typed_text_when_the_image_is_too_large(client, alice, version):
    scene = version.scenes.get(position=1)
    client.force_login(alice)
    response = client.post(
        reverse("courses:scene_edit", args=[scene.pk]),
        {
            "kind": "image", "title": "Big picture", "body": "", "code": "", "code_language": "",
            "math": "", "image_alt": "", "narration": "My carefully typed words.",
            "language": "en", "role": "core", "concepts": "",
            "image": SimpleUploadedFile("photo.png", bytes(2 * LIMIT_BYTES)),
        },
    )  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert "“photo.png” is larger than 9.8\xa0KB" in html
    assert "My carefully typed words." in html
    scene.refresh_from_db()
    assert scene.kind == "text" and not scene.image


@override_settings(LECTERN_MAX_UPLOAD_BYTES=LIMIT_BYTES)
def test_file_inputs_carry_the_limit_for_the_browser(client, alice, course):
    client.force_login(alice)
    html = client.get(reverse("courses:lesson_import", args=[course.slug])).content.decode()
    assert f'data-max-bytes="{LIMIT_BYTES}"' in html
    assert "js/upload_limit.js" in html


def test_upload_views_still_check_the_csrf_token(alice, course, media):
    """The views leave the CSRF middleware to install the limit first, and check it themselves."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = reverse("courses:lesson_import", args=[course.slug])
    refused = client.post(url, {"file": SimpleUploadedFile("a.pdf", b"%PDF")})
    assert refused.status_code == 403
    token = client.get(url).cookies["csrftoken"].value
    accepted = client.post(
        url,
        {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.4\nbroken"), "csrfmiddlewaretoken": token},
    )
    # CSRF passed: the import is accepted and waits for a worker (which finds it broken).
    assert accepted.status_code == 302
    assert accepted["Location"].startswith("/courses/imports/")
