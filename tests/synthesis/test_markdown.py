"""The Markdown lesson importer: real corpus lessons and the ways a lesson folder goes wrong."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pytest

from synthesis.errors import LessonImportError
from synthesis.markdown import import_lesson_folder
from synthesis.markdown_blocks import PARSER, front_matter_text
from synthesis.markdown_math import latex_to_speech
from synthesis.markdown_scenes import MAX_SCENE_SPEECH_S, speech_seconds
from synthesis.sentence_parts import sentences_with_parts
from synthesis.sentences import split_sentences
from synthesis.storyboard import SourceRef, Storyboard
from tests.corpus import LESSONS, copy_corpus_lesson, corpus_lesson

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def write_lesson(folder: Path, markdown: str, images: dict[str, bytes] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lesson.md").write_text(markdown, "utf-8")
    for name, data in (images or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def svg_bytes() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>'


def all_narration(storyboard: Storyboard) -> str:
    return "\n".join(scene.narration for scene in storyboard.scenes)


@pytest.fixture(scope="module")
def corpus() -> dict[str, Storyboard]:
    return {name: import_lesson_folder(corpus_lesson(name)) for name in LESSONS}


# -- the five corpus lessons ---------------------------------------------------------------


@pytest.mark.parametrize("name", LESSONS)
def test_corpus_lesson_imports_into_a_sensible_storyboard(corpus, name):
    storyboard = corpus[name]

    assert len(storyboard.scenes) >= 10
    assert storyboard.language == name[:2]
    assert all(scene.language == storyboard.language for scene in storyboard.scenes)
    assert all(scene.narration.strip() for scene in storyboard.scenes)
    assert [s.id for s in storyboard.scenes] == [
        f"s{n:02d}" for n in range(1, len(storyboard.scenes) + 1)
    ]
    assert storyboard.scenes[0].visual.kind == "title"
    assert storyboard.scenes[0].visual.title == storyboard.title
    licence = json.loads((corpus_lesson(name) / "SOURCE.json").read_text("utf-8"))["licence"]
    assert storyboard.attribution == licence


@pytest.mark.parametrize("name", LESSONS)
def test_corpus_scenes_have_one_source_per_narrated_sentence(corpus, name):
    scenes = corpus[name].scenes
    paragraphs = [ref.paragraph for s in scenes for ref in s.sources if ref.paragraph]

    for scene in scenes:
        sentences = split_sentences(scene.narration, scene.language)
        assert [ref.sentence for ref in scene.sources] == sentences, scene.id
    assert {ref.file for s in scenes for ref in s.sources} <= {"lesson.md", ""}
    assert len(set(paragraphs)) > len(scenes) / 2
    assert paragraphs == sorted(paragraphs)  # scenes follow the lesson's order


def lesson_paragraphs(folder: Path) -> list[str]:
    """The paragraphs of lesson.md as written, whitespace and emphasis marks removed."""
    _, body = front_matter_text((folder / "lesson.md").read_text("utf-8"))
    lines = body.splitlines(keepends=True)
    paragraphs = []
    for token in PARSER.parse(body):
        if token.type == "paragraph_open" and token.map:
            paragraphs.append(re.sub(r"[\s*]+", "", "".join(lines[slice(*token.map)])))
    return paragraphs


def words_to_find(sentence: str, language: str) -> list[str]:
    """Words of a sentence that its paragraph must hold as written.

    English: the first three words. Chinese: four characters in a row, any of them, since
    the sentence may open with a spoken cross-reference ("该公式" for :eqref:`...`) or
    symbol ("伊塔" for $\\eta$).
    """
    if language == "zh":
        runs = re.findall(r"[\u4e00-\u9fff]{4,}", sentence)
        return [run[i : i + 4] for run in runs for i in range(len(run) - 3)]
    return re.findall(r"[A-Za-z]{3,}", sentence)[:3]


# zh-linear-regression: d2l :label: lines are paragraphs of the file but not of the lesson.
@pytest.mark.parametrize("name", ["en-git-changes", "zh-linear-regression"])
def test_corpus_sentence_sources_name_the_paragraph_of_lesson_md_that_says_them(corpus, name):
    storyboard = corpus[name]
    paragraphs = lesson_paragraphs(corpus_lesson(name))
    checked = 0

    for scene in storyboard.scenes:
        for ref in scene.sources:
            words = words_to_find(ref.sentence, storyboard.language)
            if ref.paragraph is None or not words:
                continue
            # A lead-in ("if we do this:") and the words after the code it leads into are
            # one spoken sentence once their scenes are merged: it may end in the next paragraph.
            text = "".join(paragraphs[max(0, ref.paragraph - 2) : ref.paragraph + 1])
            if storyboard.language == "en":
                assert all(word in text for word in words), (scene.id, ref)
            elif any(word in p for p in paragraphs for word in words):
                # (A sentence that is all spoken formula, "艾普西隆服从…", is written nowhere.)
                assert any(word in text for word in words), (scene.id, ref)
            else:
                continue
            checked += 1
    assert checked > 100


def test_corpus_sentence_links_to_its_paragraph_by_first_words(corpus):
    paragraphs = lesson_paragraphs(corpus_lesson("en-git-basics"))
    refs = [ref for scene in corpus["en-git-basics"].scenes for ref in scene.sources]

    start = next(r for r in refs if r.sentence.startswith("We'll start by exploring how version"))
    following = refs[refs.index(start) + 1]

    assert paragraphs[start.paragraph - 1].startswith("We'llstartbyexploringhowversion")
    # The next sentence of the same paragraph points at the same paragraph.
    assert following.paragraph == start.paragraph
    # (Its end may run into the next paragraph once a lead-in and what follows share a scene.)
    assert following.sentence.replace(" ", "")[:60] in paragraphs[start.paragraph - 1]


def test_titles_come_from_front_matter_or_first_heading(corpus):
    assert corpus["en-git-basics"].title == "Automated Version Control"
    assert corpus["zh-linear-regression"].title == "线性回归"
    assert corpus["zh-softmax-regression"].title == "softmax回归"


def test_missing_comic_is_named_and_its_scene_falls_back_to_text(corpus):
    storyboard = corpus["en-git-basics"]
    pattern = r"scene (\d+): image 'images/phd101212s\.png' not found; showing a text slide instead"
    matches = [re.fullmatch(pattern, warning) for warning in storyboard.warnings]
    numbers = [int(match.group(1)) for match in matches if match]

    assert len(numbers) == 1
    scene = storyboard.scenes[numbers[0] - 1]
    assert scene.visual.kind == "text"
    assert scene.visual.image_path is None
    assert "We'll start by exploring how version control" in scene.narration


LESSONS_WITH_CODE = ["en-git-changes", "en-git-conflict", "zh-linear-regression"]


@pytest.mark.parametrize("name", LESSONS_WITH_CODE)
def test_fenced_code_is_shown_but_never_read_aloud(corpus, name):
    storyboard = corpus[name]
    markdown = (corpus_lesson(name) / "lesson.md").read_text("utf-8")
    prose = FENCE.sub("", markdown)
    code_lines = {
        line.strip()
        for block in FENCE.findall(markdown)
        for line in block.splitlines()
        # Lines also written in the prose (a quoted commit message) may rightly be read.
        if len(line.strip()) >= 20
        and not line.strip().startswith("#")
        and line.strip() not in prose
    }
    narration = all_narration(storyboard)

    assert code_lines, "the lesson should have code to check"
    assert [line for line in code_lines if line in narration] == []


@pytest.mark.parametrize("name", LESSONS_WITH_CODE)
def test_code_blocks_become_code_slides(corpus, name):
    code_scenes = [s for s in corpus[name].scenes if s.visual.kind == "code"]

    # Short neighbouring code cells of one section share a scene (20-60 s each).
    assert len(code_scenes) >= 4
    assert all(scene.visual.code.strip() for scene in code_scenes)


def test_command_and_its_output_share_one_code_slide(corpus):
    code = [s.visual.code for s in corpus["en-git-conflict"].scenes if s.visual.kind == "code"]

    # The output follows its command inside an ```output fence: shown as output, not code.
    assert any("$ git push origin main\n```output\nTo https://github.com/alflin" in c for c in code)


def test_d2l_code_shows_the_pytorch_tab_only(corpus):
    code = "\n".join(
        s.visual.code for s in corpus["zh-linear-regression"].scenes if s.visual.kind == "code"
    )

    assert "from d2l import torch as d2l" in code
    assert "from d2l import mxnet" not in code
    assert "tensorflow" not in code
    assert "#@tab" not in code and "#@save" not in code


@pytest.mark.parametrize("name", ["zh-linear-regression", "zh-softmax-regression"])
def test_display_math_is_shown_on_slides_and_not_spoken(corpus, name):
    storyboard = corpus[name]
    formulas = [latex for scene in storyboard.scenes for latex in scene.visual.math]
    narration = all_narration(storyboard)

    assert len(formulas) >= 8
    assert "$" not in narration
    assert "\\mathbf" not in narration and "\\frac" not in narration


def test_known_formula_is_on_a_slide_narrated_by_its_lead_in(corpus):
    scene = next(
        s
        for s in corpus["zh-linear-regression"].scenes
        if "\\hat{y} = \\mathbf{w}^\\top \\mathbf{x} + b." in s.visual.math
    )

    assert scene.visual.kind == "text"
    assert "我们可以用点积形式来简洁地表达模型" in scene.narration


@pytest.mark.parametrize("name", LESSONS)
def test_d2l_and_markdown_syntax_is_not_spoken(corpus, name):
    narration = all_narration(corpus[name])

    for leftover in (":label:", ":eqref:", ":numref:", ":cite:", ":eqlabel:", "(**", "[**"):
        assert leftover not in narration
    for leftover in ("](", "![", ":::", "{alt=", "http://", "https://", "<!--", "#@tab"):
        assert leftover not in narration


def test_d2l_cross_references_are_spoken_as_words(corpus):
    narration = all_narration(corpus["zh-linear-regression"])

    assert "如图所示" in narration
    assert "广播机制在另一节中有详细介绍" in narration


def test_inline_math_is_spoken_in_chinese(corpus):
    narration = all_narration(corpus["zh-linear-regression"])

    assert "自变量x和因变量y之间" in narration


@pytest.mark.parametrize("name", LESSONS)
def test_images_resolve_inside_the_lesson_folder_with_alt_text(corpus, name):
    folder = corpus_lesson(name).resolve()
    images = [s.visual for s in corpus[name].scenes if s.visual.kind == "image"]

    assert images
    for visual in images:
        path = Path(visual.image_path)
        assert path.is_absolute() and path.is_file()
        assert path.is_relative_to(folder)
        assert visual.alt


def test_pandoc_attribute_alt_text_is_used(corpus):
    alts = [s.visual.alt for s in corpus["en-git-basics"].scenes if s.visual.kind == "image"]

    assert (
        "A diagram demonstrating how a single document grows as the result of sequential changes"
        in alts
    )


def test_carpentries_divs_become_titled_slides(corpus):
    scenes = {scene.visual.title: scene for scene in corpus["en-git-basics"].scenes}

    objectives = scenes["Objectives"]
    assert objectives.visual.bullets == (
        "Understand the benefits of an automated version control system.",
        "Understand the basics of how automated version control systems work.",
    )
    assert objectives.narration.startswith("Objectives.")
    assert scenes["Key points"].role == "recap"
    assert scenes["Challenge: Paper Writing"].narration.startswith("Challenge: Paper Writing.")
    assert "Solution: Paper Writing" in scenes
    assert "The Long History of Version Control Systems" in scenes


def test_text_slide_bullets_are_short(corpus):
    for storyboard in corpus.values():
        for scene in storyboard.scenes:
            assert len(scene.visual.bullets) <= 7
            for bullet in scene.visual.bullets:
                assert len(bullet) <= 170


@pytest.mark.parametrize("name", LESSONS)
def test_every_scene_is_narrated_in_about_a_minute_or_less(corpus, name):
    longest = max(speech_seconds(scene.narration) for scene in corpus[name].scenes)

    assert longest <= MAX_SCENE_SPEECH_S * 1.1


def test_identical_content_gives_identical_scenes(tmp_path):
    first = copy_corpus_lesson("en-git-basics", tmp_path / "a")
    second = copy_corpus_lesson("en-git-basics", tmp_path / "b")

    one, two = import_lesson_folder(first), import_lesson_folder(second)

    assert [(s.id, s.narration, s.visual.title) for s in one.scenes] == [
        (s.id, s.narration, s.visual.title) for s in two.scenes
    ]
    assert import_lesson_folder(first) == one


def test_trimmed_corpus_lesson_still_imports(tmp_path):
    folder = copy_corpus_lesson("zh-softmax-regression", tmp_path, max_blocks=6)

    storyboard = import_lesson_folder(folder)

    assert storyboard.language == "zh"
    assert 2 <= len(storyboard.scenes) < 8
    assert (folder / "SOURCE.json").is_file()


# -- explicit slides -------------------------------------------------------------------------

EXPLICIT = """---
title: Photosynthesis
---

