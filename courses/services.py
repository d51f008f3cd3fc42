"""Functions that change courses, lessons, versions, scenes, checkpoints, imports and renders.

Copy-on-write: a version that was rendered (or queued), submitted, reviewed or published
is frozen. Every scene or checkpoint change asks `_editable_scene`, which forks a new
draft version from a frozen one (scenes, concepts and checkpoints copied, image files
shared) and changes the copy, so what was rendered or published stays reproducible.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from courses import storage as media_storage
from courses.estimates import narration_estimate_s
from courses.messages import error_text, messages_json
from courses.models import (
    Checkpoint,
    Choice,
    Concept,
    Course,
    ImportKind,
    ImportStatus,
    Lesson,
    LessonVersion,
    PendingImport,
    RenderJob,
    RenderStatus,
    Scene,
    SceneKind,
    VersionStatus,
)
from courses.narration import language_voices
from courses.quotas import (
    folder_bytes,
    quota_check,
    quota_exceeded_message,
    render_output_estimate_bytes,
    teacher_storage_use,
)
from courses.selectors import (
    ACTIVE_RENDER_STATUSES,
    active_render_job,
    latest_successful_render,
    lesson_deletion_blockers,
    lesson_version_is_frozen,
    scene_checkpoint,
    user_can_edit_course,
)
from courses.series import SeriesPart, series_proposal
from lessonimport import safezip
from lessonimport.draft import (
    ImportedScene,
    ImportProgress,
    ImportResult,
    no_progress,
    source_json,
    split_long_narration,
)
from lessonimport.markdown import import_markdown_folder
from lessonimport.upload import parse_upload
from synthesis.errors import LessonImportError
from synthesis.frames.images import ImageLoadError, is_svg, load_image, sanitised_svg
from synthesis.messages import Message, gettext_noop
from synthesis.sentences import split_sentences

logger = logging.getLogger(__name__)

SCENE_FIELDS = (
    "kind",
    "title",
    "body",
    "subtitle",
    "code",
    "code_language",
    "math",
    "image",
    "image_alt",
    "narration",
    "narration_sources",
    "language",
    "role",
)


# Courses and concepts ------------------------------------------------------------------


# First path parts of studio addresses (courses/urls.py) that a course slug must not take.
RESERVED_SLUGS = frozenset({"new", "imports", "lessons", "versions", "scenes", "render-jobs"})


def _unique_course_slug(base: str) -> str:
    base = (slugify(base, allow_unicode=True) or "course")[:70]
    slug, number = base, 2
    while slug in RESERVED_SLUGS or Course.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


def course_create(
    *, owner, title: str, slug: str = "", language: str = "en", description: str = ""
) -> Course:
    """A new course for a teacher; an empty slug is made from the title."""
    if slug in RESERVED_SLUGS:
        raise ValidationError(
            {"slug": _("“%(slug)s” is reserved; choose another.") % {"slug": slug}}
        )
    course = Course(
        owner=owner,
        title=title.strip(),
        slug=slug or _unique_course_slug(title),
        language=language,
        description=description,
    )
    course.full_clean()
    course.save()
    return course


def course_update(*, course: Course, title: str, language: str, description: str) -> Course:
    """Rename a course or change its language and description (its address stays)."""
    course.title, course.language, course.description = title.strip(), language, description
    course.full_clean()
    course.save()
    return course


def course_delete(*, course: Course, user) -> None:
    """Delete a course with its lessons, concepts, pending imports and their files.

    Refused (ValidationError naming each reason) while any lesson has an approved or
    published version, or is being rendered: then nothing is deleted.
    """
    with transaction.atomic():
        Course.objects.select_for_update().filter(pk=course.pk).first()
        lessons = Lesson.objects.filter(course=course)
        _refuse_deletion_if_blocked(lessons)
        _remove_media_on_commit(list(lessons.values_list("pk", flat=True)))
        for folder in course.pending_imports.values_list("folder", flat=True):
            transaction.on_commit(lambda folder=folder: safezip.remove_tree(Path(folder)))
        logger.info("user %s deleted course %s (%s)", user.pk, course.pk, course.slug)
        course.delete()


def course_set_classrooms(*, course: Course, classrooms: Iterable) -> None:
    """Offer the course to exactly these classes, which must be taught by its owner."""
    classrooms = list(classrooms)
    if any(classroom.teacher_id != course.owner_id for classroom in classrooms):
        raise ValidationError(_("A course can only be given to its owner's classes."))
    course.classrooms.set(classrooms)


def concepts_for_names(*, course: Course, names: Iterable[str]) -> list[Concept]:
    """The course's concepts with these names, creating the ones typed for the first time."""
    concepts: dict[str, Concept] = {}
    for raw in names:
        name = " ".join(raw.split())[:120]
        slug = slugify(name, allow_unicode=True)[:120]
        if not slug or slug in concepts:
            continue
        concept, _created = Concept.objects.get_or_create(
            course=course, slug=slug, defaults={"name": name}
        )
        concepts[slug] = concept
    return list(concepts.values())


def split_concept_names(text: str) -> list[str]:
    """Concept names typed as 'a, b; c' (Chinese commas too)."""
    for separator in (";", "，", "、", "；"):
        text = text.replace(separator, ",")
    return [name.strip() for name in text.split(",") if name.strip()]


# Lessons and versions ------------------------------------------------------------------


def lesson_create(*, course: Course, title: str, created_by, language: str = "") -> Lesson:
    """A lesson with an empty first draft version."""
    with transaction.atomic():
        position = (course.lessons.aggregate(top=Max("position"))["top"] or 0) + 1
        lesson = Lesson(
            course=course, title=title.strip(), position=position, created_by=created_by
        )
        lesson.full_clean()
        lesson.save()
        LessonVersion.objects.create(
            lesson=lesson, number=1, language=language or course.language, created_by=created_by
        )
    return lesson


def lesson_update(*, lesson: Lesson, title: str) -> Lesson:
    """Rename a lesson; every version (published ones too) shows the new title."""
    lesson.title = title.strip()
    lesson.full_clean()
    lesson.save(update_fields=["title"])
    return lesson


def lesson_delete(*, lesson: Lesson, user) -> Course:
    """Delete a lesson with all its versions, scenes, renders and their files.

    Refused (ValidationError) when a version is approved or published, or a render of
    it is queued or running. Returns the course the lesson belonged to.
    """
    course = lesson.course
    with transaction.atomic():
        Lesson.objects.select_for_update().filter(pk=lesson.pk).first()
        _refuse_deletion_if_blocked(Lesson.objects.filter(pk=lesson.pk))
        _remove_media_on_commit([lesson.pk])
        logger.info("user %s deleted lesson %s (%s)", user.pk, lesson.pk, lesson.title)
        lesson.delete()
    return course


