"""Lesson Markdown folder (lesson.md + images) -> Storyboard; see docs/markdown-mapping.md.

`import_lesson_folder` reads and checks the files; markdown_source tidies d2l/Pandoc
syntax, markdown_blocks parses, markdown_scenes plans the scenes, and this module checks
each image cheaply (path inside the folder, exists, right kind) and builds the Scenes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import yaml

from synthesis.errors import LessonImportError
from synthesis.markdown_blocks import (
    Block,
    Directive,
    Heading,
    ParagraphNumbering,
    Text,
    front_matter_text,
    parse_blocks,
)
from synthesis.markdown_math import join_words
from synthesis.markdown_pacing import pace
from synthesis.markdown_scenes import (
    AutoPlanner,
    SceneDraft,
    Spoken,
    bullet_text,
    end_sentence,
    plan_explicit,
    without_instructor_notes,
)
from synthesis.markdown_source import (
    detect_language,
    normalise_language,
    prepare_source,
    read_lesson_text,
)
from synthesis.messages import Message, gettext_noop
from synthesis.sentence_parts import sentences_with_parts
from synthesis.storyboard import Scene, SourceRef, Storyboard, Visual

LESSON_FILE = "lesson.md"
SOURCE_FILE = "SOURCE.json"
IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".webp": "WebP"}
IMAGE_SUFFIXES[".svg"] = "SVG"
_MAGIC = {
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "JPEG": (b"\xff\xd8\xff",),
    "GIF": (b"GIF87a", b"GIF89a"),
}
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def import_lesson_folder(folder: Path, *, language: str | None = None) -> Storyboard:
    """Build a storyboard from a lesson folder; warnings name the scene and the file."""
    # An empty choice ("" from a form's "automatic" option) means: find out.
    requested = normalise_language(language) if language and language.strip() else None
    folder = Path(folder)
    lesson_path = _lesson_file(folder)
    text = read_lesson_text(lesson_path)
    warnings: list[Message] = []
    front_matter_source, body = front_matter_text(text)
    front_matter = _front_matter(front_matter_source, lesson_path.name, warnings)
    language = requested or _front_matter_language(front_matter, lesson_path.name)
    language = language or detect_language(body)

    prepared, source_lines = prepare_source(body, language)
    # Paragraph numbers count the file's own paragraphs; counting the prepared text's
    # is the same (and skips a second parse) when preparing changed nothing.
    numbering = None if prepared == body else ParagraphNumbering.of(body, source_lines)
    blocks = without_instructor_notes(parse_blocks(prepared, language, numbering=numbering))
    title, title_index, title_in_lesson = _lesson_title(front_matter, blocks, folder)
    if _has_slide_breaks(blocks):
        drafts, plan_warnings = plan_explicit(blocks, language=language, title=title)
    else:
        planner = AutoPlanner(blocks, language=language, title=title)
        drafts = planner.plan(
            title_card=title, skip_index=title_index, title_in_lesson=title_in_lesson
        )
        plan_warnings = planner.warnings
        drafts = pace(drafts, language)
    warnings.extend(
        Message(gettext_noop("%(file)s: %(problem)s"), file=lesson_path.name, problem=warning)
        for warning in plan_warnings
    )

    scenes, scene_warnings = _scenes(
        drafts, folder=folder, lesson_name=lesson_path.name, language=language
    )
    warnings.extend(scene_warnings)
    if not any(_narrated_from_lesson(draft) for draft in drafts):
        raise LessonImportError(Message(gettext_noop("the lesson has no narratable text")))
    return Storyboard(
        title=title,
        language=language,
        scenes=tuple(scenes),
        warnings=tuple(warnings),
        attribution=_attribution(folder, front_matter, warnings),
    )


def _lesson_file(folder: Path) -> Path:
    if not folder.exists():
        raise LessonImportError(
            Message(gettext_noop("lesson folder '%(folder)s' does not exist"), folder=folder)
        )
    if not folder.is_dir():
        raise LessonImportError(
            Message(
                gettext_noop("'%(folder)s' is not a folder; choose the folder holding lesson.md"),
                folder=folder,
            )
        )
    lesson = folder / LESSON_FILE
    if lesson.is_file():
        return lesson
    markdown_files = sorted(p for p in folder.glob("*.md") if p.is_file())
    if len(markdown_files) == 1:
        return markdown_files[0]
    raise LessonImportError(
        Message(
            gettext_noop("no %(file)s in '%(folder)s'; put the lesson text in %(file)s"),
            file=LESSON_FILE,
            folder=folder,
        )
    )


def _front_matter(source: str | None, file_name: str, warnings: list[Message]) -> dict:
    if not source:
        return {}
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            warnings.append(
                Message(
                    gettext_noop(
                        "%(file)s: the front matter is not valid YAML (line %(line)s); "
                        "it was ignored"
                    ),
                    file=file_name,
                    line=mark.line + 2,
                )
            )
        else:
            warnings.append(
                Message(
                    gettext_noop("%(file)s: the front matter is not valid YAML; it was ignored"),
                    file=file_name,
                )
            )
        return {}
    if not isinstance(data, dict):
        warnings.append(
            Message(
                gettext_noop("%(file)s: the front matter is not a list of 'key: value' lines"),
                file=file_name,
            )
        )
        return {}
    return data


def _front_matter_language(front_matter: dict, file_name: str) -> str | None:
    value = front_matter.get("lang") or front_matter.get("language")
    if value is None:
        return None
    try:
        return normalise_language(str(value))
    except LessonImportError as error:
        raise LessonImportError(
            Message(
                gettext_noop("%(file)s front matter: %(problem)s"),
                file=file_name,
                problem=error.args[0] if error.args else str(error),
            )
        ) from error


def _lesson_title(
    front_matter: dict, blocks: list[Block], folder: Path
) -> tuple[str, int | None, bool]:
    """The title, the index of the heading that gave it, and whether lesson.md holds it.

    That heading is not a section; a title lesson.md does not hold is the folder's name.
    """
    first_heading = next((i for i, b in enumerate(blocks) if isinstance(b, Heading)), None)
    heading = blocks[first_heading] if first_heading is not None else None
    title = front_matter.get("title")
    if isinstance(title, str | int | float) and str(title).strip():
        title = str(title).strip()
        # A first H1 that repeats the front-matter title would be said twice.
        same = isinstance(heading, Heading) and heading.level == 1 and heading.display == title
        return title, first_heading if same else None, True
    if isinstance(heading, Heading) and heading.level == 1:
        return heading.display, first_heading, True
    if isinstance(heading, Heading) and not any(
        isinstance(b, Text) for b in blocks[:first_heading]
    ):
        return heading.display, None, True
    name = folder.resolve().name.replace("-", " ").replace("_", " ").strip().capitalize()
    return name, None, False


def _has_slide_breaks(blocks: list[Block]) -> bool:
    return any(isinstance(block, Directive) and block.name == "slide" for block in blocks)


def _narrated_from_lesson(draft: SceneDraft) -> bool:
    return draft.from_text or (not draft.narration and draft.fallback_is_text)


def _scenes(
    drafts: list[SceneDraft], *, folder: Path, lesson_name: str, language: str
) -> tuple[list[Scene], list[Message]]:
    """The scenes in order, and one warning per problem, each naming its scene."""
    scenes: list[Scene] = []
    warnings: list[Message] = []
    root = folder.resolve()
    for number, draft in enumerate(drafts, start=1):
        problems = list(draft.notes)
        visual = _visual(draft, root=root, problems=problems, language=language)
        parts = [part for part in draft.narration if part.text.strip()]
        if not parts:
            title = Spoken(end_sentence(draft.title, language), from_lesson=False)
            parts = [draft.fallback or title]
            if draft.fallback_note:
                problems.append(draft.fallback_note)
        narration = join_words([part.text for part in parts])
        scene = Scene(
            id=f"s{number:02d}",
            visual=visual,
            narration=narration,
            language=language,
            concepts=draft.concepts,
            role=draft.role,  # type: ignore[arg-type]
            sources=sentence_sources(parts, narration, language=language, file=lesson_name),
        )
        scenes.append(scene)
        warnings.extend(
            Message(gettext_noop("scene %(number)s: %(problem)s"), number=number, problem=problem)
            for problem in problems
        )
    return scenes, warnings


def sentence_sources(
    parts: list[Spoken], narration: str, *, language: str, file: str
) -> tuple[SourceRef, ...]:
    """One SourceRef per sentence of `narration` (joined from `parts`), in order."""
    sources: list[SourceRef] = []
    for sentence, index in sentences_with_parts([p.text for p in parts], narration, language):
        part = parts[index]
        sources.append(
            SourceRef(
                file=file if part.from_lesson else "",
                paragraph=part.paragraph if part.from_lesson else None,
                sentence=sentence,
            )
        )
    return tuple(sources)


def _visual(draft: SceneDraft, *, root: Path, problems: list[Message], language: str) -> Visual:
    if draft.kind == "image" and draft.image is not None:
        image = draft.image
        path, problem = check_image(root, image.src)
        if path is not None:
            caption = image.caption if image.caption and image.caption != image.alt else ""
            return Visual(
                kind="image",
                title=draft.title,
                subtitle=caption,
                image_path=str(path),
                alt=image.alt or image.caption,
            )
        problems.append(
            Message(gettext_noop("%(problem)s; showing a text slide instead"), problem=problem)
        )
        description = image.alt or image.caption
        bullets = (bullet_text(description, language),) if description else ()
        return Visual(kind="text", title=draft.title, bullets=bullets)
    if draft.kind == "code":
        return Visual(
            kind="code", title=draft.title, code=draft.code, code_language=draft.code_language
        )
    return Visual(
        kind=draft.kind,  # type: ignore[arg-type]
        title=draft.title,
        subtitle=draft.subtitle,
        bullets=tuple(draft.bullets),
        math=tuple(draft.math),
    )


def check_image(root: Path, src: str) -> tuple[Path | None, Message | None]:
    """(absolute path, None) for a usable image inside root, else (None, the problem)."""
    shown = src.strip()
    name = unquote(shown.split("#", 1)[0].split("?", 1)[0]).replace("\\", "/").strip()
    if not name:
        return None, Message(gettext_noop("an image has no file name"))
    if _URL_SCHEME.match(name) and not re.match(r"^[A-Za-z]:/", name):
        if name.lower().startswith("data:"):
            return None, Message(
                gettext_noop("an image is embedded as a data: URL; save it as a file in the folder")
            )
        return None, _image_problem(
            gettext_noop("image '%(image)s' is a web address; Lectern does not download images"),
            shown,
        )
    outside = gettext_noop("image '%(image)s' is outside the lesson folder")
    unreadable = gettext_noop("image '%(image)s' cannot be read")
    if PurePosixPath(name).is_absolute() or re.match(r"^[A-Za-z]:/", name):
        return None, _image_problem(outside, shown)
    try:
        path = (root / name).resolve()
    except (OSError, RuntimeError, ValueError):
        return None, _image_problem(unreadable, shown)
    if not path.is_relative_to(root):
        return None, _image_problem(outside, shown)
    if not path.exists():
        return None, _image_problem(gettext_noop("image '%(image)s' not found"), shown)
    if not path.is_file():
        return None, _image_problem(gettext_noop("image '%(image)s' is not a file"), shown)
    kind = IMAGE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        return None, _image_problem(
            gettext_noop("image '%(image)s' is not a PNG, JPEG, GIF, WebP or SVG file"), shown
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(65_536 if kind == "SVG" else 16)
    except OSError:
        return None, _image_problem(unreadable, shown)
    if not _looks_like(kind, head):
        return None, Message(
            gettext_noop("image '%(image)s' is not a valid %(kind)s file"), image=shown, kind=kind
        )
    return path, None


def _image_problem(template: str, shown: str) -> Message:
    return Message(template, image=shown)


def _looks_like(kind: str, head: bytes) -> bool:
    if kind == "SVG":
        return b"<svg" in head.lower()
    if kind == "WebP":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    return head.startswith(_MAGIC[kind])


def _attribution(folder: Path, front_matter: dict, warnings: list[Message]) -> str:
    """SOURCE.json's licence line if there is one, else the front matter's."""
    source = folder / SOURCE_FILE
    if source.is_file():
        try:
            data = json.loads(source.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            warnings.append(
                Message(
                    gettext_noop("%(file)s: not valid JSON; the attribution was left empty"),
                    file=SOURCE_FILE,
                )
            )
            data = {}
        licence = data.get("licence") or data.get("license") if isinstance(data, dict) else None
        if isinstance(licence, str) and licence.strip():
            return licence.strip()
    for key in ("attribution", "licence", "license"):
        value = front_matter.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""
