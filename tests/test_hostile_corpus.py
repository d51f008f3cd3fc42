"""Every hostile file of tests/hostile_files.py through every web upload path it applies to.

The paths (lectern/urls.py and the apps' urls): the scene editor's image (courses:scene_edit,
SceneForm.image) and the lesson import (courses:lesson_import, LessonImportForm.file: .zip,
.pdf, .pptx, read by a worker). Scene.image also has the admin's change form, where the image
is shown but cannot be replaced (courses/admin.py). Each file, posted by the owning teacher,
must give a clear message (a form error, or the import page's reason) and never a 500 or a
traceback; a refused file leaves nothing in MEDIA_ROOT, the pending-imports folder or the
temporary folder; the server still answers /healthz and the import worker still imports a
good lesson. Files Lectern accepts by design (a PNG with HTML after it, an SVG with a script
or links out of it) must come out harmless: re-encoded, or drawn without what they point to.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

import numpy as np
import pytest
from django.contrib.admin.sites import site as admin_site
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image

from accounts.models import Role
from courses import services
from courses.models import ImportStatus, Lesson, PendingImport, Scene
from synthesis.frames.images import load_image
from tests import hostile_files as hostile
from tests.conftest import make_user
from tests.courses.conftest import import_tasks_run_at_once, post_scene_image


@pytest.fixture
def course(alice):
    return services.course_create(owner=alice, title="Leaves", slug="leaves")


@pytest.fixture
def scene(course, alice) -> Scene:
    """A text scene of alice's lesson, the one the scene editor's image is posted to."""
    lesson = services.lesson_create(course=course, title="Leaves", created_by=alice)
    return Scene.objects.create(
        version=lesson.versions.get(), position=0, kind="text", title="Why", narration="Words."
    )


@pytest.fixture
def folders(settings, tmp_path, monkeypatch) -> dict[str, Path]:
    """Private media, var and temporary folders, so a test sees every file the app leaves."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    # A crashing import task raises into the test instead of being stored in its result.
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))  # Django's uploads and ours
    built = tmp_path / "built"
    built.mkdir()
    return {
        "media": settings.MEDIA_ROOT,
        "pending": settings.VAR_DIR / "pending-imports",
        "tmp": temporary,
        "built": built,
    }


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def page_text(response) -> str:
    body = response.content.decode()
    assert response.status_code < 500, body[-2000:]
    assert "Traceback" not in body and "Internal Server Error" not in body
    return html.unescape(body)


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


def assert_server_and_worker_stay_up(client, course, folders) -> None:
    """/healthz answers 200, and a good lesson still imports (the worker is still there)."""
    assert client.get(reverse("healthz")).status_code == 200
    good = hostile.good_lesson_zip(folders["built"])
    with import_tasks_run_at_once():
        response = client.post(
            reverse("courses:lesson_import", args=[course.slug]), {"file": upload(good)}
        )
    pending = PendingImport.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[1])
    assert pending.status == ImportStatus.READY, pending.error


def shows_secret(image: Image.Image) -> bool:
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    return bool((np.abs(pixels - hostile.SECRET_RGB).sum(axis=1) < 30).any())


# The scene editor's image -------------------------------------------------------------------

# (builder, what the form says): each is refused and the scene keeps no image.
REFUSED_IMAGES = [
    (hostile.bomb_png, "image 'bomb.png' is 8000x6000 pixels; the limit is 40 megapixels"),
    (hostile.giant_png, "image 'giant.png' is 40000x40000 pixels; the limit is 40 megapixels"),
    (hostile.giant_gif, "image 'giant.gif' is 40000x40000 pixels"),
    (hostile.giant_jpeg, "image 'giant.jpg' is 40000x40000 pixels"),
    (hostile.html_named_png, "image 'page.png' is not a PNG, JPEG, GIF, WebP or SVG image"),
    (hostile.pdf_named_png, "image 'scan.png' is not a PNG, JPEG, GIF, WebP or SVG image"),
    (hostile.zip_named_jpeg, "image 'photo.jpg' is not a PNG, JPEG, GIF, WebP or SVG image"),
    (hostile.html_page, "“page.html” is not an image Lectern can show"),
    (hostile.empty_png, "The submitted file is empty."),
    (hostile.truncated_png, "image 'cut.png' is damaged or truncated"),
    (hostile.truncated_jpeg, "image 'cut.jpg' is damaged or truncated"),
    (hostile.svg_external_entity, "image 'entity.svg' declares XML entities"),
    (hostile.svg_billion_laughs, "image 'laughs.svg' declares XML entities"),
    (hostile.svg_gzip_bomb, "image 'packed.svg' unpacks to more than 5 MB of SVG"),
]