def _refuse_deletion_if_blocked(lessons) -> None:
    reasons = lesson_deletion_blockers(lessons)
    if reasons:
        raise ValidationError(reasons)


def _remove_media_on_commit(lesson_ids: list[int]) -> None:
    """Once the deletion commits, remove the lessons' scene images and render outputs.

    An image another lesson's scene still names is kept.
    """
    scenes = Scene.objects.filter(version__lesson__in=lesson_ids).exclude(image="")
    images = set(scenes.values_list("image", flat=True))
    images -= set(
        Scene.objects.filter(image__in=images)
        .exclude(version__lesson__in=lesson_ids)
        .values_list("image", flat=True)
    )
    media_root = Path(settings.MEDIA_ROOT).resolve()
    output_dirs = list(
        RenderJob.objects.filter(version__lesson__in=lesson_ids)
        .exclude(output_dir="")
        .values_list("output_dir", flat=True)
    )
    outputs = [(media_root / output_dir).resolve() for output_dir in output_dirs]

    def remove() -> None:
        storage = Scene._meta.get_field("image").storage
        for name in sorted(images):
            storage.delete(name)
        for output_dir in output_dirs:  # their objects, with media in a bucket
            media_storage.render_outputs_delete(output_dir)
        for folder in outputs:
            if folder.is_relative_to(media_root) and folder != media_root:
                shutil.rmtree(folder, ignore_errors=True)
        for lesson_id in lesson_ids:
            # The lesson's own image folder (scene_image_path), once it is empty.
            with contextlib.suppress(OSError):
                (media_root / "scenes" / str(lesson_id)).rmdir()

    transaction.on_commit(remove)


def _next_version_number(lesson: Lesson) -> int:
    # Lock the lesson row so two forks at once cannot take the same number.
    Lesson.objects.select_for_update().filter(pk=lesson.pk).first()
    return (lesson.versions.aggregate(top=Max("number"))["top"] or 0) + 1


def lesson_version_fork(*, version: LessonVersion, user) -> tuple[LessonVersion, dict[int, Scene]]:
    """A new draft copying `version`; returns it and a map from old scene ids to the copies."""
    with transaction.atomic():
        fork = LessonVersion.objects.create(
            lesson=version.lesson,
            number=_next_version_number(version.lesson),
            based_on=version,
            status=VersionStatus.DRAFT,
            language=version.language,
            import_report=version.import_report,
            attribution=version.attribution,
            created_by=user,
            voice_engine=version.voice_engine,
            voice_name=version.voice_name,
            voice_rate=version.voice_rate,
        )
        copies = {
            scene.pk: _scene_copy(scene, version=fork, position=scene.position)
            for scene in version.scenes.prefetch_related("concepts").order_by("position", "id")
        }
    return fork, copies


def _scene_copy(scene: Scene, *, version: LessonVersion, position: int) -> Scene:
    """Copy a scene (image file shared, not duplicated) with its concepts and checkpoint."""
    copy = Scene(version=version, position=position)
    for field in SCENE_FIELDS:
        setattr(copy, field, getattr(scene, field))
    copy.save()
    copy.concepts.set(scene.concepts.all())
    checkpoint = Checkpoint.objects.filter(scene=scene).first()
    if checkpoint is not None:
        choices = list(checkpoint.choices.all())
        concepts = list(checkpoint.concepts.all())
        checkpoint.pk = None
        checkpoint.id = None
        checkpoint.scene = copy
        checkpoint._state.adding = True
        checkpoint.save()
        checkpoint.concepts.set(concepts)
        Choice.objects.bulk_create(
            Choice(checkpoint=checkpoint, text=c.text, is_correct=c.is_correct, position=c.position)
            for c in choices
        )
    return copy


def lesson_version_editable(*, version: LessonVersion, user) -> LessonVersion:
    """The version itself while it is an untouched draft, else a fresh draft forked from it."""
    if lesson_version_is_frozen(version):
        fork, _copies = lesson_version_fork(version=version, user=user)
        return fork
    return version


def _editable_scene(scene: Scene, user) -> Scene:
    if lesson_version_is_frozen(scene.version):
        _fork, copies = lesson_version_fork(version=scene.version, user=user)
        return copies[scene.pk]
    return scene


def lesson_version_submit(*, version: LessonVersion, user) -> LessonVersion:
    """Send a rendered draft to moderation; moderation records who submitted it and when
    (and publishes at once for a trusted teacher whose version passes the automatic checks)."""
    from moderation.services import review_open  # moderation imports courses: no cycle here

    with transaction.atomic():
        locked = LessonVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != VersionStatus.DRAFT:
            raise ValidationError(
                _("Version %(number)s is %(status)s; only a draft can be submitted.")
                % {"number": locked.number, "status": locked.get_status_display().lower()}
            )
        if latest_successful_render(locked) is None:
            raise ValidationError(_("Render this version before submitting it for review."))
        _refuse_unreviewed_drafts(locked)
        locked.status = VersionStatus.SUBMITTED
        locked.status_reason = ""
        locked.save(update_fields=["status", "status_reason"])
        review_open(version=locked, user=user)
    version.refresh_from_db()
    return version


def unreviewed_draft_scene_numbers(
    version: LessonVersion, *, scenes: list[Scene] | None = None
) -> list[int]:
    """Numbers (from 1, in order) of the scenes whose generated question nobody reviewed;
    `scenes`: the version's scenes in order with their checkpoints, already fetched."""
    if scenes is not None:
        return [
            number
            for number, scene in enumerate(scenes, start=1)
            if (checkpoint := scene_checkpoint(scene)) is not None
            and checkpoint.generated
            and not checkpoint.accepted
        ]
    positions = list(version.scenes.order_by("position", "id").values_list("pk", flat=True))
    pending = set(
        Checkpoint.objects.filter(
            scene__version=version, generated=True, accepted=False
        ).values_list("scene_id", flat=True)
    )
    return [number for number, pk in enumerate(positions, start=1) if pk in pending]


