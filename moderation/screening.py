"""Automatic screening of a submitted version, before a person looks: listed terms and
personal data in the narration and slide text, and every scene image decoded and re-encoded.

Matching (`text_findings`) is plain Python over strings, so it is tested without a database:
- terms admins list (`ScreeningTerm`): English whole words, case-insensitive; Chinese terms
  as substrings (Chinese has no spaces between words); a term of "any" language matches as a
  whole word unless it contains Chinese characters.
- phone numbers (Chinese mobiles 1[3-9] + 9 digits, and international or local numbers
  written in groups), e-mail addresses (not the reserved example domains), Chinese ID-card
  numbers (18 characters whose check digit is right: other 18-digit numbers are not IDs).
Offsets are character offsets [start, end) into the field's text as stored.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from PIL import Image

from courses.models import LessonVersion, Scene
from courses.storage import local_media_path
from moderation.models import (
    FindingKind,
    ScreeningField,
    ScreeningFinding,
    ScreeningLanguage,
    ScreeningTerm,
    Severity,
)
from synthesis.errors import SynthesisError
from synthesis.frames.images import load_image

EXCERPT_CHARS = 300
# Scene fields screened, in the order the review page shows them.
TEXT_FIELDS = (
    ScreeningField.TITLE,
    ScreeningField.BODY,
    ScreeningField.CODE,
    ScreeningField.IMAGE_ALT,
    ScreeningField.NARRATION,
)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A word character that is not Chinese or Japanese: "damn" in "这damn" is still a whole word.
_WORD = rf"[^\W{_CJK}]"
_HAS_CJK = re.compile(rf"[{_CJK}]")

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
_RESERVED_DOMAINS = ("example.com", "example.org", "example.net")
_RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CN_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
# "+44 20 7946 0958", "(555) 123-4567", "020-7946-0958": three or more groups of digits.
_PHONE = re.compile(
    r"(?<![\w+.])(?:\+\d{1,3}[ -]?)?(?:\(\d{1,4}\)[ -]?)?\d{2,4}(?:[ -]\d{2,4}){1,3}(?!\w|\.\d)"
)
_PHONE_MIN_DIGITS, _PHONE_MAX_DIGITS = 9, 15


@dataclass(frozen=True)
class TermRule:
    """A listed term, ready to match."""

    term: str
    language: str
    severity: str

    def pattern(self) -> re.Pattern:
        escaped = re.escape(self.term.strip())
        substring = self.language == ScreeningLanguage.CHINESE or (
            self.language == ScreeningLanguage.ANY and _HAS_CJK.search(self.term)
        )
        if substring:
            return re.compile(escaped, re.IGNORECASE)
        return re.compile(rf"(?<!{_WORD}){escaped}(?!{_WORD})", re.IGNORECASE)


@dataclass(frozen=True)
class TextFinding:
    kind: str
    start: int
    end: int
    excerpt: str
    severity: str


def id_card_checksum_ok(number: str) -> bool:
    """Whether an 18-character Chinese resident ID number has the right check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _email_is_reserved(domain: str) -> bool:
    domain = domain.lower()
    return domain in _RESERVED_DOMAINS or domain.endswith(_RESERVED_SUFFIXES)


def personal_data_findings(text: str) -> list[TextFinding]:
    """Phone numbers, e-mail addresses and valid Chinese ID-card numbers in `text`."""
    found: list[TextFinding] = []
    taken: list[tuple[int, int]] = []

    def overlaps(start: int, end: int) -> bool:
        return any(start < other_end and other_start < end for other_start, other_end in taken)

    def add(kind: str, match: re.Match, severity: str) -> None:
        start, end = match.span()
        if overlaps(start, end):
            return
        taken.append((start, end))
        found.append(TextFinding(kind, start, end, match.group(0), severity))

    for match in _ID_CARD.finditer(text):
        if id_card_checksum_ok(match.group(0)):
            add(FindingKind.ID_CARD, match, Severity.HIGH)
    for match in _EMAIL.finditer(text):
        if not _email_is_reserved(match.group(1)):
            add(FindingKind.EMAIL, match, Severity.MEDIUM)
    for match in _CN_MOBILE.finditer(text):
        add(FindingKind.PHONE, match, Severity.MEDIUM)
    for match in _PHONE.finditer(text):
        digits = sum(char.isdigit() for char in match.group(0))
        if _PHONE_MIN_DIGITS <= digits <= _PHONE_MAX_DIGITS:
            add(FindingKind.PHONE, match, Severity.MEDIUM)
    return sorted(found, key=lambda finding: finding.start)