@pytest.mark.parametrize(
    ("build", "message"), REFUSED_IMAGES, ids=[build.__name__ for build, _ in REFUSED_IMAGES]
)
def test_scene_image_refuses_hostile_file_clearly_leaving_nothing(
    client, alice, course, scene, folders, build, message
):
    hostile_file = build(folders["built"])
    client.force_login(alice)

    response = post_scene_image(client, scene, upload(hostile_file))

    assert response.status_code == 200
    page = page_text(response)
    assert message in page
    assert hostile.SECRET_TEXT not in page
    scene.refresh_from_db()
    assert scene.kind == "text" and not scene.image
    assert files_under(folders["media"]) == []
    assert files_under(folders["tmp"]) == []
    assert_server_and_worker_stay_up(client, course, folders)


def stored_image(scene: Scene) -> tuple[str, bytes]:
    scene.refresh_from_db()
    assert scene.kind == "image" and scene.image
    return Path(scene.image.name).name, Path(scene.image.path).read_bytes()


def test_scene_image_png_html_polyglot_is_stored_without_the_html(
    client, alice, course, scene, folders
):
    client.force_login(alice)

    response = post_scene_image(client, scene, upload(hostile.png_html_polyglot(folders["built"])))

    assert response.status_code == 302
    name, data = stored_image(scene)
    assert name.endswith(".png") and "polyglot" not in name
    assert b"<html" not in data and b"<script" not in data
    assert files_under(folders["tmp"]) == []
    assert_server_and_worker_stay_up(client, course, folders)


def test_scene_image_svg_with_a_script_never_runs_it(client, alice, course, scene, folders):
    """Kept as an SVG (Lectern draws SVGs itself), cleaned: the stored file holds no script,
    and it is only ever handed out as a sandboxed download."""
    client.force_login(alice)

    response = post_scene_image(client, scene, upload(hostile.svg_with_script(folders["built"])))

    assert response.status_code == 302
    scene.refresh_from_db()
    served = client.get(reverse("courses:scene_image", args=[scene.pk]))
    assert b"script" not in b"".join(served.streaming_content).lower()
    assert b"onload" not in scene.image.read().lower()
    assert served["Content-Disposition"].startswith("attachment")
    assert "sandbox" in served["Content-Security-Policy"]
    assert served["X-Content-Type-Options"] == "nosniff"
    drawn = load_image(scene.image.path, svg_width_px=40)
    assert drawn.getpixel((20, 20)) == (0, 0, 255)  # the rectangle, without its onload
    assert files_under(folders["tmp"]) == []
    assert_server_and_worker_stay_up(client, course, folders)


SERVER_FILE_SVGS = [
    hostile.svg_image_xlink_href,
    hostile.svg_image_file_url,
    hostile.svg_use_other_file,
    hostile.svg_fe_image,
    hostile.svg_css_url,
]


@pytest.mark.parametrize("build", SERVER_FILE_SVGS, ids=[b.__name__ for b in SERVER_FILE_SVGS])
def test_scene_image_svg_pointing_at_a_server_file_is_drawn_without_it(
    client, alice, course, scene, folders, build
):
    client.force_login(alice)

    response = post_scene_image(client, scene, upload(build(folders["built"])))

    if response.status_code == 200:  # refused: then with a message, and nothing kept
        assert "errorlist" in page_text(response)
        assert files_under(folders["media"]) == []
    else:
        assert response.status_code == 302
        scene.refresh_from_db()
        assert not shows_secret(load_image(scene.image.path, svg_width_px=40))
    assert files_under(folders["tmp"]) == []
    assert_server_and_worker_stay_up(client, course, folders)


def test_secret_check_sees_an_embedded_secret_so_the_test_above_can_fail(
    client, alice, scene, folders
):
    client.force_login(alice)

    post_scene_image(client, scene, upload(hostile.svg_embedding_secret(folders["built"])))

    scene.refresh_from_db()
    assert shows_secret(load_image(scene.image.path, svg_width_px=40))