def _refuse_unreviewed_drafts(version: LessonVersion) -> None:
    # A generated question is a guess: a teacher accepts, edits or deletes it before
    # anyone else sees the version.
    numbers = unreviewed_draft_scene_numbers(version)
    if numbers:
        raise ValidationError(
            ngettext(
                "%(count)d generated question has not been reviewed (scene %(scenes)s). "
                "Accept, edit or delete it before submitting.",
                "%(count)d generated questions have not been reviewed (scenes %(scenes)s). "
                "Accept, edit or delete each before submitting.",
                len(numbers),
            )
            % {"count": len(numbers), "scenes": ", ".join(str(n) for n in numbers)}
        )


# The speaking rates a teacher may choose (1 is each voice's normal speed).
VOICE_RATE_MIN, VOICE_RATE_MAX = 0.75, 1.5


def lesson_version_voice_set(
    *, version: LessonVersion, user, engine: str, voice: str, rate: float
) -> LessonVersion:
    """Choose the narration voice of a draft (blank engine and voice: the site's default).

    The voice must be one that speaks the version's language here. A version that left
    draft status keeps the voice it was reviewed with, and one being rendered keeps its
    voice until the render ends; choosing the voice it already has is always allowed.
    """
    if not user_can_edit_course(user, version.lesson.course):
        raise PermissionDenied
    rate = round(float(rate), 3)
    if (engine, voice, rate) == (version.voice_engine, version.voice_name, version.voice_rate):
        return version
    if bool(engine) != bool(voice):
        raise ValidationError(_("Choose a voice, or let Lectern choose one."))
    offered = {(choice.engine, choice.voice) for choice in language_voices(version.language)}
    unchanged_voice = (engine, voice) == (version.voice_engine, version.voice_name)
    if engine and not unchanged_voice and (engine, voice) not in offered:
        raise ValidationError(
            _("The voice “%(voice)s” cannot speak %(language)s on this server. Choose another.")
            % {"voice": voice, "language": version.get_language_display()}
        )
    if not VOICE_RATE_MIN <= rate <= VOICE_RATE_MAX:
        raise ValidationError(
            _("The speaking rate must be between %(low)s and %(high)s.")
            % {"low": VOICE_RATE_MIN, "high": VOICE_RATE_MAX}
        )
    if version.status != VersionStatus.DRAFT:
        raise ValidationError(
            _(
                "Version %(number)s is %(status)s, so it keeps its voice. Edit a scene to "
                "start a new draft, then choose its voice."
            )
            % {"number": version.number, "status": version.get_status_display().lower()}
        )
    with transaction.atomic():
        locked = LessonVersion.objects.select_for_update().get(pk=version.pk)
        if active_render_job(locked) is not None:
            raise ValidationError(
                _("This version is being rendered; change its voice when the render ends.")
            )
        locked.voice_engine, locked.voice_name, locked.voice_rate = engine, voice, rate
        locked.full_clean()
        locked.save(update_fields=["voice_engine", "voice_name", "voice_rate"])
    version.voice_engine, version.voice_name, version.voice_rate = engine, voice, rate
    return version


# Scenes ---------------------------------------------------------------------------------


def narration_sources_after_edit(
    *, narration: str, language: str, old_sources: Sequence[dict]
) -> list[dict]:
    """Per-sentence sources for new narration: unchanged sentences keep theirs.

    A sentence that is new or changed was typed by the teacher and gets no file.
    """
    by_sentence = {source.get("sentence"): source for source in old_sources if source.get("file")}
    return [
        by_sentence.get(sentence, {"sentence": sentence})
        for sentence in split_sentences(narration, language)
    ]


def scene_create(
    *, version: LessonVersion, user, kind: str = SceneKind.TEXT, title: str = ""
) -> Scene:
    """Append an empty scene to the version (forking it first when it is frozen)."""
    with transaction.atomic():
        version = lesson_version_editable(version=version, user=user)
        position = version.scenes.count()
        scene = Scene(
            version=version, position=position, kind=kind, title=title, language=version.language
        )
        scene.full_clean()
        scene.save()
    return scene


def scene_update(
    *,
    scene: Scene,
    user,
    kind: str,
    title: str,
    body: str,
    code: str,
    code_language: str,
    math: list[str],
    image: UploadedFile | None,
    clear_image: bool,
    image_alt: str,
    narration: str,
    language: str,
    role: str,
    concept_names: Iterable[str],
) -> Scene:
    """Change one scene; returns the scene that was changed (a copy if the version was frozen).

    An uploaded image is stored re-encoded under a generated name (`image_reencoded`).
    """
    clean_image = None
    if image is not None:
        try:
            clean_image = _upload_reencoded(image)
        except ImageLoadError as error:
            raise ValidationError({"image": str(error)}) from error
        quota_check(user, adding_bytes=len(clean_image.data), what=_("this image"))
    with transaction.atomic():
        scene = _editable_scene(scene, user)
        old_image = scene.image.name
        if narration != scene.narration or language != scene.language:
            scene.narration_sources = narration_sources_after_edit(
                narration=narration, language=language, old_sources=scene.narration_sources
            )
        scene.kind, scene.title, scene.body = kind, title, body
        scene.code, scene.code_language, scene.math = code, code_language, list(math)
        scene.image_alt, scene.narration = image_alt, narration
        scene.language, scene.role = language, role
        if clear_image:
            scene.image = ""
        if clean_image is not None:
            scene.image.save(clean_image.file_name, ContentFile(clean_image.data), save=False)
        if scene.kind == SceneKind.IMAGE and not scene.image:
            raise ValidationError({"image": _("An image scene needs an image.")})
        scene.full_clean()
        scene.save()
        scene.concepts.set(
            concepts_for_names(course=scene.version.lesson.course, names=concept_names)
        )
        if old_image and old_image != scene.image.name:
            _remove_unreferenced_images_on_commit([old_image])
    return scene


@dataclasses.dataclass(frozen=True)
class CleanImage:
    """A teacher's image as it is stored: bytes we encoded, under a name made from them.

    The same image saved twice is stored twice (the storage adds a suffix to a taken name),
    so replacing or deleting one scene's image never removes a file another scene shows.
    """

    data: bytes
    file_name: str  # "<sha256 of data>.png", ".jpg" or ".svg"


