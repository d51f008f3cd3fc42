"""Markdown lesson import: a lesson folder (or a .zip of one) read by the synthesis engine.

The zip is unpacked with every safety check first (see safezip); then the folder goes to
`synthesis.markdown.import_lesson_folder`, the same reader the command-line renderer uses.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from lessonimport import safezip
from lessonimport.draft import (
    ImportedScene,
    ImportProgress,
    ImportResult,
    no_progress,
)
from synthesis import storyboard as sb
from synthesis.errors import LessonImportError
from synthesis.messages import Message, gettext_noop
from synthesis.sentences import split_sentences

LESSON_FILE = "lesson.md"
# Folders that archivers add and that are never part of a lesson.
_ARCHIVER_CLUTTER = {"__MACOSX", ".DS_Store"}


def import_markdown_zip(
    path: Path,
    *,
    workdir: Path,
    source_name: str,
    language: str | None = None,
    limits: safezip.ZipLimits = safezip.DEFAULT_LIMITS,
    progress: ImportProgress = no_progress,
) -> ImportResult:
    """Unpack a zipped lesson folder safely into workdir/lesson and import it."""
    unpacked = workdir / "lesson"
    unpacked.mkdir(parents=True)
    safezip.extract(path, unpacked, name=source_name, limits=limits, progress=progress)
    folder = _lesson_root(unpacked, source_name)
    progress("reading", 0, 0)
    return _import_folder(folder, workdir=workdir, source_name=source_name, language=language)


def import_markdown_folder(
    folder: Path, *, workdir: Path, language: str | None = None
) -> ImportResult:
    """Copy a lesson folder on this machine into workdir/lesson and import it."""
    if not (folder / LESSON_FILE).is_file():
        raise LessonImportError(
            Message(gettext_noop("'%(folder)s' has no %(file)s."), folder=folder, file=LESSON_FILE)
        )
    copy = workdir / "lesson"
    # Links are copied as links and never followed out of the lesson.
    shutil.copytree(folder, copy, symlinks=True)
    return _import_folder(copy, workdir=workdir, source_name=folder.name, language=language)


def _lesson_root(unpacked: Path, source_name: str) -> Path:
    if (unpacked / LESSON_FILE).is_file():
        return unpacked
    entries = [entry for entry in unpacked.iterdir() if entry.name not in _ARCHIVER_CLUTTER]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / LESSON_FILE).is_file():
        return entries[0]
    raise LessonImportError(
        Message(
            gettext_noop(
                "'%(name)s' has no %(file)s at its top level or inside a single folder; "
                "zip the lesson folder itself."
            ),
            name=source_name,
            file=LESSON_FILE,
        )
    )


def _import_folder(
    folder: Path, *, workdir: Path, source_name: str, language: str | None
) -> ImportResult:
    from synthesis.markdown import import_lesson_folder

    storyboard = import_lesson_folder(folder, language=language)
    warnings: list[Message | str] = list(storyboard.warnings)
    scenes = tuple(
        _imported_scene(scene, workdir=workdir, warnings=warnings) for scene in storyboard.scenes
    )
    if not scenes:
        raise LessonImportError(
            Message(
                gettext_noop("'%(name)s' has no scenes: %(file)s is empty."),
                name=source_name,
                file=LESSON_FILE,
            )
        )
    images = sum(1 for scene in scenes if scene.image_path)
    summary = (
        Message(
            gettext_noop("%(file)s became %(scenes)s scenes, %(images)s of them showing an image."),
            file=LESSON_FILE,
            scenes=len(scenes),
            images=images,
        ),
    )
    return ImportResult(
        title=storyboard.title or folder.name,
        language=storyboard.language,
        scenes=scenes,
        warnings=tuple(warnings),
        attribution=storyboard.attribution,
        summary=summary,
    )


def _imported_scene(
    scene: sb.Scene, *, workdir: Path, warnings: list[Message | str]
) -> ImportedScene:
    visual = scene.visual
    image_path = None
    if visual.image_path:
        image = Path(visual.image_path).resolve()
        if image.is_relative_to(workdir.resolve()) and image.is_file():
            image_path = image.relative_to(workdir.resolve()).as_posix()
        else:
            warnings.append(
                Message(
                    gettext_noop(
                        "Scene '%(scene)s': image '%(image)s' is not inside the lesson folder "
                        "and was left out."
                    ),
                    scene=visual.title or scene.id,
                    image=visual.image_path,
                )
            )
    return ImportedScene(
        kind=visual.kind if image_path or visual.kind != "image" else "text",
        title=visual.title,
        subtitle=visual.subtitle,
        bullets=visual.bullets,
        code=visual.code,
        code_language=visual.code_language,
        math=visual.math,
        image_path=image_path,
        image_alt=visual.alt,
        narration=scene.narration,
        sources=sentence_sources(scene),
        language=scene.language,
        concepts=scene.concepts,
        role=scene.role,
    )


def sentence_sources(scene: sb.Scene) -> tuple[sb.SourceRef, ...]:
    """One source per narrated sentence, exactly as the reader reported them.

    synthesis.markdown gives one SourceRef per sentence of the narration, in order, each
    naming its sentence. Should the two ever disagree, sentences are paired with sources
    by their words, never by position: a sentence with no source of its own gets none.
    """
    sentences = split_sentences(scene.narration, scene.language)
    refs: list[sb.SourceRef | None] = list(scene.sources)
    if [ref.sentence for ref in scene.sources] != sentences:
        by_sentence = {ref.sentence: ref for ref in scene.sources if ref.sentence}
        refs = [by_sentence.get(sentence) for sentence in sentences]
    return tuple(
        replace(ref, sentence=sentence) if ref else sb.SourceRef("", sentence=sentence)
        for sentence, ref in zip(sentences, refs, strict=True)
    )
