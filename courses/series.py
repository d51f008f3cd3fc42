"""Long material as a series: one lesson per top-level section when the whole would narrate
for more than about 12 minutes.

A section is what the chapters of a video are (`synthesis.captions.chapter_titles`):
neighbouring scenes under one heading, "… (continued)" slides included. A title card that
opens the material belongs to the first part, so no part is a lone title card. The same
split is printed by `manage.py lesson_report` and proposed on the import review page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from synthesis.captions import chapter_titles

# Above this much narration a lesson is proposed as a series, one lesson per section.
SERIES_THRESHOLD_S = 12 * 60


@dataclass(frozen=True)
class SeriesPart:
    """One proposed lesson: scenes[first:end] of the material, under its section's title."""

    number: int  # from 1
    title: str
    first: int
    end: int
    estimate_s: float

    @property
    def scene_count(self) -> int:
        return self.end - self.first


def series_parts(
    titles: Sequence[str], seconds: Sequence[float], language: str, *, kinds: Sequence[str] = ()
) -> list[SeriesPart]:
    """The material split at its sections: scene titles, each scene's estimated seconds, and
    (optionally) each scene's kind, so an opening title card joins the first part."""
    chapters = chapter_titles(list(titles), language)
    if len(chapters) > 1 and kinds and kinds[0] == "title" and chapters[1][0] == 1:
        # The lesson's title card opens the first section instead of being a part alone.
        chapters = [(0, chapters[1][1]), *chapters[2:]]
    parts = []
    for number, (first, title) in enumerate(chapters, start=1):
        end = chapters[number][0] if number < len(chapters) else len(titles)
        parts.append(SeriesPart(number, title, first, end, sum(seconds[first:end])))
    return parts


def series_proposal(
    titles: Sequence[str], seconds: Sequence[float], language: str, *, kinds: Sequence[str] = ()
) -> list[SeriesPart]:
    """The proposed parts when the material runs over the threshold and has more than one
    section; an empty list when one lesson is right."""
    if sum(seconds) <= SERIES_THRESHOLD_S:
        return []
    parts = series_parts(titles, seconds, language, kinds=kinds)
    return parts if len(parts) > 1 else []