def image_reencoded(path: Path) -> CleanImage:
    """Decode a raster image and encode its pixels again, so no byte or name the teacher
    chose reaches storage (a polyglot's trailing HTML, EXIF GPS, text chunks are dropped).

    load_image applies the size limits, EXIF orientation and a GIF's first frame, and raises
    ImageLoadError naming the file. An SVG is kept cleaned (no script, foreign object or
    link leaving the document: what load_image would draw of it) under a generated name.
    """
    if is_svg(path):
        data = sanitised_svg(path)
        return CleanImage(data, f"{hashlib.sha256(data).hexdigest()}.svg")
    image = load_image(path)  # RGB or RGBA
    with path.open("rb") as file:
        was_jpeg = file.read(3) == b"\xff\xd8\xff"
    if image.mode == "RGB" and "transparency" in image.info:
        image = image.convert("RGBA")  # a colour-keyed PNG keeps its transparency
    # Pillow carries ICC profiles, comments and colour keys over from info; the renderer
    # ignores them, so dropping them changes no pixel shown.
    image.info = {}
    # A JPEG is a photo already compressed lossily: JPEG at quality 90 keeps it near its
    # size, where PNG would take several times the teacher's quota. Everything else (PNG,
    # GIF, WebP, anything transparent) becomes PNG: lossless, so diagrams and text stay sharp.
    as_jpeg = was_jpeg and image.mode == "RGB"
    encoded = io.BytesIO()
    try:
        if as_jpeg:
            image.save(encoded, format="JPEG", quality=90)
        else:
            image.save(encoded, format="PNG")
    except (OSError, ValueError) as error:
        raise ImageLoadError(
            _("Image “%(name)s” could not be re-encoded (%(error)s).")
            % {"name": path.name, "error": error}
        ) from error
    data = encoded.getvalue()
    return CleanImage(data, f"{hashlib.sha256(data).hexdigest()}.{'jpg' if as_jpeg else 'png'}")


