"""Build the synthesis storyboard (plain frozen dataclasses) from a lesson version's rows."""

from __future__ import annotations

from pathlib import Path

from courses.models import Checkpoint, LessonVersion, Scene, SceneKind
from synthesis import storyboard as sb
from synthesis.content_hash import checkpoint_json


def storyboard_from_version(version: LessonVersion) -> sb.Storyboard:
    """The version's scenes in order, as the renderer reads them.

    An image scene whose file is missing becomes a text slide with a warning naming the
    scene, so a render never stops on a lost upload.
    """
    warnings: list[str] = []
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


def _scene(row: Scene, *, number: int, warnings: list[str]) -> sb.Scene:
    return sb.Scene(
        id=f"s{number:02d}",
        visual=_visual(row, number=number, warnings=warnings),
        narration=row.narration,
        language=row.language,
        concepts=tuple(concept.slug for concept in row.concepts.all()),
        role=row.role,
        sources=tuple(
            sb.SourceRef(
                file=source["file"],
                paragraph=source.get("paragraph"),
                page=source.get("page"),
                slide=source.get("slide"),
            )
            for source in row.narration_sources
            if source.get("file")
        ),
        checkpoint=checkpoint_json(checkpoint_plain(_checkpoint(row))),
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


def _checkpoint(row: Scene) -> Checkpoint | None:
    try:
        return row.checkpoint
    except Checkpoint.DoesNotExist:
        return None


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _visual(row: Scene, *, number: int, warnings: list[str]) -> sb.Visual:
    if row.kind == SceneKind.TITLE:
        return sb.Visual("title", title=row.title, subtitle=" ".join(_lines(row.body)))
    if row.kind == SceneKind.CODE:
        return sb.Visual("code", title=row.title, code=row.code, code_language=row.code_language)
    if row.kind == SceneKind.IMAGE:
        path = Path(row.image.path) if row.image else None
        if path is not None and path.is_file():
            return sb.Visual("image", title=row.title, image_path=str(path), alt=row.image_alt)
        warnings.append(
            f"scene {number}: its image "
            f"{'(' + row.image.name + ') ' if row.image else ''}is missing; "
            "showing a text slide instead"
        )
    return sb.Visual(
        "text", title=row.title, bullets=_lines(row.body), math=tuple(row.math), alt=row.image_alt
    )