def term_findings(text: str, rules: Iterable[TermRule]) -> list[TextFinding]:
    """Every place a listed term occurs in `text`."""
    found = []
    for rule in rules:
        if not rule.term.strip():
            continue
        for match in rule.pattern().finditer(text):
            found.append(
                TextFinding(FindingKind.TERM, *match.span(), match.group(0), rule.severity)
            )
    return sorted(found, key=lambda finding: finding.start)


def text_findings(text: str, rules: Iterable[TermRule]) -> list[TextFinding]:
    return sorted(term_findings(text, rules) + personal_data_findings(text), key=lambda f: f.start)


def image_problem(path: Path) -> str:
    """Why a scene image fails the check ("" when it passes): decoded by load_image within
    the sandbox's limits, then re-encoded (PNG with transparency, else JPEG) and decoded again.

    The re-encoded copy is made in memory: it proves the pixels survive a clean encoder,
    which a polyglot or truncated file does not.
    """
    try:
        image = load_image(path)
    except SynthesisError as error:
        return str(error)
    copy = io.BytesIO()
    try:
        if image.mode == "RGBA":
            image.save(copy, format="PNG")
        else:
            image.convert("RGB").save(copy, format="JPEG", quality=90)
        copy.seek(0)
        with Image.open(copy) as again:
            again.load()
            if again.size != image.size:
                return f"image '{path.name}' changed size when re-encoded"
    except (OSError, ValueError) as error:
        return f"image '{path.name}' could not be re-encoded: {error}"
    return ""


def screening_rules() -> list[TermRule]:
    return [
        TermRule(term.term, term.language, term.severity) for term in ScreeningTerm.objects.all()
    ]


def _scene_findings(scene: Scene, rules: list[TermRule]) -> list[ScreeningFinding]:
    rows = []
    for field in TEXT_FIELDS:
        text = getattr(scene, field) or ""
        for finding in text_findings(text, rules):
            rows.append(
                ScreeningFinding(
                    version=scene.version,
                    scene=scene,
                    kind=finding.kind,
                    field=field,
                    excerpt=finding.excerpt[:EXCERPT_CHARS],
                    start=finding.start,
                    end=finding.end,
                    severity=finding.severity,
                )
            )
    if scene.image:
        problem = image_problem(
            local_media_path(scene.image.name) or Path(settings.MEDIA_ROOT) / scene.image.name
        )
        if problem:
            rows.append(
                ScreeningFinding(
                    version=scene.version,
                    scene=scene,
                    kind=FindingKind.IMAGE,
                    field=ScreeningField.IMAGE,
                    excerpt=problem[:EXCERPT_CHARS],
                    severity=Severity.HIGH,
                )
            )
    return rows


def version_screen(version: LessonVersion) -> list[ScreeningFinding]:
    """Screen every scene of the version; replaces its stored findings and returns them."""
    rules = screening_rules()
    rows = []
    for scene in version.scenes.select_related("version").order_by("position", "id"):
        rows.extend(_scene_findings(scene, rules))
    with transaction.atomic():
        ScreeningFinding.objects.filter(version=version).delete()
        return ScreeningFinding.objects.bulk_create(rows)


def highlighted(text: str, spans: Iterable[tuple[int, int]]) -> SafeString:
    """`text` escaped, with each [start, end) span wrapped in <mark> (overlaps merged)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts, cursor = [], 0
    for start, end in merged:
        parts.append(escape(text[cursor:start]))
        parts.append(f'<mark class="finding">{escape(text[start:end])}</mark>')
        cursor = end
    parts.append(escape(text[cursor:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text is escaped above