def _upload_reencoded(upload: UploadedFile) -> CleanImage:
    # A copy under the upload's own name, so the loader's message names the teacher's file.
    with tempfile.TemporaryDirectory() as folder:
        name = Path(upload.name or "").name
        copy = Path(folder) / (name if name not in ("", ".", "..") else "image")
        with open(copy, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return image_reencoded(copy)


def _renumber(version: LessonVersion) -> None:
    for position, scene in enumerate(version.scenes.order_by("position", "id")):
        if scene.position != position:
            Scene.objects.filter(pk=scene.pk).update(position=position)


def scene_move(*, scene: Scene, user, offset: int) -> Scene:
    """Move a scene up (offset -1) or down (+1); at either end nothing changes."""
    with transaction.atomic():
        scene = _editable_scene(scene, user)
        _renumber(scene.version)
        ordered = list(scene.version.scenes.order_by("position", "id"))
        index = next(i for i, s in enumerate(ordered) if s.pk == scene.pk)
        target = index + offset
        if 0 <= target < len(ordered):
            ordered[index], ordered[target] = ordered[target], ordered[index]
            for position, each in enumerate(ordered):
                Scene.objects.filter(pk=each.pk).update(position=position)
        scene.refresh_from_db()
    return scene


def scene_duplicate(*, scene: Scene, user) -> Scene:
    """A copy placed right after the scene."""
    with transaction.atomic():
        scene = _editable_scene(scene, user)
        version = scene.version
        version.scenes.filter(position__gt=scene.position).update(position=F("position") + 1)
        copy = _scene_copy(scene, version=version, position=scene.position + 1)
        _renumber(version)
    return copy


def scene_delete(*, scene: Scene, user) -> LessonVersion:
    """Remove a scene; returns the version it was removed from (a fork if it was frozen)."""
    with transaction.atomic():
        scene = _editable_scene(scene, user)
        version = scene.version
        image = scene.image.name
        scene.delete()
        _renumber(version)
        if image:
            _remove_unreferenced_images_on_commit([image])
    return version


def _remove_unreferenced_images_on_commit(names: list[str]) -> None:
    """Once the transaction commits, delete these image files unless a scene still names one
    (a forked version shares its images with the version it came from)."""

    def remove() -> None:
        storage = Scene._meta.get_field("image").storage
        referenced = set(Scene.objects.filter(image__in=names).values_list("image", flat=True))
        for name in set(names) - referenced:
            storage.delete(name)

    transaction.on_commit(remove)


# Checkpoints ----------------------------------------------------------------------------


def checkpoint_save(
    *,
    scene: Scene,
    user,
    prompt: str,
    explanation: str,
    choices: Sequence[tuple[str, bool]],
    concept_names: Iterable[str],
) -> Checkpoint:
    """Create or replace the scene's checkpoint; a teacher's save counts as accepting it."""
    choices = [(text.strip(), correct) for text, correct in choices if text.strip()]
    if len(choices) < 2:
        raise ValidationError(_("A question needs at least two answers."))
    if not any(correct for _text, correct in choices):
        raise ValidationError(_("Mark at least one answer as correct."))
    with transaction.atomic():
        scene = _editable_scene(scene, user)
        checkpoint = Checkpoint.objects.filter(scene=scene).first() or Checkpoint(scene=scene)
        checkpoint.prompt = prompt.strip()
        checkpoint.explanation = explanation.strip()
        checkpoint.accepted = True
        checkpoint.full_clean()
        checkpoint.save()
        checkpoint.choices.all().delete()
        Choice.objects.bulk_create(
            Choice(checkpoint=checkpoint, text=text, is_correct=correct, position=position)
            for position, (text, correct) in enumerate(choices)
        )
        checkpoint.concepts.set(
            concepts_for_names(course=scene.version.lesson.course, names=concept_names)
        )
    return checkpoint


def checkpoint_delete(*, scene: Scene, user) -> Scene:
    """Remove the scene's checkpoint (discarding a generated draft works the same way)."""
    with transaction.atomic():
        scene = _editable_scene(scene, user)
        Checkpoint.objects.filter(scene=scene).delete()
    return scene


def checkpoint_accept(*, scene: Scene, user) -> Checkpoint:
    """Accept a generated draft as it is, so students will see it."""
    with transaction.atomic():
        scene = _editable_scene(scene, user)
        checkpoint = Checkpoint.objects.get(scene=scene)
        checkpoint.accepted = True
        checkpoint.save(update_fields=["accepted"])
    return checkpoint


def checkpoint_drafts_generate(*, version: LessonVersion, user) -> tuple[LessonVersion, int]:
    """Draft questions for scenes without one; returns the version changed and how many.

    A frozen version (rendered, submitted, published) gets them in a new draft forked from
    it, as any edit would; when no question can be drafted, nothing is forked.
    """
    from courses.checkpoints import draft_checkpoints

    with transaction.atomic():
        scenes = list(version.scenes.prefetch_related("concepts").order_by("position", "id"))
        drafts = draft_checkpoints(scenes)
        asked = set(
            Checkpoint.objects.filter(scene__version=version).values_list("scene_id", flat=True)
        )
        wanted = [scene for scene in scenes if scene.pk in drafts and scene.pk not in asked]
        if not wanted:
            return version, 0
        copies = {scene.pk: scene for scene in scenes}
        if lesson_version_is_frozen(version):
            version, copies = lesson_version_fork(version=version, user=user)
        for scene in wanted:
            draft = drafts[scene.pk]
            checkpoint = Checkpoint.objects.create(
                scene=copies[scene.pk],
                prompt=draft.prompt,
                explanation=draft.explanation,
                generated=True,
                accepted=False,
            )
            Choice.objects.bulk_create(
                Choice(checkpoint=checkpoint, text=text, is_correct=correct, position=position)
                for position, (text, correct) in enumerate(draft.choices)
            )
            checkpoint.concepts.set(
                concepts_for_names(course=version.lesson.course, names=draft.concepts)
            )
    return version, len(wanted)


# Imports --------------------------------------------------------------------------------


def _pending_imports_root() -> Path:
    # Outside MEDIA_ROOT: nothing of an unconfirmed upload is ever served.
    return Path(settings.VAR_DIR) / "pending-imports"


def _zip_limits(owner=None, *, exclude_pending_id=None) -> safezip.ZipLimits:
    """What an archive may unpack to: the configured cap, or the owner's free quota if less."""
    max_bytes = settings.LECTERN_IMPORT_MAX_UNPACKED_MB * 1024 * 1024
    if owner is not None:
        free = teacher_storage_use(owner, exclude_pending_id=exclude_pending_id).free_bytes
        if free is not None:
            max_bytes = min(max_bytes, free)
    return safezip.ZipLimits(max_total_bytes=max(max_bytes, 1 << 20))


def _safe_file_name(name: str, default: str) -> str:
    stem, dot, ext = Path(name).name.rpartition(".")
    cleaned = slugify(stem, allow_unicode=True)[:80] or default
    return f"{cleaned}.{slugify(ext)}" if dot else cleaned


def pending_imports_expire(*, now: datetime | None = None) -> int:
    """Remove pending imports older than LECTERN_PENDING_IMPORT_TTL_H with their folders, and
    end imports whose worker stopped (past the import time limit); returns how many went."""
    now = now or timezone.now()
    ttl = timedelta(hours=settings.LECTERN_PENDING_IMPORT_TTL_H)
    stale = list(PendingImport.objects.filter(created_at__lt=now - ttl))
    for pending in stale:
        pending_import_discard(pending=pending)
    stopped_before = now - timedelta(seconds=settings.LECTERN_IMPORT_TIME_LIMIT_S + 60)
    for pending in PendingImport.objects.filter(
        status=ImportStatus.PARSING, updated_at__lt=stopped_before
    ):
        pending_import_fail(
            pending_id=pending.pk, message=_("The import stopped before it ended. Try again.")
        )
    return len(stale)


def storage_clean_up(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic clean-up every worker runs (courses.tasks.start_storage_clean_up).

    Removes expired pending imports, working folders no pending import owns, and render
    staging folders older than LECTERN_STAGING_TTL_H whose job is not queued or running
    (a killed render's). Returns how many of each went.
    """
    from courses.rendering import RENDERS_DIR

    now = now or timezone.now()
    cutoff_ts = (now - timedelta(hours=settings.LECTERN_STAGING_TTL_H)).timestamp()
    done = {"pending_imports": pending_imports_expire(now=now), "folders": 0, "staging": 0}
    root = _pending_imports_root()
    owned = {Path(folder).name for folder in PendingImport.objects.values_list("folder", flat=True)}
    for folder in root.iterdir() if root.is_dir() else ():
        if folder.name not in owned and _older_than(folder, cutoff_ts):
            safezip.remove_tree(folder)
            done["folders"] += 1
    active = {
        str(pk)
        for pk in RenderJob.objects.filter(status__in=ACTIVE_RENDER_STATUSES).values_list(
            "pk", flat=True
        )
    }
    renders = Path(settings.MEDIA_ROOT) / RENDERS_DIR
    for folder in renders.glob(".staging-*") if renders.is_dir() else ():
        job_id = folder.name.removeprefix(".staging-").split("-", 1)[0]
        if job_id not in active and _older_than(folder, cutoff_ts):
            shutil.rmtree(folder, ignore_errors=True)
            done["staging"] += 1
    if any(done.values()):
        logger.info("storage clean-up: %s", done)
    return done


def _older_than(path: Path, timestamp: float) -> bool:
    try:
        return path.stat().st_mtime < timestamp
    except OSError:
        return False


def pending_import_create(
    *,
    owner,
    course: Course,
    source: UploadedFile | Path,
    kind: str,
    language: str | None = None,
) -> PendingImport:
    """Parse an upload (or a local file/folder) into a pending import; nothing else is saved.

    Raises LessonImportError with a message naming the problem; its working folder is
    removed then, so a failed import leaves nothing behind. The web pages use
    `pending_import_start` instead, which leaves the parsing to a worker.
    """
    pending_imports_expire()
    pending_id = uuid.uuid4()
    workdir = _pending_imports_root() / str(pending_id)
    workdir.mkdir(parents=True)
    try:
        result, source_name = _parse_source(
            source,
            kind=kind,
            workdir=workdir,
            language=language,
            limits=_zip_limits(owner),
        )
        return PendingImport.objects.create(
            id=pending_id,
            owner=owner,
            course=course,
            kind=kind,
            source_name=source_name[:255],
            title=result.title[:200] or source_name[:200],
            language=result.language,
            attribution=result.attribution,
            folder=str(workdir),
            scenes=[scene.as_json() for scene in result.scenes],
            warnings=messages_json(result.warnings),
            summary=messages_json(result.summary),
        )
    except BaseException:
        safezip.remove_tree(workdir)
        raise


def _parse_source(
    source: UploadedFile | Path,
    *,
    kind: str,
    workdir: Path,
    language: str | None,
    limits: safezip.ZipLimits,
) -> tuple[ImportResult, str]:
    if kind == ImportKind.FOLDER:
        folder = Path(source)
        result = import_markdown_folder(folder, workdir=workdir, language=language)
        return _capped(_images_reencoded(result, workdir), folder.name), folder.name
    source_name, saved = _save_source(source, workdir=workdir)
    return _parse_saved(
        saved, kind=kind, workdir=workdir, source_name=source_name, language=language,
        limits=limits,
    ), source_name  # fmt: skip


def _save_source(source: UploadedFile | Path, *, workdir: Path) -> tuple[str, Path]:
    """Copy an upload (or a local file) into workdir/source/; returns its name and the copy."""
    source_name = Path(source.name).name
    saved = workdir / "source" / _safe_file_name(source_name, "upload")
    saved.parent.mkdir(parents=True)
    if isinstance(source, Path):
        shutil.copyfile(source, saved)
    else:
        with open(saved, "wb") as out:
            for chunk in source.chunks():
                out.write(chunk)
    return source_name, saved


def _parse_saved(
    saved: Path,
    *,
    kind: str,
    workdir: Path,
    source_name: str,
    language: str | None,
    limits: safezip.ZipLimits,
    progress: ImportProgress = no_progress,
) -> ImportResult:
    result = parse_upload(
        saved,
        kind=kind,
        workdir=workdir,
        source_name=source_name,
        language=language,
        limits=limits,
        progress=progress,
    )
    if not result.scenes:
        raise LessonImportError(
            Message(gettext_noop("'%(name)s' has nothing to import."), name=source_name)
        )
    return _capped(_images_reencoded(result, workdir), source_name)


def _images_reencoded(result: ImportResult, workdir: Path) -> ImportResult:
    """Every imported image re-encoded under a generated name (`image_reencoded`), here in
    the worker, so the confirm (a web request) only copies files; an image that cannot be
    decoded is left out, removed and said so."""
    root = workdir.resolve()
    clean_dir = workdir / "images-clean"
    done: dict[Path, str | None] = {}  # scenes may share an image
    scenes, warnings = [], []
    for number, scene in enumerate(result.scenes, 1):
        if scene.image_path:
            path = (workdir / scene.image_path).resolve()
            if path not in done:
                done[path] = None
                if path.is_relative_to(root) and path.is_file():
                    try:
                        if is_svg(path):
                            # Drawn now, as the scene editor's form draws one: an SVG the
                            # renderer would refuse (entities, too complex) is left out here.
                            load_image(path)
                        clean = image_reencoded(path)
                    except ImageLoadError as error:
                        warnings.append(
                            Message(
                                gettext_noop(
                                    "Scene %(number)s: its image was left out: %(reason)s"
                                ),
                                number=number,
                                reason=error,
                            )
                        )
                    else:
                        clean_dir.mkdir(exist_ok=True)
                        (clean_dir / clean.file_name).write_bytes(clean.data)
                        done[path] = f"{clean_dir.name}/{clean.file_name}"
            scene = dataclasses.replace(scene, image_path=done[path])
        scenes.append(scene)
    for path in done:
        # The teacher's bytes leave the working folder, a left-out image's too (never a file
        # outside the folder, which an image path may name).
        if path.is_relative_to(root) and path.is_file() and path.parent != clean_dir.resolve():
            path.unlink()
    return dataclasses.replace(result, scenes=tuple(scenes)).with_warnings(warnings)


def _capped(result: ImportResult, source_name: str) -> ImportResult:
    """The result with every narration over LECTERN_MAX_NARRATION_CHARS split (and said so)."""
    scenes, warnings = split_long_narration(
        result.scenes, max_chars=settings.LECTERN_MAX_NARRATION_CHARS, source_name=source_name
    )
    if not warnings:
        return result
    return dataclasses.replace(result, scenes=scenes).with_warnings(warnings)


def pending_import_start(
    *, owner, course: Course, upload: UploadedFile, kind: str, language: str | None = None
) -> PendingImport:
    """Keep an upload in a new pending import and queue a worker to read it.

    The pending import is `parsing` until the worker ends (`pending_import_run`); the page
    polls its progress. Refused (ValidationError) when the file would pass the quota.
    """
    quota_check(owner, adding_bytes=upload.size or 0, what=_("this import"))
    pending_imports_expire()
    pending_id = uuid.uuid4()
    workdir = _pending_imports_root() / str(pending_id)
    workdir.mkdir(parents=True)
    try:
        source_name, _saved = _save_source(upload, workdir=workdir)
        pending = PendingImport.objects.create(
            id=pending_id,
            owner=owner,
            course=course,
            kind=kind,
            source_name=source_name[:255],
            title=Path(source_name).stem[:200],
            language=language or course.language,
            folder=str(workdir),
            status=ImportStatus.PARSING,
            stage="queued",
        )
    except BaseException:
        safezip.remove_tree(workdir)
        raise
    language_requested = language or ""
    ui_language = translation.get_language() or settings.LANGUAGE_CODE
    transaction.on_commit(
        lambda: _send_import_task(str(pending.pk), language_requested, ui_language)
    )
    return pending


def _send_import_task(pending_id: str, language: str, ui_language: str) -> None:
    from courses.tasks import import_lesson_file

    import_lesson_file.apply_async((pending_id, language, ui_language))


def pending_import_run(*, pending_id, language: str = "") -> PendingImport | None:
    """Read the upload of a `parsing` pending import (in a worker), recording progress.

    Ends `ready` with its scenes, or `failed` with the importer's message; either way the
    uploaded file is removed, and a failed import's other files too. Returns None when the
    pending import is gone (discarded meanwhile) or already ended.
    """
    pending = PendingImport.objects.filter(pk=pending_id, status=ImportStatus.PARSING).first()
    if pending is None:
        return None
    workdir = Path(pending.folder)
    saved = next((workdir / "source").glob("*"), None)
    if saved is None:
        return pending_import_fail(
            pending_id=pending.pk, message=_("The uploaded file is gone. Upload it again.")
        )

    def progress(stage: str, step: int, step_count: int) -> None:
        PendingImport.objects.filter(pk=pending.pk, status=ImportStatus.PARSING).update(
            stage=stage[:20], step=step, step_count=step_count, updated_at=timezone.now()
        )

    try:
        result = _parse_saved(
            saved,
            kind=pending.kind,
            workdir=workdir,
            source_name=pending.source_name,
            language=language or None,
            limits=_zip_limits(pending.owner, exclude_pending_id=pending.pk),
            progress=progress,
        )
        safezip.remove_tree(workdir / "source")
        use = teacher_storage_use(pending.owner, exclude_pending_id=pending.pk)
        added = folder_bytes(workdir)
        if use.quota_bytes and use.used_bytes + added > use.quota_bytes:
            raise LessonImportError(
                quota_exceeded_message(use, adding_bytes=added, what=_("this import"))
            )
    except LessonImportError as error:
        return pending_import_fail(pending_id=pending.pk, message=error_text(error))
    except BaseException:
        pending_import_fail(
            pending_id=pending.pk,
            message=_("The import failed unexpectedly. Try again, or try another file."),
        )
        raise
    updated = PendingImport.objects.filter(pk=pending.pk, status=ImportStatus.PARSING).update(
        title=result.title[:200] or pending.source_name[:200],
        language=result.language,
        attribution=result.attribution,
        scenes=[scene.as_json() for scene in result.scenes],
        warnings=messages_json(result.warnings),
        summary=messages_json(result.summary),
        status=ImportStatus.READY,
        stage="",
        error="",
        updated_at=timezone.now(),
    )
    if not updated:  # discarded while it was read
        safezip.remove_tree(workdir)
        return None
    return PendingImport.objects.get(pk=pending.pk)


def pending_import_fail(*, pending_id, message: str) -> PendingImport | None:
    """End a pending import as failed with a message for the teacher; its files are removed."""
    pending = PendingImport.objects.filter(pk=pending_id).first()
    if pending is None:
        return None
    safezip.remove_tree(Path(pending.folder))
    PendingImport.objects.filter(pk=pending.pk).update(
        status=ImportStatus.FAILED, error=message, stage="", scenes=[], updated_at=timezone.now()
    )
    pending.refresh_from_db()
    return pending


def pending_import_scenes(pending: PendingImport) -> list[ImportedScene]:
    return [ImportedScene.from_json(data) for data in pending.scenes]


def pending_import_confirm(*, pending: PendingImport, user, title: str = "") -> Lesson:
    """Turn a reviewed import into a lesson with one draft version, then drop the pending one."""
    scenes = pending_import_scenes(pending)
    [lesson] = _lessons_from_import(pending, user, [((title or pending.title), scenes)])
    return lesson


def pending_import_series(pending: PendingImport) -> list[SeriesPart]:
    """The series the review page proposes (one lesson per top-level section) when the
    material would narrate for more than about 12 minutes; empty when one lesson is right."""
    scenes = pending_import_scenes(pending)
    return series_proposal(
        [scene.title for scene in scenes],
        [narration_estimate_s(scene.narration, scene.language) for scene in scenes],
        pending.language,
        kinds=[scene.kind for scene in scenes],
    )


def pending_import_confirm_series(*, pending: PendingImport, user, title: str = "") -> list[Lesson]:
    """Turn a reviewed import into one lesson per proposed part, in order, in its course,
    titled "<title> — <n>. <section>"; every scene lands in exactly one of them."""
    parts = pending_import_series(pending)
    if not parts:
        raise ValidationError(_("This material is short enough for one lesson."))
    scenes = pending_import_scenes(pending)
    base = title or pending.title
    groups = [
        (
            _("%(lesson)s — %(number)s. %(section)s")
            % {"lesson": base, "number": part.number, "section": part.title},
            scenes[part.first : part.end],
        )
        for part in parts
    ]
    return _lessons_from_import(pending, user, groups)


def _lessons_from_import(
    pending: PendingImport, user, groups: Sequence[tuple[str, Sequence[ImportedScene]]]
) -> list[Lesson]:
    """A lesson with one draft version per (title, scenes) group; the pending import goes."""
    folder = Path(pending.folder)
    saved_files: list = []
    lessons: list[Lesson] = []
    try:
        with transaction.atomic():
            for title, scenes in groups:
                lesson = lesson_create(
                    course=pending.course,
                    title=title[:200],
                    created_by=user,
                    language=pending.language,
                )
                version = lesson.versions.get()
                version.attribution = pending.attribution
                version.import_report = {
                    "kind": pending.kind,
                    "source": pending.source_name,
                    "summary": pending.summary,
                    "warnings": pending.warnings,
                }
                version.save(update_fields=["attribution", "import_report"])
                for position, imported in enumerate(scenes):
                    scene = _scene_from_import(
                        imported, version=version, position=position, folder=folder
                    )
                    if scene.image:
                        saved_files.append(scene.image)
                lessons.append(lesson)
            pending.delete()
    except BaseException:
        # The rows rolled back; remove image files already copied into media.
        for field_file in saved_files:
            field_file.storage.delete(field_file.name)
        raise
    transaction.on_commit(lambda: safezip.remove_tree(folder))
    return lessons


def _scene_from_import(
    imported: ImportedScene, *, version: LessonVersion, position: int, folder: Path
) -> Scene:
    """A scene row for an imported scene; its image was re-encoded under a generated name
    when the import was read (`_images_reencoded`), so it is only copied here."""
    scene = Scene(
        version=version,
        position=position,
        kind=imported.kind,
        title=imported.title[:300],
        body=imported.body,
        subtitle="" if imported.kind == SceneKind.TITLE else imported.subtitle[:300],
        code=imported.code,
        code_language=imported.code_language[:40],
        math=list(imported.math),
        image_alt=imported.image_alt[:500],
        narration=imported.narration,
        narration_sources=[source_json(source) for source in imported.sources],
        language=imported.language if imported.language in ("en", "zh") else version.language,
        role=imported.role,
    )
    if imported.image_path:
        image_file = (folder / imported.image_path).resolve()
        if image_file.is_relative_to(folder.resolve()) and image_file.is_file():
            with open(image_file, "rb") as handle:
                scene.image.save(image_file.name, File(handle), save=False)
    if scene.kind == SceneKind.IMAGE and not scene.image:
        scene.kind = SceneKind.TEXT
    scene.full_clean()
    scene.save()
    if imported.concepts:
        scene.concepts.set(
            concepts_for_names(course=version.lesson.course, names=imported.concepts)
        )
    return scene


def pending_import_discard(*, pending: PendingImport) -> None:
    """Forget a pending import and remove its working folder."""
    folder = Path(pending.folder)
    pending.delete()
    safezip.remove_tree(folder)


def course_for_command(*, owner, slug: str) -> Course:
    """The owner's course with this slug, created (titled after the slug) when missing."""
    course = Course.objects.filter(slug=slug).first()
    if course is None:
        return course_create(owner=owner, title=slug.replace("-", " ").title(), slug=slug)
    if course.owner_id != owner.pk:
        raise ValidationError(_("Course '%(slug)s' belongs to someone else.") % {"slug": slug})
    return course


# Rendering ------------------------------------------------------------------------------

RENDER_SIZES = {
    "tiny": (256, 144, 15),
    "small": (640, 360, 24),
    "hd": (1280, 720, 30),
    "full-hd": (1920, 1080, 30),
}
RENDER_QUALITIES = ("draft", "standard", "high")


def lesson_version_render_enqueue(
    *, version: LessonVersion, user, size: str = "hd", quality: str = "standard"
) -> RenderJob:
    """Queue a render of this version, or return the one already queued or running."""
    if not version.accepts_renders:
        # Students are shown the render a moderator reviewed and publishing checked and signed.
        raise ValidationError(
            _(
                "This version was sent to moderation, so its video no longer changes. "
                "Edit the lesson to make a new version, and render that."
            )
        )
    if size not in RENDER_SIZES or quality not in RENDER_QUALITIES:
        raise ValidationError(_("Unknown video size or quality."))
    scene_count = version.scenes.count()
    if scene_count == 0:
        raise ValidationError(_("This version has no scenes yet; add one before rendering."))
    lesson_version_render_check_caps(version=version, user=user, size=size)
    with transaction.atomic():
        LessonVersion.objects.select_for_update().filter(pk=version.pk).first()
        running = active_render_job(version)
        if running is not None:
            return running
        width_px, height_px, fps = RENDER_SIZES[size]
        job = RenderJob.objects.create(
            version=version,
            requested_by=user,
            status=RenderStatus.QUEUED,
            stage="queued",
            scene_count=scene_count,
            width_px=width_px,
            height_px=height_px,
            fps=fps,
            quality=quality,
        )
        transaction.on_commit(lambda: _send_render_task(job.pk))
    return job


def lesson_version_render_check_caps(*, version: LessonVersion, user, size: str) -> None:
    """Refuse (ValidationError) a render whose narration or length passes the caps, or whose
    output would pass the owner's storage quota; every reason is named."""
    from courses.estimates import lesson_estimate_s

    scenes = list(version.scenes.order_by("position", "id"))
    reasons = []
    max_chars = settings.LECTERN_MAX_NARRATION_CHARS
    for number, scene in enumerate(scenes, 1):
        if max_chars and len(scene.narration) > max_chars:
            reasons.append(
                _(
                    "Scene %(number)s (“%(title)s”) has %(count)s characters of narration; a "
                    "scene may have at most %(limit)s. Split it before rendering."
                )
                % {
                    "number": number,
                    "title": scene.title or scene.get_kind_display(),
                    "count": len(scene.narration),
                    "limit": max_chars,
                }
            )
    estimate_s = lesson_estimate_s((scene.narration, scene.language) for scene in scenes)
    max_minutes = settings.LECTERN_MAX_LESSON_MINUTES
    if max_minutes and estimate_s > max_minutes * 60:
        reasons.append(
            _(
                "This lesson would last about %(minutes)s minutes; a video may last at most "
                "%(limit)s minutes. Split it into several lessons."
            )
            % {"minutes": round(estimate_s / 60), "limit": f"{max_minutes:g}"}
        )
    if reasons:
        raise ValidationError(reasons)
    owner = version.lesson.course.owner
    quota_check(
        owner,
        adding_bytes=render_output_estimate_bytes(duration_s=estimate_s, size=size),
        what=_("this render"),
    )


def _send_render_task(job_id: int) -> None:
    from courses.tasks import render_lesson_version

    render_lesson_version.apply_async((job_id,), queue=settings.LECTERN_RENDER_QUEUE)


def render_job_cancel(*, job: RenderJob, user) -> RenderJob:
    """Ask a render to stop; one still waiting in the queue, or whose worker is gone, ends
    at once (nothing else would end it)."""
    from courses.progress import render_job_broadcast, render_job_worker_gone
    from courses.rendering import render_job_remove_staging

    with transaction.atomic():
        job = RenderJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in ACTIVE_RENDER_STATUSES:
            return job
        job.cancel_requested = True
        fields = ["cancel_requested", "updated_at"]
        if job.status == RenderStatus.QUEUED or render_job_worker_gone(job):
            job.status = RenderStatus.CANCELLED
            job.stage = "cancelled"
            job.finished_at = timezone.now()
            fields += ["status", "stage", "finished_at"]
            job_id = job.pk
            transaction.on_commit(lambda: render_job_remove_staging(job_id))
        job.save(update_fields=fields)
    render_job_broadcast(job)
    return job


def render_jobs_reap(*, now: datetime | None = None) -> dict[int, str]:
    """Requeue or end the running jobs whose worker is gone, so "running" means running.

    A job with attempts left goes back to the queue (stage "requeued") and its task is sent
    again; one whose worker stopped LECTERN_RENDER_MAX_ATTEMPTS times fails with that reason;
    one the teacher asked to cancel is cancelled. Each change is conditional on the row as
    read, so reapers on several workers may run at once. Returns {job id: what was done}.
    """
    from courses.progress import render_job_broadcast, render_job_worker_gone
    from courses.rendering import render_job_end, render_job_remove_staging, worker_stopped_reason

    now = now or timezone.now()
    done: dict[int, str] = {}
    for job in RenderJob.objects.filter(status=RenderStatus.RUNNING):
        if not render_job_worker_gone(job, now=now):
            continue
        worker, attempts = job.worker or "(unknown)", job.attempts
        as_read = RenderJob.objects.filter(
            pk=job.pk, status=job.status, attempts=job.attempts, heartbeat_at=job.heartbeat_at
        )
        if job.cancel_requested:
            done[job.pk] = render_job_end(job, as_read, RenderStatus.CANCELLED, now=now)
        elif job.attempts >= settings.LECTERN_RENDER_MAX_ATTEMPTS:
            error = worker_stopped_reason(job.attempts)
            done[job.pk] = render_job_end(job, as_read, RenderStatus.FAILED, error=error, now=now)
        else:
            # Sent before the row changes: a failed send leaves the job for the next sweep,
            # and a delivery that comes first simply takes the job over itself.
            _send_render_task(job.pk)
            if as_read.update(
                status=RenderStatus.QUEUED, stage="requeued", worker="", heartbeat_at=None,
                updated_at=now,
            ):  # fmt: skip
                job.status, job.stage, job.worker, job.heartbeat_at = "queued", "requeued", "", None
                render_job_remove_staging(job.pk)
                render_job_broadcast(job)
            done[job.pk] = "requeued"
        logger.warning(
            "render job %s: its worker %s stopped (attempt %d); %s",
            job.pk, worker, attempts, done[job.pk],
        )  # fmt: skip
    return done
