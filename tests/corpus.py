"""Where the sample lessons live, and a way to copy one (optionally trimmed) for a test.

The lessons are part of the repository (tests/fixtures/corpus, with their SOURCE.json licence
and attribution and a README), so a clone runs every test; $LECTERN_CORPUS_DIR points the
tests at another copy. A missing lesson fails the test that needs it instead of skipping it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

LESSONS = (
    "en-git-basics",
    "en-git-changes",
    "en-git-conflict",
    "zh-linear-regression",
    "zh-softmax-regression",
)
ENGLISH_LESSONS = tuple(name for name in LESSONS if name.startswith("en-"))
CHINESE_LESSONS = tuple(name for name in LESSONS if name.startswith("zh-"))

_CODE_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_DIV_FENCE = re.compile(r"^\s{0,3}(:{3,})\s*(\S*)")


REPO_CORPUS_DIR = Path(__file__).resolve().parent / "fixtures" / "corpus"


def corpus_dir() -> Path:
    """The corpus folder: $LECTERN_CORPUS_DIR when set, else the copy in tests/fixtures/corpus.

    A folder without the lessons is an error (a test fails), never a skip: a test that
    silently does not run proves nothing.
    """
    override = os.environ.get("LECTERN_CORPUS_DIR")
    folder = Path(override) if override else REPO_CORPUS_DIR
    missing = [name for name in LESSONS if not (folder / name / "lesson.md").is_file()]
    if missing:
        source = "$LECTERN_CORPUS_DIR" if override else "the repository"
        pytest.fail(f"corpus lessons missing from {folder} ({source}): {', '.join(missing)}")
    return folder.resolve()


def corpus_lesson(name: str) -> Path:
    """The folder of one corpus lesson (read-only: copy it before changing anything)."""
    if name not in LESSONS:
        raise ValueError(f"unknown corpus lesson {name!r}; choose one of {', '.join(LESSONS)}")
    return corpus_dir() / name


def copy_corpus_lesson(name: str, dest: Path, *, max_blocks: int | None = None) -> Path:
    """Copy a corpus lesson (lesson.md, images, SOURCE.json) to dest/name and return that folder.

    max_blocks keeps only the front matter and the first N top-level Markdown blocks
    (paragraphs, lists, headings, code fences, whole ::: divs), so a test can import
    a short lesson that still has real content.
    """
    target = Path(dest) / name
    shutil.copytree(corpus_lesson(name), target)
    if max_blocks is not None:
        lesson = target / "lesson.md"
        lesson.write_text(trim_markdown(lesson.read_text("utf-8"), max_blocks), "utf-8")
    return target


def trim_markdown(text: str, max_blocks: int) -> str:
    """The front matter and the first max_blocks top-level blocks of a Markdown text."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    index = 0
    if lines and lines[0].strip() == "---":
        # Front matter runs to the next '---' line; keep it whole.
        for index in range(1, len(lines)):
            if lines[index].strip() == "---":
                break
        index += 1
        kept.extend(lines[:index])
    blocks = 0
    in_block = False
    code_fence = ""
    div_depth = 0
    for line in lines[index:]:
        blank = not line.strip()
        if not in_block and not blank:
            if blocks == max_blocks:
                break
            in_block = True
            blocks += 1
        kept.append(line)
        code_match = _CODE_FENCE.match(line)
        if code_fence:
            closing = code_match.group(1) if code_match else ""
            if closing[:1] == code_fence[0] and len(closing) >= len(code_fence):
                code_fence = ""
            continue
        if code_match:
            code_fence = code_match.group(1)
            continue
        div_match = _DIV_FENCE.match(line)
        if div_match:
            div_depth += 1 if div_match.group(2) else -1
            div_depth = max(div_depth, 0)
        if blank and div_depth == 0:
            in_block = False
    return "".join(kept)