# Photosynthesis

<!-- slide -->

## Light

Plants use light to make sugar. Chlorophyll absorbs red and blue light.

- Leaves are green
- Roots hold water

<!-- concepts: light, chlorophyll -->

<!-- slide -->

![A leaf](images/leaf.svg)

<!-- narration: The teacher says this instead. -->
<!-- role: remedial -->

<!-- slide -->

```python
print("secret_code_marker")
```

<!-- slide -->

$$E = mc^2$$

Energy is $m c^2$.
"""


def test_explicit_slide_breaks_make_exactly_one_scene_per_chunk(tmp_path):
    folder = write_lesson(tmp_path / "photo", EXPLICIT, {"images/leaf.svg": svg_bytes()})

    storyboard = import_lesson_folder(folder)

    kinds = [scene.visual.kind for scene in storyboard.scenes]
    assert kinds == ["title", "text", "image", "code", "text"]
    title, light, leaf, code, formula = storyboard.scenes
    assert title.narration == "Photosynthesis."
    assert light.concepts == ("light", "chlorophyll")
    assert light.visual.bullets == (
        "Plants use light to make sugar.",
        "Leaves are green",
        "Roots hold water",
    )
    assert light.narration.startswith("Plants use light to make sugar. Chlorophyll")
    assert leaf.narration == "The teacher says this instead."
    assert leaf.role == "remedial"
    assert leaf.visual.alt == "A leaf"
    assert "secret_code_marker" in code.visual.code
    assert "secret_code_marker" not in all_narration(storyboard)
    assert formula.visual.math == ("E = mc^2",)
    assert formula.narration == "Energy is m c squared."


def test_explicit_slide_without_narration_gets_a_sentence_and_a_warning(tmp_path):
    folder = write_lesson(tmp_path / "photo", EXPLICIT, {"images/leaf.svg": svg_bytes()})

    storyboard = import_lesson_folder(folder)

    assert storyboard.scenes[3].narration == "Here is the code."
    assert any(w.startswith("scene 4: no narration") for w in storyboard.warnings)


def test_narration_comment_outside_slide_mode_is_reported(tmp_path):
    folder = write_lesson(tmp_path / "l", "# T\n\nSome text.\n\n<!-- narration: ignored -->\n")

    storyboard = import_lesson_folder(folder)

    assert "ignored" not in all_narration(storyboard)
    assert any("narration comment" in warning for warning in storyboard.warnings)


# -- sources: one per narrated sentence ---------------------------------------------------------


def source_pairs(scene) -> list[tuple[str, str, int | None]]:
    return [(ref.sentence, ref.file, ref.paragraph) for ref in scene.sources]


def test_each_sentence_names_the_paragraph_it_was_read_from(tmp_path):
    folder = write_lesson(tmp_path / "photo", EXPLICIT, {"images/leaf.svg": svg_bytes()})

    title, light, leaf, code, formula = import_lesson_folder(folder).scenes

    assert source_pairs(light) == [
        ("Plants use light to make sugar.", "lesson.md", 1),
        ("Chlorophyll absorbs red and blue light.", "lesson.md", 1),
        ("Leaves are green.", "lesson.md", 2),
        ("Roots hold water.", "lesson.md", 3),
    ]
    assert source_pairs(formula) == [("Energy is m c squared.", "lesson.md", 5)]


def test_lesson_words_outside_paragraphs_name_the_file_only(tmp_path):
    folder = write_lesson(tmp_path / "photo", EXPLICIT, {"images/leaf.svg": svg_bytes()})

    title, _, leaf, _, _ = import_lesson_folder(folder).scenes

    assert title.sources == (SourceRef(file="lesson.md", sentence="Photosynthesis."),)
    # A <!-- narration: --> comment is in lesson.md, but in no paragraph.
    assert source_pairs(leaf) == [("The teacher says this instead.", "lesson.md", None)]


def test_title_made_from_the_folder_name_has_no_source(tmp_path):
    folder = write_lesson(tmp_path / "plant-cells", "Cells have walls.\n")

    title, text = import_lesson_folder(folder).scenes

    # The title card introduces the lesson instead of reading its heading alone.
    assert title.sources == (
        SourceRef(file="", sentence="In this lesson, we look at Plant cells."),
    )
    assert source_pairs(text) == [("Cells have walls.", "lesson.md", 1)]


def test_sentences_the_importer_wrote_have_no_source(tmp_path):
    folder = write_lesson(
        tmp_path / "l",
        "# Loops\n\n```python\nfor i in range(3):\n    print(i)\n```\n\n"
        "::: challenge\n\n## Count\n\nCount to three.\n\n:::\n",
    )

    storyboard = import_lesson_folder(folder)

    code, challenge = storyboard.scenes[1:]
    assert source_pairs(code) == [("Here is the code.", "", None)]
    assert source_pairs(challenge) == [
        ("Challenge: Count.", "", None),  # the importer's label for the div
        ("Count to three.", "lesson.md", 1),
    ]


def test_sentence_running_into_the_next_paragraph_belongs_where_it_starts(tmp_path):
    folder = write_lesson(
        tmp_path / "l",
        "# Diff\n\nWe compare two things:\n\nthe old file and the new one.\n\nThat is all.\n",
    )

    text = import_lesson_folder(folder).scenes[1]

    assert source_pairs(text) == [
        ("We compare two things: the old file and the new one.", "lesson.md", 1),
        ("That is all.", "lesson.md", 3),
    ]


def test_sentence_parts_are_found_whatever_whitespace_the_splitter_removes():
    # Line breaks and spaces between Chinese characters vanish when sentences are split.
    parts = ["One\n  two. Three.", "   ", "四 五。六。"]

    pairs = sentences_with_parts(parts, " ".join(parts), "zh")

    assert pairs == [("One two.", 0), ("Three.", 0), ("四五。", 2), ("六。", 2)]


def test_image_read_by_its_alt_text_names_the_paragraph_holding_it(tmp_path):
    folder = write_lesson(
        tmp_path / "l",
        '# Cells\n\nIntro text.\n\n## HTML\n\n<p><img src="a.svg" alt="An HTML cell"></p>\n\n'
        "## Markdown\n\n![A plant cell](b.svg)\n\n## End\n\nLast words.\n",
        {"a.svg": svg_bytes(), "b.svg": svg_bytes()},
    )

    storyboard = import_lesson_folder(folder)

    sources = {ref.sentence: ref.paragraph for s in storyboard.scenes for ref in s.sources}
    # An HTML block holding a picture counts as a paragraph, like one holding words.
    assert sources["Intro text."] == 1
    assert sources["An HTML cell."] == 2
    assert sources["A plant cell."] == 3
    assert sources["Last words."] == 4


def test_paragraphs_are_numbered_as_lesson_md_has_them_around_d2l_labels(tmp_path):
    folder = write_lesson(
        tmp_path / "l",
        "# 线性回归\n:label:`sec_linear`\n\n回归是一种建模方法。它很常用。\n\n"
        ":begin_tab:`mxnet`\n只在 MXNet 中。\n:end_tab:\n\n第三段。\n",
    )

    text = import_lesson_folder(folder, language="zh").scenes[1]

    # lesson.md's paragraphs: the label line (1), the prose (2), the MXNet tab (3), 第三段 (4).
    assert source_pairs(text) == [
        ("回归是一种建模方法。", "lesson.md", 2),
        ("它很常用。", "lesson.md", 2),
        ("第三段。", "lesson.md", 4),
    ]


# -- images ------------------------------------------------------------------------------------


def test_image_path_escaping_the_folder_is_refused(tmp_path):
    (tmp_path / "secret.svg").write_bytes(svg_bytes())
    folder = write_lesson(
        tmp_path / "lesson",
        "# Escape\n\nLook here.\n\n![](../secret.svg)\n\nAnd here.\n\n![x](../../etc/passwd)\n",
    )

    storyboard = import_lesson_folder(folder)

    assert not any(scene.visual.image_path for scene in storyboard.scenes)
    assert any(
        "image '../secret.svg' is outside the lesson folder" in w for w in storyboard.warnings
    )
    assert any(
        "image '../../etc/passwd' is outside the lesson folder" in w for w in storyboard.warnings
    )


def test_symlink_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "secret.svg").write_bytes(svg_bytes())
    folder = write_lesson(tmp_path / "lesson", "# Link\n\nSee:\n\n![](images/link.svg)\n")
    (folder / "images").mkdir()
    (folder / "images" / "link.svg").symlink_to(tmp_path / "secret.svg")

    storyboard = import_lesson_folder(folder)

    assert any("is outside the lesson folder" in w for w in storyboard.warnings)


def test_image_that_is_not_what_its_name_says_is_refused(tmp_path):
    folder = write_lesson(
        tmp_path / "lesson",
        "# Pics\n\nA photo:\n\n![cat](cat.png)\n\nA web one:\n\n![dog](https://example.org/d.png)\n",
        {"cat.png": b"<html>not a png</html>"},
    )

    storyboard = import_lesson_folder(folder)

    assert "scene 2: image 'cat.png' is not a valid PNG file; showing a text slide instead" in (
        storyboard.warnings
    )
    assert any("is a web address" in w for w in storyboard.warnings)
    assert storyboard.scenes[1].visual.bullets == ("cat",)


def test_image_alone_is_narrated_by_its_alt_text_with_a_warning(tmp_path):
    folder = write_lesson(
        tmp_path / "lesson",
        "# Cells\n\n![A plant cell with its wall](cell.svg)\n",
        {"cell.svg": svg_bytes()},
    )

    storyboard = import_lesson_folder(folder)

    image = storyboard.scenes[1]
    assert image.visual.kind == "image"
    assert image.narration == "A plant cell with its wall."
    assert any(
        w.startswith("scene 2: no text narrates image 'cell.svg'") for w in storyboard.warnings
    )


def test_png_and_jpeg_images_are_accepted(tmp_path):
    from PIL import Image as PilImage

    folder = tmp_path / "lesson"
    (folder / "img").mkdir(parents=True)
    PilImage.new("RGB", (8, 8), "red").save(folder / "img" / "a.png")
    PilImage.new("RGB", (8, 8), "blue").save(folder / "img" / "b.jpg")
    write_lesson(folder, "# P\n\nFirst:\n\n![a](img/a.png)\n\nSecond:\n\n![b](img/b.jpg)\n")

    storyboard = import_lesson_folder(folder)

    assert [s.visual.kind for s in storyboard.scenes] == ["title", "image", "image"]
    assert storyboard.warnings == ()


# -- bad input -----------------------------------------------------------------------------------


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(LessonImportError, match="does not exist"):
        import_lesson_folder(tmp_path / "nope")


def test_folder_without_lesson_md_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(LessonImportError, match="no lesson.md"):
        import_lesson_folder(tmp_path)


@pytest.mark.parametrize(
    "markdown",
    ["", "   \n\n", "---\ntitle: Empty\n---\n", "# Only a title\n", "```python\nx = 1\n```\n"],
)
def test_lesson_without_narratable_text_is_refused(tmp_path, markdown):
    folder = write_lesson(tmp_path / "empty", markdown)

    with pytest.raises(LessonImportError, match="^the lesson has no narratable text$"):
        import_lesson_folder(folder)


def test_binary_garbage_is_refused_clearly(tmp_path):
    garbage = random.Random(7).randbytes(4_000)
    folder = tmp_path / "garbage"
    folder.mkdir()
    (folder / "lesson.md").write_bytes(garbage)

    with pytest.raises(LessonImportError, match="lesson.md is (not UTF-8|a binary file)"):
        import_lesson_folder(folder)


def test_invalid_utf8_names_the_position(tmp_path):
    folder = tmp_path / "latin1"
    folder.mkdir()
    (folder / "lesson.md").write_bytes("# Café\n\nUn café crème.\n".encode("latin-1"))

    with pytest.raises(LessonImportError, match=r"not UTF-8 text \(invalid byte at position 5\)"):
        import_lesson_folder(folder)


def test_unknown_language_is_refused(tmp_path):
    folder = write_lesson(tmp_path / "l", "# Hi\n\nHello there.\n")

    with pytest.raises(LessonImportError, match="^unknown language 'xx': choose en or zh$"):
        import_lesson_folder(folder, language="xx")


def test_language_comes_from_argument_then_front_matter_then_text(tmp_path):
    english = write_lesson(tmp_path / "en", "---\nlang: zh-CN\n---\n# Hi\n\nHello there.\n")
    chinese = write_lesson(tmp_path / "zh", "# 你好\n\n这是一个关于光合作用的课程。\n")

    assert import_lesson_folder(english).language == "zh"
    assert import_lesson_folder(english, language="en").language == "en"
    assert import_lesson_folder(chinese, language="").language == "zh"
    assert import_lesson_folder(chinese).language == "zh"


def test_huge_paragraph_is_split_into_short_scenes_and_cut_quickly(tmp_path):
    words = " ".join(f"word{n % 97}" + ("." if n % 12 == 11 else "") for n in range(20_000))
    paragraph = words[:100_000]
    folder = write_lesson(tmp_path / "huge", f"# Huge\n\n{paragraph}\n")

    started = time.perf_counter()
    storyboard = import_lesson_folder(folder)
    elapsed_s = time.perf_counter() - started

    assert elapsed_s < 10
    assert len(storyboard.scenes) > 5
    assert all(speech_seconds(s.narration) <= MAX_SCENE_SPEECH_S * 1.1 for s in storyboard.scenes)
    assert any(
        "paragraph 1 of the lesson is 100,000 characters long" in w for w in storyboard.warnings
    )


def test_huge_paragraph_without_spaces_stays_fast(tmp_path):
    folder = write_lesson(tmp_path / "huge", "# 长\n\n" + "光合作用" * 25_000 + "\n")

    started = time.perf_counter()
    storyboard = import_lesson_folder(folder)

    assert time.perf_counter() - started < 10
    assert storyboard.language == "zh"
    assert all(speech_seconds(s.narration) <= MAX_SCENE_SPEECH_S * 1.1 for s in storyboard.scenes)


def test_bad_front_matter_is_a_warning_not_a_crash(tmp_path):
    folder = write_lesson(tmp_path / "l", "---\ntitle: [unclosed\n---\n\nSome text here.\n")

    storyboard = import_lesson_folder(folder)

    assert any("front matter is not valid YAML" in w for w in storyboard.warnings)
    assert storyboard.title == "L"


# -- narration details ---------------------------------------------------------------------------


def test_links_are_narrated_by_their_text_only(tmp_path):
    folder = write_lesson(
        tmp_path / "l",
        "# Links\n\nRead [the Git book](https://git-scm.com/book) or <https://example.org> now.\n",
    )

    narration = all_narration(import_lesson_folder(folder))

    assert "Read the Git book or now." in narration
    assert "git-scm" not in narration


def test_tables_are_shown_as_bullets(tmp_path):
    folder = write_lesson(
        tmp_path / "l",
        "# Tables\n\nThe steps are:\n\n| step | command |\n|---|---|\n| 1 | `git add` |\n",
    )

    storyboard = import_lesson_folder(folder)

    table = storyboard.scenes[1]
    assert table.visual.bullets == ("step · command", "1 · git add")
    assert table.narration == "The steps are:"


def test_html_fragments_give_text_and_images(tmp_path):
    folder = write_lesson(
        tmp_path / "l",
        '# Html\n\n<div class="note">\n<p>Water boils at <b>100</b> degrees.</p>\n'
        '<script>alert("no")</script>\n<img src="pot.svg" alt="A pot">\n</div>\n',
        {"pot.svg": svg_bytes()},
    )

    storyboard = import_lesson_folder(folder)

    assert "Water boils at 100 degrees." in all_narration(storyboard)
    assert "alert" not in all_narration(storyboard)
    assert any(s.visual.image_path and s.visual.alt == "A pot" for s in storyboard.scenes)


@pytest.mark.parametrize(
    ("latex", "english", "chinese"),
    [
        (r"\hat{y}", "y hat", "y hat"),
        (r"\frac{1}{2}", "1 over 2", "2分之1"),
        (r"\mathbf{x} \in \mathbb{R}^d", "x in R d", "x属于R d"),
        (r"\sigma^2", "sigma squared", "西格玛的平方"),
        (r"x_1, \ldots, x_n", "x 1 up to x n", "x 1到x n"),
        (r"\begin{aligned} a &= b \\ c &= d \end{aligned}", "this expression", "这个式子"),
    ],
)
def test_inline_math_has_a_spoken_form(latex, english, chinese):
    assert latex_to_speech(latex, "en") == english
    assert latex_to_speech(latex, "zh") == chinese


AUTOMATIC = """# Cells

