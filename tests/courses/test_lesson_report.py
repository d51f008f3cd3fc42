"""lesson_report prints a lesson's plan without rendering: scenes, chapters, formulas, series."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from tests.corpus import corpus_lesson


def report_of(source) -> str:
    """The report in English, whatever language an earlier test left active."""
    out = StringIO()
    with translation.override("en"):
        call_command("lesson_report", str(source), stdout=out)
    return out.getvalue()


def test_it_reports_scenes_formulas_and_a_series_for_a_long_chinese_lesson():
    text = report_of(corpus_lesson("zh-softmax-regression"))

    assert "scenes" in text and "chapters" in text
    assert "Shortest narration" in text
    assert "Chapter titles unique: yes" in text
    assert "Formulas: 11" in text
    assert "\\hat" in text  # the LaTeX and how it is drawn
    display = [line for line in text.splitlines() if "→" in line and "(inline)" not in line]
    assert sum("→  typeset" in line for line in display) == 11
    assert "(inline): $\\hat{y}_j$  →  typeset" in text  # formulas in bullets too
    assert "Series: proposed" in text
    assert "  2. 分类问题 — ~" in text


def test_it_needs_no_series_for_a_short_lesson():
    text = report_of(corpus_lesson("en-git-basics"))

    assert "Series: not needed" in text
    assert "In this lesson, we look at Automated Version Control." in text


def test_it_rejects_a_source_that_is_no_lesson(tmp_path):
    with pytest.raises(CommandError):
        report_of(tmp_path / "nothing-here")
