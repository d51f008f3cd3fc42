"""A code slide's text holds commands and the output they print, told apart by a fence line.

Output follows a line that is exactly ```output and runs to a line that is exactly ``` (or
the end). It is plain text in the stored code, so it survives the database and the scene
editor, and a teacher can type it the way Markdown lessons write output.
"""

from __future__ import annotations

OUTPUT_OPEN = "```output"
OUTPUT_CLOSE = "```"


def with_output(code: str, output: str) -> str:
    """Code followed by an output block."""
    if not code.strip():
        return f"{OUTPUT_OPEN}\n{output.rstrip(chr(10))}\n{OUTPUT_CLOSE}"
    return f"{code.rstrip(chr(10))}\n{OUTPUT_OPEN}\n{output.rstrip(chr(10))}\n{OUTPUT_CLOSE}"


def code_lines(code: str) -> list[tuple[bool, str]]:
    """The lines of a code slide as (is_output, line), fence lines left out."""
    lines: list[tuple[bool, str]] = []
    in_output = False
    for line in code.rstrip("\n").split("\n"):
        if not in_output and line.strip() == OUTPUT_OPEN:
            in_output = True
        elif in_output and line.strip() == OUTPUT_CLOSE:
            in_output = False
        else:
            lines.append((in_output, line))
    return lines


def source_only(code: str) -> str:
    """Only the code (no output), e.g. for describing a slide."""
    return "\n".join(line for is_output, line in code_lines(code) if not is_output)
