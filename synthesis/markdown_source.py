"""Lesson source text: read it safely, find its language, and tidy d2l/Pandoc syntax before parsing.

Two families of real lessons meet here: Carpentries lessons (Pandoc fenced divs with any
number of colons) and d2l books (`:label:`, `:eqref:`, `:numref:`, `:cite:`, framework
tabs, `(**highlight**)` marks). Both are rewritten into plain CommonMark plus one
canonical div syntax, so the parser and the scene planner never see them.
"""

from __future__ import annotations

import re
from pathlib import Path

from synthesis.errors import LessonImportError
from synthesis.messages import Message, gettext_noop
from synthesis.storyboard import SUPPORTED_LANGUAGES

# A lesson is prose and a few code blocks; anything bigger is a mistake (or an attack).
MAX_LESSON_BYTES = 4_000_000
# d2l shows one deep-learning framework at a time; narrate and show this one.
D2L_FRAMEWORK = "pytorch"
# Deeper Pandoc divs than this are treated as plain text.
MAX_DIV_DEPTH = 20

_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_CODE_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_DISPLAY_OR_INLINE_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_DIV_OPEN = re.compile(r"^(\s{0,3}):{3,}\s*(?:\{([^}]*)\}|([A-Za-z][\w-]*))[^:]*:*\s*$")
_DIV_CLOSE = re.compile(r"^(\s{0,3}):{3,}\s*$")
_TAB_BEGIN = re.compile(r"^\s*:begin_tab:`([^`]*)`\s*$")
_TAB_END = re.compile(r"^\s*:end_tab:\s*$")

_LABEL_NAMES = r"(?:label|eqlabel|width|height)"
_LABEL_LINE = re.compile(rf"^[ \t]*(?::{_LABEL_NAMES}:`[^`\n]*`[ \t]*)+\n?", re.MULTILINE)
_LABEL_INLINE = re.compile(rf":{_LABEL_NAMES}:`[^`\n]*`")
_CITE = re.compile(r"[ \t]*:cite:`[^`\n]*`")
_REFERENCE = re.compile(r"([ \t]*):(eqref|numref|ref):`([^`\n]*)`")
# d2l marks text to keep in notebooks with (**...**) and [**...**]; the marks are not prose.
_D2L_HIGHLIGHT = re.compile(r"\(\*\*(.{1,600}?)\*\*\)|\[\*\*(.{1,600}?)\*\*\]", re.DOTALL)

# What a cross-reference is called when spoken, by the label's prefix.
_REFERENCE_WORDS = {
    "equation": {"en": "the equation", "zh": "该公式"},
    "figure": {"en": "the figure", "zh": "图"},
    "section": {"en": "another section", "zh": "另一节"},
    "table": {"en": "the table", "zh": "表"},
}
_LABEL_PREFIXES = {
    "eq": "equation", "fig": "figure", "img": "figure", "sec": "section",
    "subsec": "section", "chap": "section", "chapter": "section", "tab": "table",
}  # fmt: skip
# When the text already names the thing ("公式 :eqref:`x`", "Figure :numref:`y`"), drop the ref.
_NAMED_BEFORE = re.compile(
    r"(公式|式|图片|图|表格|表|章节|节|equation|eq\.|figure|fig\.|table|section|sec\.)\s*$",
    re.IGNORECASE,
)


