"""Build the synthesis storyboard (plain frozen dataclasses) from a lesson version's rows."""

from __future__ import annotations

from courses.models import Checkpoint, LessonVersion, Scene, SceneKind
from courses.selectors import scene_checkpoint
from courses.storage import local_media_path
from lessonimport.draft import source_from_json
from synthesis import storyboard as sb
from synthesis.content_hash import checkpoint_json
from synthesis.messages import Message, gettext_noop


def storyboard_from_version(version: LessonVersion) -> sb.Storyboard:
    """The version's scenes in order, as the renderer reads them.

    An image scene whose file is missing becomes a text slide with a warning naming the
    scene, so a render never stops on a lost upload.
    """
    warnings: list[Message] = []
    rows = (
        version.scenes.select_related("checkpoint")
        .prefetch_related("concepts", "checkpoint__choices")
        .order_by("position", "id")
    )
    scenes = tuple(
        _scene(row, number=number, warnings=warnings) for number, row in enumerate(rows, start=1)
    )
    return sb.Storyboard(
        title=version.lesson.title,
        language=version.language,
        scenes=scenes,
        warnings=tuple(warnings),
        attribution=version.attribution,
    )


def _scene(row: Scene, *, number: int, warnings: list[Message]) -> sb.Scene:
    return sb.Scene(
        id=f"s{number:02d}",
        visual=_visual(row, number=number, warnings=warnings),
        narration=row.narration,
        language=row.language,
        concepts=tuple(concept.slug for concept in row.concepts.all()),
        role=row.role,
        # Every entry, its sentence too: the manifest pairs sources with sentences by it.
        sources=tuple(source_from_json(source) for source in row.narration_sources),
        checkpoint=checkpoint_json(checkpoint_plain(scene_checkpoint(row))),
    )


def checkpoint_plain(checkpoint: Checkpoint | None) -> dict | None:
    """The question students see after the scene, as plain data; None when there is none.

    A generated draft the teacher has not accepted is never shown, so it does not count.
    """
    if checkpoint is None or not checkpoint.accepted:
        return None
    return {
        "prompt": checkpoint.prompt.strip(),
        "choices": [[choice.text, choice.is_correct] for choice in checkpoint.choices.all()],
        "explanation": checkpoint.explanation.strip(),
    }


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _visual(row: Scene, *, number: int, warnings: list[Message]) -> sb.Visual:
    """The row's visual; a title card's subtitle is its body, any other slide's its own."""
    if row.kind == SceneKind.TITLE:
        return sb.Visual("title", title=row.title, subtitle=" ".join(_lines(row.body)))
    common = {"title": row.title, "subtitle": row.subtitle}
    if row.kind == SceneKind.CODE:
        return sb.Visual("code", **common, code=row.code, code_language=row.code_language)
    if row.kind == SceneKind.IMAGE:
        path = local_media_path(row.image.name) if row.image else None
        if path is not None and path.is_file():
            return sb.Visual("image", **common, image_path=str(path), alt=row.image_alt)
        if row.image:
            warnings.append(
                Message(
                    gettext_noop(
                        "scene %(number)s: its image (%(image)s) is missing; "
                        "showing a text slide instead"
                    ),
                    number=number,
                    image=row.image.name,
                )
            )
        else:
            warnings.append(
                Message(
                    gettext_noop(
                        "scene %(number)s: its image is missing; showing a text slide instead"
                    ),
                    number=number,
                )
            )
    return sb.Visual(
        "text", **common, bullets=_lines(row.body), math=tuple(row.math), alt=row.image_alt
    )