@pytest.mark.parametrize(
    ("length", "status", "message"),
    [
        (900_000, 200, "This scene's narration has 900000 characters; a scene may have at most"),
        (2_000_000, 400, "A text in the form may be longer than Lectern accepts"),
    ],
    ids=["over-the-narration-limit", "over-the-form-limit"],
)
def test_scene_editor_refuses_huge_text_clearly(
    client, alice, course, scene, folders, length, status, message
):
    """A book pasted as narration: the form says how long a scene may be; past the form limit
    (LECTERN_MAX_FORM_BYTES per field) Django refuses the request, and its page says why."""
    client.force_login(alice)

    response = client.post(
        reverse("courses:scene_edit", args=[scene.pk]),
        {
            "kind": "text", "title": "Book", "body": "", "code": "", "code_language": "",
            "math": "", "image_alt": "", "narration": "x" * length, "language": "en",
            "role": "core", "concepts": "",
        },
    )  # fmt: skip

    assert response.status_code == status
    assert message in page_text(response)
    scene.refresh_from_db()
    assert scene.narration == "Words."
    assert files_under(folders["tmp"]) == []
    assert_server_and_worker_stay_up(client, course, folders)


# The lesson import --------------------------------------------------------------------------


def post_import(client, course, path: Path):
    """The import form posted with the file; the worker runs before this returns."""
    with import_tasks_run_at_once():
        return client.post(
            reverse("courses:lesson_import", args=[course.slug]), {"file": upload(path)}
        )


# (builder, the reason the import page gives): the worker refuses each and keeps nothing.
FAILED_IMPORTS = [
    (hostile.zip_bomb, "'bomb.zip' unpacks to 20 MB; Lectern accepts at most 10 MB."),
    (hostile.zip_bomb_lying_sizes, "'liar.zip' is corrupt: 'padding.bin' cannot be unpacked"),
    (hostile.zip_many_members, "'many.zip' holds 2501 files; Lectern accepts at most 2000."),
    (hostile.zip_dot_dot, "'dotdot.zip' contains '../../x.md', a path outside the archive"),
    (hostile.zip_absolute, "'absolute.zip' contains '/etc/x.md', a path outside the archive"),
    (hostile.zip_backslash_dot_dot, "contains '..\\..\\x.md', a path outside the archive"),
    (hostile.zip_drive_letter, "'drive.zip' contains 'C:/x.md', a path outside the archive"),
    (hostile.zip_symlink, "'symlink.zip' contains a symbolic link ('leak.png')"),
    (hostile.truncated_zip, "'cut.zip' is not a readable zip archive"),
    (hostile.huge_markdown_zip, "lesson.md is 5.0 MB; the limit is 4 MB"),
    (hostile.pdf_that_is_zip, "'slides.pdf' is named like a PDF but is not one"),
    (hostile.pdf_that_is_html, "'notes.pdf' is named like a PDF but is not one"),
    (hostile.zip_that_is_pdf, "'lesson.zip' is named like a zip archive but is not one"),
    (hostile.pptx_that_is_not_zip, "'deck.pptx' is named like a PowerPoint .pptx file but"),
    (hostile.pptx_that_is_docx, "'report.pptx' could not be read as a PowerPoint presentation"),
    (hostile.pptx_billion_laughs, "'laughs.pptx' could not be read as a PowerPoint presentation"),
    (hostile.pptx_dot_dot, "'dotdot.pptx' contains '../../evil.xml', a path outside the archive"),
    (hostile.pptx_with_giant_picture, "shows a picture of 40000 x 40000 pixels"),
    (hostile.truncated_pptx, "'cut.pptx' is not a readable zip archive"),
    (hostile.truncated_pdf, "'cut.pdf' could not be read as a PDF"),
    (hostile.pdf_too_many_pages, "'long.pdf' has 201 pages; Lectern imports at most 200."),
]


@pytest.mark.parametrize(
    ("build", "message"), FAILED_IMPORTS, ids=[build.__name__ for build, _ in FAILED_IMPORTS]
)
def test_import_of_hostile_file_fails_clearly_leaving_nothing(
    client, alice, course, folders, settings, build, message
):
    settings.LECTERN_IMPORT_MAX_UNPACKED_MB = 10  # the zip bomb's 20 MB is then a bomb
    hostile_file = build(folders["built"])
    client.force_login(alice)

    response = post_import(client, course, hostile_file)

    pending = PendingImport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("courses:import_review", args=[pending.pk])
    page = page_text(client.get(response.url))
    assert "The file could not be imported:" in page and message in page
    assert pending.status == ImportStatus.FAILED
    assert client.get(reverse("courses:import_status", args=[pending.pk])).json()["error"]
    assert not Lesson.objects.exists()
    assert files_under(folders["pending"]) == [] and files_under(folders["media"]) == []
    assert files_under(folders["tmp"]) == []
    assert_server_and_worker_stay_up(client, course, folders)