def read_lesson_text(path: Path) -> str:
    """The text of a lesson file, or a LessonImportError a teacher can act on."""
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LessonImportError(
            Message(
                gettext_noop("cannot read %(file)s: %(error)s"),
                file=name,
                error=error.strerror or error,
            )
        ) from error
    if len(data) > MAX_LESSON_BYTES:
        raise LessonImportError(
            Message(
                gettext_noop(
                    "%(file)s is %(size)s MB; the limit is %(limit)s MB"
                    " — split the lesson into several"
                ),
                file=name,
                size=f"{len(data) / 1e6:.1f}",
                limit=MAX_LESSON_BYTES // 1_000_000,
            )
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise LessonImportError(
                Message(gettext_noop("%(file)s is not valid UTF-16 text"), file=name)
            ) from error
    else:
        if b"\x00" in data:
            raise LessonImportError(
                Message(gettext_noop("%(file)s is a binary file, not Markdown text"), file=name)
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise LessonImportError(
                Message(
                    gettext_noop(
                        "%(file)s is not UTF-8 text (invalid byte at position %(position)s);"
                        " save it as UTF-8 Markdown"
                    ),
                    file=name,
                    position=error.start,
                )
            ) from error
    if len(_CONTROL.findall(text)) > max(8, len(text) // 100):
        raise LessonImportError(
            Message(gettext_noop("%(file)s looks like a binary file, not Markdown text"), file=name)
        )
    text = _CONTROL.sub("", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def normalise_language(value: str) -> str:
    """'en', 'en-US', 'zh_CN', 'Chinese'... -> 'en' or 'zh'; anything else -> LessonImportError."""
    code = re.split(r"[-_\s]", str(value).strip().lower(), maxsplit=1)[0]
    code = {"english": "en", "chinese": "zh", "cn": "zh", "中文": "zh"}.get(code, code)
    if code not in SUPPORTED_LANGUAGES:
        choices = " or ".join(SUPPORTED_LANGUAGES)
        raise LessonImportError(
            Message(
                gettext_noop("unknown language '%(language)s': choose %(choices)s"),
                language=value,
                choices=choices,
            )
        )
    return code


def detect_language(markdown: str) -> str:
    """'zh' when Chinese characters outnumber Latin words in the prose, else 'en'."""
    prose = _DISPLAY_OR_INLINE_MATH.sub(" ", _without_code(markdown))
    ideographs = len(_IDEOGRAPH.findall(prose))
    latin_words = len(_LATIN_WORD.findall(prose))
    return "zh" if ideographs and ideographs >= latin_words else "en"


# One line of a lesson body: its number there (from 0) and its text with its line break.
Line = tuple[int, str]


def prepare_source(markdown: str, language: str) -> tuple[str, list[int]]:
    """Rewrite d2l directives and Pandoc divs (outside code) into what the parser expects.

    Returns the text and, for each of its lines, the line of `markdown` it came from, so
    paragraphs can be numbered as the teacher's file has them (some lines are dropped).
    """
    lines = list(enumerate(markdown.splitlines(keepends=True)))
    lines = _without_label_lines(_canonical_divs(_keep_one_framework(lines)))
    text = "".join(
        segment if is_code else _tidy_d2l(segment, language)
        for is_code, segment in _segments("".join(line for _, line in lines))
    )
    return text, [number for number, _ in lines]


def _without_code(markdown: str) -> str:
    return "".join(segment for is_code, segment in _segments(markdown) if not is_code)


def _segments(markdown: str) -> list[tuple[bool, str]]:
    """Split into (is_code, text) runs at fenced code blocks, keeping every character."""
    lines = markdown.splitlines(keepends=True)
    segments: list[tuple[bool, list[str]]] = []
    for line, in_code in zip(lines, _code_flags(lines), strict=True):
        if segments and segments[-1][0] == in_code:
            segments[-1][1].append(line)
        else:
            segments.append((in_code, [line]))
    return [(is_code, "".join(lines)) for is_code, lines in segments]


def _code_flags(lines: list[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (its fences included)."""
    flags: list[bool] = []
    fence = ""
    for line in lines:
        match = _CODE_FENCE.match(line)
        in_code = bool(fence)
        if fence:
            closing = match.group(1) if match else ""
            if (
                closing[:1] == fence[0]
                and len(closing) >= len(fence)
                and not line[match.end() :].strip()
            ):
                fence = ""
        elif match:
            fence = match.group(1)
            in_code = True
        flags.append(in_code)
    return flags


def _keep_one_framework(lines: list[Line]) -> list[Line]:
    """Drop d2l :begin_tab: blocks written for other frameworks than D2L_FRAMEWORK."""
    if not any(":begin_tab:" in line for _, line in lines):
        return lines
    kept: list[Line] = []
    skipping = False
    for number, line in lines:
        begin = _TAB_BEGIN.match(line)
        if begin:
            skipping = not _tab_is_shown(begin.group(1))
            continue
        if _TAB_END.match(line):
            skipping = False
            continue
        if not skipping:
            kept.append((number, line))
    return kept


def _tab_is_shown(tabs: str) -> bool:
    names = {name.strip().lower() for name in tabs.split(",")}
    return D2L_FRAMEWORK in names or "all" in names


def _canonical_divs(lines: list[Line]) -> list[Line]:
    """Give every Pandoc div fence a length that encodes its depth.

    Pandoc closes a div with any run of three or more colons; markdown-it-container
    closes one only with a fence at least as long as the opening. Rewriting the fences
    at depth d to 3 + MAX_DIV_DEPTH - d colons makes the two agree.
    """
    depth = 0
    rewritten: list[Line] = []
    for (number, line), in_code in zip(lines, _code_flags([t for _, t in lines]), strict=True):
        if in_code:
            rewritten.append((number, line))
            continue
        newline = "\n" if line.endswith("\n") else ""
        opening = _DIV_OPEN.match(line)
        closing = _DIV_CLOSE.match(line)
        if opening and depth < MAX_DIV_DEPTH:
            indent, braces, word = opening.groups()
            line = f"{indent}{':' * (3 + MAX_DIV_DEPTH - depth)} {_div_name(braces, word)}"
            line += newline
            depth += 1
        elif closing:
            if depth == 0:
                continue  # a stray closing fence closes nothing
            depth -= 1
            line = f"{closing.group(1)}{':' * (3 + MAX_DIV_DEPTH - depth)}{newline}"
        rewritten.append((number, line))
    return rewritten


def _without_label_lines(lines: list[Line]) -> list[Line]:
    """Drop d2l `:label:` lines (outside code); labels that lead a line of text are cut."""
    kept: list[Line] = []
    for (number, line), in_code in zip(lines, _code_flags([t for _, t in lines]), strict=True):
        if not in_code and ":" in line:
            line = _LABEL_LINE.sub("", line)
            if not line:
                continue
        kept.append((number, line))
    return kept


def _div_name(braces: str | None, word: str | None) -> str:
    if word:
        return word.lower()
    classes = re.findall(r"\.([\w-]+)", braces or "")
    if classes:
        return classes[0].lower()
    bare = re.findall(r"(?<![#\w=.-])([A-Za-z][\w-]*)(?![\w=-])", braces or "")
    return bare[0].lower() if bare else "div"


def _tidy_d2l(text: str, language: str) -> str:
    # Label lines are gone already (_without_label_lines); every rewrite here keeps the
    # line breaks, so prepare_source's line numbers stay true.
    if ":" in text:
        text = _LABEL_INLINE.sub("", text)
        text = _CITE.sub("", text)
        text = _REFERENCE.sub(lambda match: _spoken_reference(match, language), text)
    if "**" in text:
        text = _D2L_HIGHLIGHT.sub(lambda m: m.group(1) or m.group(2), text)
    return text


def _spoken_reference(match: re.Match[str], language: str) -> str:
    before = match.string[max(0, match.start() - 12) : match.start()]
    if _NAMED_BEFORE.search(before):
        return ""
    role, label = match.group(2), match.group(3)
    prefix = re.split(r"[_:-]", label.strip(), maxsplit=1)[0].lower()
    kind = _LABEL_PREFIXES.get(prefix) or ("equation" if role == "eqref" else None)
    if kind is None:
        return ""
    words = _REFERENCE_WORDS[kind][language]
    previous_char = before[-1:] if not match.group(1) else before.rstrip(" \t")[-1:]
    needs_space = language == "en" and previous_char and previous_char not in "(\n"
    return (" " if needs_space else "") + words