Intro text about cells.

## Membranes
<!-- concepts: membrane, diffusion -->
<!-- role: enrichment -->

The membrane lets some things through.

---

A second thought after a rule.

## Nucleus

The nucleus holds DNA.

::: {.callout}
Remember the nucleus.
:::

::: instructor
Do not show this to learners.
:::

:::::: challenge
## Quiz
What does the nucleus hold?
::: solution
DNA.
:::
::::::
"""


def test_automatic_mapping_of_sections_divs_and_comments(tmp_path):
    storyboard = import_lesson_folder(write_lesson(tmp_path / "cells", AUTOMATIC))

    summary = [(s.visual.kind, s.visual.title, s.role, s.concepts) for s in storyboard.scenes]
    assert summary == [
        ("title", "Cells", "core", ()),
        ("text", "Cells", "core", ()),
        # The part after the --- rule is short: it joins the slide before it.
        ("text", "Membranes", "enrichment", ("membrane", "diffusion")),
        ("text", "Nucleus", "core", ()),
        ("text", "Note", "core", ()),
        ("text", "Challenge: Quiz", "core", ()),
        ("text", "Solution: Quiz", "core", ()),
    ]
    assert storyboard.scenes[-1].narration == "Solution: Quiz. DNA."
    assert "Do not show this" not in all_narration(storyboard)
    assert storyboard.warnings == ()


def test_long_section_is_split_into_continued_slides(tmp_path):
    sentence = "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen. "
    paragraphs = "\n\n".join(sentence * 6 for _ in range(5))  # about 300 words
    folder = write_lesson(tmp_path / "long", f"# Plants\n\n## Light\n\n{paragraphs}\n")

    scenes = import_lesson_folder(folder).scenes[1:]

    assert len(scenes) >= 3
    assert scenes[0].visual.title == "Light"
    assert all(s.visual.title == "Light (continued)" for s in scenes[1:])
    assert all(speech_seconds(s.narration) <= MAX_SCENE_SPEECH_S for s in scenes)


def test_dollar_amounts_are_not_math(tmp_path):
    folder = write_lesson(
        tmp_path / "l", "# Money\n\nA pen costs $5 and a book $10, so $x$ is 15.\n"
    )

    narration = all_narration(import_lesson_folder(folder))

    assert "A pen costs $5 and a book $10, so x is 15." in narration


def test_instructor_notes_never_reach_explicit_slides(tmp_path):
    markdown = (
        "## One\n\nFor learners.\n\n::: instructor\nSecret for teachers.\n\n"
        "<!-- slide -->\n\nHidden slide text.\n:::\n\n"
        "<!-- slide -->\n\n## Two\n\nMore for learners.\n"
    )
    folder = write_lesson(tmp_path / "l", markdown)

    storyboard = import_lesson_folder(folder)

    assert [s.narration for s in storyboard.scenes] == ["For learners.", "More for learners."]


def test_layout_divs_are_transparent(tmp_path):
    markdown = (
        "## Sides\n\n:::: columns\n::: column\nLeft side.\n:::\n"
        "::: column\nRight side.\n:::\n::::\n"
    )
    storyboard = import_lesson_folder(write_lesson(tmp_path / "l", markdown))

    assert {s.visual.title for s in storyboard.scenes} == {"Sides"}
    assert "Left side. Right side." in all_narration(storyboard)
