"""Imports are read by a worker: the upload view answers at once with a waiting page that
polls a status URL, and the review page (or the importer's message) follows."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from courses import services
from courses.models import ImportStatus, PendingImport
from lessonimport.pdf import import_pdf
from tests.courses.conftest import import_tasks_run_at_once
from tests.courses.documents import write_text_pdf

PAGES = [["Cells", "Cells need energy."], ["Leaves", "Leaves catch light."]]


@pytest.fixture
def pdf(tmp_path) -> bytes:
    return write_text_pdf(tmp_path / "cells.pdf", PAGES).read_bytes()


def post_file(client, course, name: str, data: bytes):
    url = reverse("courses:lesson_import", args=[course.slug])
    return client.post(url, {"file": SimpleUploadedFile(name, data)})


def test_upload_answers_at_once_with_a_waiting_page_and_keeps_the_file(client, alice, course, pdf):
    client.force_login(alice)

    response = post_file(client, course, "cells.pdf", pdf)  # no worker runs the task here

    pending = PendingImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:import_review", args=[pending.pk])
    assert pending.status == ImportStatus.PARSING
    kept = list((Path(pending.folder) / "source").iterdir())
    assert [path.read_bytes() for path in kept] == [pdf]
    page = client.get(response["Location"]).content.decode()
    assert "Reading the file" in page
    assert reverse("courses:import_status", args=[pending.pk]) in page
    assert "js/import_wait.js" in page
    status = client.get(reverse("courses:import_status", args=[pending.pk])).json()
    assert status["status"] == "parsing"
    assert status["progress"] == "Waiting for a worker to read the file…"


def test_the_task_reads_the_file_and_the_review_page_shows_its_scenes(client, alice, course, pdf):
    client.force_login(alice)

    with import_tasks_run_at_once():
        response = post_file(client, course, "cells.pdf", pdf)

    pending = PendingImport.objects.get()
    assert pending.status == ImportStatus.READY
    assert len(pending.scenes) == 2
    assert not (Path(pending.folder) / "source").exists()  # the upload goes once it is read
    status = client.get(reverse("courses:import_status", args=[pending.pk])).json()
    assert status["status"] == "ready"
    assert status["review_url"] == response["Location"]
    review = client.get(response["Location"]).content.decode()
    assert "Review the import" in review
    assert "Cells need energy." in review and "Leaves catch light." in review


def test_a_broken_file_ends_with_its_message_on_the_waiting_page(client, alice, course):
    client.force_login(alice)

    with import_tasks_run_at_once():
        response = post_file(client, course, "bad.pdf", b"%PDF-1.4\nbroken")

    pending = PendingImport.objects.get()
    assert pending.status == ImportStatus.FAILED
    assert not Path(pending.folder).exists()
    status = client.get(reverse("courses:import_status", args=[pending.pk])).json()
    assert status["status"] == "failed"
    assert "could not be read as a PDF" in status["error"]
    page = client.get(response["Location"]).content.decode().replace("&#x27;", "'")
    assert "The file could not be imported:" in page
    assert "could not be read as a PDF" in page
    assert "Create the lesson" not in page


def test_messages_of_the_worker_are_in_the_teacher_language(client, alice, course):
    alice.language = "zh-hans"
    alice.save()
    client.force_login(alice)

    with import_tasks_run_at_once():
        post_file(client, course, "bad.pdf", b"%PDF-1.4\nbroken")

    assert "PDF" in PendingImport.objects.get().error
    assert "could not be read" not in PendingImport.objects.get().error


def test_another_teacher_gets_404_on_the_status_url(client, alice, bob, course, pdf):
    client.force_login(alice)
    post_file(client, course, "cells.pdf", pdf)
    pending = PendingImport.objects.get()
    client.force_login(bob)

    assert client.get(reverse("courses:import_status", args=[pending.pk])).status_code == 404
    # The waiting page refuses like every studio page of someone else's object.
    assert client.get(reverse("courses:import_review", args=[pending.pk])).status_code == 404


def test_students_get_403_on_the_status_url(client, alice, sam, course, pdf):
    client.force_login(alice)
    post_file(client, course, "cells.pdf", pdf)
    client.force_login(sam)

    url = reverse("courses:import_status", args=[PendingImport.objects.get().pk])

    assert client.get(url).status_code == 403


def test_status_needs_a_signed_in_teacher(client, alice, course, pdf):
    client.force_login(alice)
    post_file(client, course, "cells.pdf", pdf)
    pending = PendingImport.objects.get()
    client.logout()

    response = client.get(reverse("courses:import_status", args=[pending.pk]))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_pending_import_can_be_confirmed_only_once_it_is_read(client, alice, course, pdf):
    client.force_login(alice)
    post_file(client, course, "cells.pdf", pdf)
    pending = PendingImport.objects.get()

    response = client.post(reverse("courses:import_review", args=[pending.pk]), {"title": "X"})

    assert response.status_code == 200
    assert "Reading the file" in response.content.decode()
    assert not course.lessons.exists()


def test_pdf_pages_report_progress_page_by_page(tmp_path):
    path = write_text_pdf(tmp_path / "long.pdf", [[f"Page {n}", "Text."] for n in range(23)])
    calls = []

    import_pdf(
        path,
        workdir=tmp_path / "work",
        source_name="long.pdf",
        progress=lambda *call: calls.append(call),
    )

    drawing = [call for call in calls if call[0] == "drawing"]
    assert drawing == [
        ("drawing", 0, 23),
        ("drawing", 10, 23),
        ("drawing", 20, 23),
        ("drawing", 23, 23),
    ]


def test_the_waiting_page_words_the_progress(client, alice, course, pdf):
    client.force_login(alice)
    post_file(client, course, "cells.pdf", pdf)
    pending = PendingImport.objects.get()
    PendingImport.objects.filter(pk=pending.pk).update(stage="drawing", step=12, step_count=200)

    status = client.get(reverse("courses:import_status", args=[pending.pk])).json()

    assert status["progress"] == "Drawing page 12 of 200"
    assert "Drawing page 12 of 200" in client.get(status["review_url"]).content.decode()


def test_an_import_whose_worker_stopped_ends_as_failed(alice, course, pdf, settings):
    upload = SimpleUploadedFile("cells.pdf", pdf)
    pending = services.pending_import_start(owner=alice, course=course, upload=upload, kind="pdf")
    long_ago = timezone.now() - timedelta(seconds=settings.LECTERN_IMPORT_TIME_LIMIT_S + 120)
    PendingImport.objects.filter(pk=pending.pk).update(updated_at=long_ago)

    services.pending_imports_expire()

    pending.refresh_from_db()
    assert pending.status == ImportStatus.FAILED
    assert "stopped before it ended" in pending.error
    assert not Path(pending.folder).exists()


@pytest.mark.services
def test_a_real_worker_reads_the_import_while_the_page_polls(
    client, alice, transactional_db, celery_worker_process, pdf
):
    course = services.course_create(owner=alice, title="Cells", slug="cells")
    client.force_login(alice)

    started = time.monotonic()
    response = post_file(client, course, "cells.pdf", pdf)
    assert time.monotonic() - started < 5
    pending = PendingImport.objects.get()
    status_url = reverse("courses:import_status", args=[pending.pk])
    deadline = time.monotonic() + 60
    while (status := client.get(status_url).json())["status"] == "parsing":
        assert time.monotonic() < deadline, celery_worker_process.log_tail()
        time.sleep(0.3)

    assert status["status"] == "ready", status
    review = client.get(response["Location"]).content.decode()
    assert "Cells need energy." in review
    assert not (Path(pending.folder) / "source").exists()
