"""The one draft every importer returns: scenes ready to become rows, and every warning.

An `ImportedScene` carries everything a storyboard scene (`synthesis.storyboard.Scene`)
carries, so a lesson read from a file and the same lesson stored and read back give the
same storyboard. Values are plain and JSON-friendly so a parsed import can wait in the
database (`PendingImport`) while the teacher reviews it. Image paths are relative to the
import's working folder, so the folder can move without breaking them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from synthesis.messages import Message, gettext_noop
from synthesis.sentence_parts import sentences_with_parts
from synthesis.storyboard import SourceRef

_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
# Above this share of CJK characters among letters, text is read as Chinese.
_CHINESE_SHARE = 0.3

# An importer reports progress as (stage, step, step_count): ("drawing", 12, 200) is
# page 12 of 200 drawn. Stages: "unpacking", "reading", "drawing"; the page words them.
ImportProgress = Callable[[str, int, int], None]


def no_progress(stage: str, step: int, step_count: int) -> None:
    """The progress callback of an import nobody watches (the command line, tests)."""


def source_json(source: SourceRef) -> dict[str, Any]:
    """`Scene.narration_sources` form: {"sentence", "file", "page", "slide", "paragraph"}.

    An empty file marks a sentence no file holds (one the importer wrote, such as "Here
    is the code."); it is stored as the sentence alone, like one a teacher typed.
    """
    if not source.file:
        return {"sentence": source.sentence}
    return {key: value for key, value in asdict(source).items() if value is not None}


def source_from_json(data: dict[str, Any]) -> SourceRef:
    """The SourceRef a `source_json` entry (or a sentence the teacher typed) stands for."""
    return SourceRef(
        file=data.get("file") or "",
        paragraph=data.get("paragraph"),
        page=data.get("page"),
        slide=data.get("slide"),
        sentence=data.get("sentence") or "",
    )


@dataclass(frozen=True)
class ImportedScene:
    """One scene as an importer found it: a storyboard scene's fields, flat.

    kind, title, subtitle, bullets, code, code_language, math and image_alt are the
    storyboard Visual's (image_alt is its `alt`); image_path is relative to the import's
    working folder. A title card's subtitle and a text slide's bullets are what
    `courses.models.Scene.body` holds (`body`).
    """

    kind: str  # title | text | image | code
    title: str = ""
    subtitle: str = ""
    bullets: tuple[str, ...] = ()
    code: str = ""
    code_language: str = ""
    math: tuple[str, ...] = ()
    image_path: str | None = None  # relative to the import's working folder
    image_alt: str = ""
    narration: str = ""
    sources: tuple[SourceRef, ...] = ()  # one per narrated sentence, in order
    language: str = "en"
    concepts: tuple[str, ...] = ()
    role: str = "core"

    @property
    def body(self) -> str:
        """The row's slide text: a title card's subtitle, else one bullet per line."""
        return self.subtitle if self.kind == "title" else "\n".join(self.bullets)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("bullets", "math", "concepts"):
            data[name] = list(data[name])
        data["sources"] = [source_json(source) for source in self.sources]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportedScene:
        values = dict(data)
        if "body" in values:  # stored before subtitle and bullets were kept apart
            body = values.pop("body") or ""
            if values.get("kind") == "title":
                values.setdefault("subtitle", body)
            else:
                values.setdefault("bullets", [line for line in body.splitlines() if line])
        for name in ("bullets", "math", "concepts"):
            values[name] = tuple(values.get(name, ()))
        values["sources"] = tuple(source_from_json(item) for item in values.get("sources", ()))
        return cls(**values)


@dataclass(frozen=True)
class ImportResult:
    """A parsed lesson: its scenes, what the importer did, and every warning."""

    title: str
    language: str
    scenes: tuple[ImportedScene, ...]
    warnings: tuple[Message | str, ...] = ()
    attribution: str = ""
    summary: tuple[Message | str, ...] = field(default=())  # what it did, one line each

    def with_warnings(self, warnings: list[Message]) -> ImportResult:
        """The same result with more warnings after its own."""
        return replace(self, warnings=(*self.warnings, *warnings))


def guess_language(text: str) -> str:
    """'zh' when a good share of the letters are CJK characters, else 'en'."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return "en"
    cjk = sum(1 for char in letters if _CJK_CHAR.match(char))
    return "zh" if cjk / len(letters) >= _CHINESE_SHARE else "en"


def normalise_text(text: str) -> str:
    """Collapse whitespace, dropping line breaks between CJK characters (as speech does)."""
    return " ".join(_SPACE_BETWEEN_CJK.sub("", text).split())


def narration_from_paragraphs(
    paragraphs: list[str],
    language: str,
    *,
    file: str,
    page: int | None = None,
    slide: int | None = None,
) -> tuple[str, tuple[SourceRef, ...]]:
    """Narration joined from paragraphs, and for each of its sentences the paragraph (from 1).

    A paragraph without final punctuation (a heading, a bullet) gets a full stop, so it
    is spoken and captioned as a sentence of its own. Sentences are split from the joined
    narration, exactly as the editor and the renderer split it, so every sentence finds
    its source; one that runs across a paragraph break belongs to the paragraph where it
    starts. Paragraphs keep their numbers in `paragraphs` even when one of them is empty.
    """
    joiner = "" if language == "zh" else " "
    numbered = [
        (n, _end_sentence(normalise_text(p), language)) for n, p in enumerate(paragraphs, 1)
    ]
    numbered = [(number, text) for number, text in numbered if text]
    narration = joiner.join(text for _, text in numbered)
    sources = tuple(
        SourceRef(file, paragraph=numbered[index][0], page=page, slide=slide, sentence=sentence)
        for sentence, index in sentences_with_parts(
            [text for _, text in numbered], narration, language
        )
    )
    return narration, sources


def _end_sentence(text: str, language: str) -> str:
    if text and (text[-1].isalnum() or _CJK_CHAR.match(text[-1]) and text[-1].isalpha()):
        return text + ("。" if language == "zh" else ".")
    return text


def split_long_narration(
    scenes: tuple[ImportedScene, ...], *, max_chars: int, source_name: str
) -> tuple[tuple[ImportedScene, ...], list[Message]]:
    """Scenes whose narration is over max_chars split into several showing the same slide.

    Cuts fall between sentences (a single sentence longer than the cap is cut at the cap);
    each part keeps the sources of its sentences. Returns the scenes and one warning per
    scene split, naming it.
    """
    from synthesis.sentences import split_sentences

    result: list[ImportedScene] = []
    warnings: list[Message] = []
    for number, scene in enumerate(scenes, 1):
        if len(scene.narration) <= max_chars:
            result.append(scene)
            continue
        joiner = "" if scene.language == "zh" else " "
        parts: list[list[str]] = [[]]
        for sentence in split_sentences(scene.narration, scene.language):
            pieces = [sentence[i : i + max_chars] for i in range(0, len(sentence), max_chars)]
            for piece in pieces:
                if parts[-1] and len(joiner.join([*parts[-1], piece])) > max_chars:
                    parts.append([])
                parts[-1].append(piece)
        sources = {source.sentence: source for source in scene.sources}
        for index, sentences in enumerate(parts):
            title = scene.title if index == 0 or not scene.title else f"{scene.title} ({index + 1})"
            result.append(
                replace(
                    scene,
                    title=title,
                    narration=joiner.join(sentences),
                    sources=tuple(sources[s] for s in sentences if s in sources),
                )
            )
        warnings.append(
            Message(
                gettext_noop(
                    "Scene %(number)s (“%(title)s”) of '%(name)s' has %(chars)s characters of "
                    "narration, more than %(limit)s; it was split into %(parts)s scenes."
                ),
                number=number,
                title=scene.title or scene.kind,
                name=source_name,
                chars=len(scene.narration),
                limit=max_chars,
                parts=len(parts),
            )
        )
    return tuple(result), warnings
