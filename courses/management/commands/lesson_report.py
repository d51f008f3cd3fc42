"""python manage.py lesson_report SOURCE

Prints the plan for a lesson without rendering anything: each scene with its estimated
length and chapter, the shortest narration, repeated titles, the formulas (display, and
inline ones in bullets) and how they will be drawn (typeset, or Unicode text where
typesetting fails), and, when the lesson would
narrate for more than about 12 minutes, a proposed split into one lesson per top-level
section. SOURCE is a Markdown lesson folder, a .zip of
one, a PDF, a PPTX, or the id of a lesson in the database (its latest version).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from courses.series import SERIES_THRESHOLD_S, series_parts
from synthesis.captions import chapter_titles
from synthesis.errors import SynthesisError
from synthesis.frames.latex_text import inline_math_runs, latex_to_unicode
from synthesis.frames.math_typeset import typeset_formula, typeset_inline
from synthesis.markdown_scenes import speech_seconds


@dataclass(frozen=True)
class PlannedScene:
    kind: str
    title: str
    narration: str
    math: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()


class Command(BaseCommand):
    help = "Print a lesson's scene plan (lengths, chapters, formulas, series split); no render."

    def add_arguments(self, parser):
        parser.add_argument("source", help="a lesson folder, .zip, .pdf, .pptx or lesson id")
        parser.add_argument("--lang", choices=["en", "zh"], help="default: from the lesson")

    def handle(self, *args, source: str, **options):
        title, language, scenes, warnings = _plan(source, language=options.get("lang"))
        self.stdout.write(report(title, language, scenes, warnings))


def _plan(source: str, *, language: str | None):
    path = Path(source)
    try:
        if path.is_dir():
            from synthesis.markdown import import_lesson_folder

            storyboard = import_lesson_folder(path, language=language)
            return _from_storyboard(storyboard)
        suffix = path.suffix.lower()
        if path.is_file() and suffix in (".zip", ".pdf", ".pptx"):
            return _from_file(path, suffix, language)
    except SynthesisError as error:
        raise CommandError(f"{source}: {error}") from error
    if source.isdigit():
        from courses.models import Lesson
        from courses.storyboards import storyboard_from_version

        lesson = Lesson.objects.filter(pk=int(source)).first()
        if lesson is None or lesson.latest_version is None:
            raise CommandError(_("There is no lesson version with id %(id)s.") % {"id": source})
        return _from_storyboard(storyboard_from_version(lesson.latest_version))
    raise CommandError(
        _("'%(source)s' is not a lesson folder, .zip, .pdf, .pptx or lesson id.")
        % {"source": source}
    )


def _from_storyboard(storyboard):
    scenes = [
        PlannedScene(
            s.visual.kind,
            s.visual.title,
            s.narration,
            tuple(s.visual.math),
            tuple(s.visual.bullets) if s.visual.kind == "text" else (),
        )
        for s in storyboard.scenes
    ]
    return storyboard.title, storyboard.language, scenes, list(storyboard.warnings)


def _from_file(path: Path, suffix: str, language: str | None):
    from lessonimport.markdown import import_markdown_zip
    from lessonimport.pdf import import_pdf
    from lessonimport.pptx import import_pptx

    importer = {".zip": import_markdown_zip, ".pdf": import_pdf, ".pptx": import_pptx}[suffix]
    with tempfile.TemporaryDirectory(prefix="lectern-report-") as workdir:
        result = importer(path, workdir=Path(workdir), source_name=path.name, language=language)
    scenes = [
        PlannedScene(
            s.kind,
            s.title,
            s.narration,
            tuple(s.math),
            tuple(s.bullets) if s.kind == "text" else (),
        )
        for s in result.scenes
    ]
    return result.title, result.language, scenes, list(result.warnings)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def report(title: str, language: str, scenes: list[PlannedScene], warnings: list[str]) -> str:
    """The plan as text (the command's output)."""
    seconds = [speech_seconds(scene.narration) for scene in scenes]
    total_s = sum(seconds)
    chapters = chapter_titles([scene.title for scene in scenes], language)
    chapter_of = {}
    for number, (first, chapter) in enumerate(chapters):
        end = chapters[number + 1][0] if number + 1 < len(chapters) else len(scenes)
        for position in range(first, end):
            chapter_of[position] = chapter
    lines = [
        f"{title} ({language}): {len(scenes)} "
        + _("scenes")
        + f", {len(chapters)} "
        + _("chapters")
        + f", ~{_clock(total_s)}",
        "",
    ]
    for position, scene in enumerate(scenes):
        marker = "▸ " if any(first == position for first, _ in chapters) else "  "
        said = " ".join(scene.narration.split())
        lines.append(
            f"{marker}{position + 1:3d} {scene.kind:5s} {_clock(seconds[position]):>5s}  "
            f"[{chapter_of.get(position, scene.title)}] {said[:70]}"
        )
    if scenes:
        shortest = min(range(len(scenes)), key=lambda i: seconds[i])
        lines += [
            "",
            _("Shortest narration")
            + f": {_('scene')} {shortest + 1} ({seconds[shortest]:.0f} s): "
            + f"{scenes[shortest].narration!r}",
        ]
    titles = Counter(scene.title for scene in scenes)
    repeated = [f"{name} ×{count}" for name, count in titles.items() if count > 1]
    lines.append(_("Repeated slide titles") + ": " + ("; ".join(repeated) or _("none")))
    chapter_names = [name for _, name in chapters]
    lines.append(
        _("Chapter titles unique")
        + ": "
        + (_("yes") if len(set(chapter_names)) == len(chapter_names) else _("no"))
    )
    formulas = [(i, latex) for i, scene in enumerate(scenes) for latex in scene.math]
    inline = [
        (i, latex)
        for i, scene in enumerate(scenes)
        for bullet in scene.bullets
        for kind, latex in inline_math_runs(bullet)
        if kind == "math"
    ]
    lines += ["", _("Formulas") + f": {len(formulas)}, " + _("inline") + f": {len(inline)}"]
    for position, latex in formulas:
        lines.append(
            f"  {_('scene')} {position + 1}: {' '.join(latex.split())[:60]}  →  " + _drawn(latex)
        )
    for position, latex in inline:
        lines.append(
            f"  {_('scene')} {position + 1} ({_('inline')}): ${' '.join(latex.split())[:60]}$  →  "
            + _drawn(latex, inline=True)
        )
    lines += ["", series_proposal(scenes, seconds, language, total_s)]
    if warnings:
        lines += ["", _("Warnings") + ":"] + [f"  {warning}" for warning in warnings]
    return "\n".join(lines) + "\n"


def _drawn(latex: str, *, inline: bool = False) -> str:
    """How the slide will draw a formula: typeset, or as Unicode text when typesetting fails."""
    if inline:
        formula = typeset_inline(latex, size_px=32)
    else:
        formula = typeset_formula(latex, size_px=32, color=(255, 255, 255))
    if formula.typeset:
        return _("typeset")
    drawn = " ".join(latex_to_unicode(latex).split())
    return (
        _("Unicode text (the typesetter failed: %(problem)s)") % {"problem": formula.problem[:80]}
        + f": {drawn[:60]}"
    )


def series_proposal(scenes, seconds, language, total_s) -> str:
    """One lesson per chapter (top-level section) when the whole narrates > ~12 minutes."""
    if total_s <= SERIES_THRESHOLD_S:
        return _("Series: not needed (under 12 minutes).")
    lines = [
        _("Series: proposed (the lesson narrates for %(length)s, over 12 minutes).")
        % {"length": _clock(total_s)}
    ]
    titles = [scene.title for scene in scenes]
    kinds = [scene.kind for scene in scenes]
    for part in series_parts(titles, seconds, language, kinds=kinds):
        lines.append(f"  {part.number}. {part.title} — ~{_clock(part.estimate_s)}")
    return "\n".join(lines)