def test_import_form_refuses_a_bare_markdown_file_at_once(client, alice, course, folders):
    client.force_login(alice)

    response = post_import(client, course, hostile.huge_markdown_file(folders["built"]))

    assert response.status_code == 200
    assert "“lesson.md” is not a file Lectern can import" in page_text(response)
    assert not PendingImport.objects.exists()
    assert files_under(folders["pending"]) == [] and files_under(folders["tmp"]) == []
    assert_server_and_worker_stay_up(client, course, folders)


def ready_import(client, course, path: Path) -> tuple[PendingImport, str]:
    """The pending import the worker made of the file, and its review page's text."""
    response = post_import(client, course, path)
    pending = PendingImport.objects.get(source_name=path.name)
    page = page_text(client.get(response.url))
    assert pending.status == ImportStatus.READY, pending.error
    return pending, page


# (builder, a warning the review page shows, or "" when the file imports as it is)
IMPORTS_WITH_WARNINGS = [
    (hostile.long_line_markdown_zip, "characters long; only the first 10,000 are narrated"),
    (hostile.deep_nesting_markdown_zip, ""),
    (hostile.markdown_linking_outside_zip, "image '/etc/passwd' is outside the lesson folder"),
    (hostile.pptx_external_entity, ""),
    (hostile.pptx_with_truncated_picture, "its image was left out: image"),
]


@pytest.mark.parametrize(
    ("build", "warning"),
    IMPORTS_WITH_WARNINGS,
    ids=[build.__name__ for build, _ in IMPORTS_WITH_WARNINGS],
)
def test_import_of_hostile_text_is_bounded_and_reads_no_server_file(
    client, alice, course, folders, build, warning
):
    hostile_file = build(folders["built"])
    client.force_login(alice)

    pending, page = ready_import(client, course, hostile_file)

    assert warning in page
    assert hostile.SECRET_TEXT not in page and hostile.SECRET_TEXT not in str(pending.scenes)
    assert "root:" not in page  # /etc/passwd
    # The upload itself is gone; what stays (until the review ends) is the import's own.
    kept = files_under(folders["pending"])
    assert all(path.is_relative_to(pending.folder) for path in kept), kept
    assert not (Path(pending.folder) / "source").exists()
    for path in kept:
        assert b"root:" not in path.read_bytes()
        if path.suffix == ".png":
            assert not shows_secret(Image.open(path))
    assert files_under(folders["media"]) == [] and files_under(folders["tmp"]) == []
    assert_server_and_worker_stay_up(client, course, folders)


def test_import_of_a_lesson_with_hostile_images_keeps_only_clean_ones(
    client, alice, course, folders, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    pending, page = ready_import(
        client, course, hostile.markdown_with_hostile_images_zip(folders["built"])
    )

    for name in ("bomb.png", "cut.png", "entity.svg"):
        assert f"its image was left out: image '{name}'" in page
    # The teacher's own files are gone already, the left-out ones too.
    kept = {path.name for path in files_under(folders["pending"])}
    assert not kept & {"bomb.png", "cut.png", "entity.svg", "polyglot.png"}, kept
    with django_capture_on_commit_callbacks(execute=True):  # the working folder goes then
        response = client.post(
            reverse("courses:import_review", args=[pending.pk]), {"title": "Leaves"}
        )

    assert response.status_code == 302
    stored = files_under(folders["media"])
    assert len(stored) == 1 and stored[0].suffix == ".png"  # the polyglot, re-encoded
    assert b"<script" not in stored[0].read_bytes()
    assert files_under(folders["pending"]) == [] and files_under(folders["tmp"]) == []
    assert_server_and_worker_stay_up(client, course, folders)


# The admin ----------------------------------------------------------------------------------


def admin_change_data(scene: Scene, staff) -> dict:
    """The admin's change form for the scene as the page fills it in."""
    request = RequestFactory().get("/")
    request.user = staff
    form = admin_site._registry[Scene].get_form(request, scene)(instance=scene)
    return {name: "" if form[name].value() is None else form[name].value() for name in form.fields}


def test_admin_scene_form_does_not_store_an_uploaded_image_as_it_came(client, scene, folders):
    """The admin would keep a polyglot or a bomb byte for byte under its own name; scenes get
    images only through the scene editor and the import, which re-encode them."""
    staff = make_user("ops", Role.TEACHER, is_staff=True, is_superuser=True)
    data = admin_change_data(scene, staff) | {
        "title": "Renamed",
        "image": upload(hostile.png_html_polyglot(folders["built"])),
    }
    client.force_login(staff)

    response = client.post(reverse("admin:courses_scene_change", args=[scene.pk]), data)

    assert response.status_code == 302, page_text(response)
    scene.refresh_from_db()
    assert scene.title == "Renamed"
    assert not scene.image and files_under(folders["media"]) == []
