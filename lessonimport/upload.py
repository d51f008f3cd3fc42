"""Which importer reads an upload, judged by its name and checked against its first bytes."""

from __future__ import annotations

from pathlib import Path

from lessonimport import safezip
from lessonimport.draft import ImportProgress, ImportResult, no_progress
from lessonimport.markdown import import_markdown_zip
from lessonimport.pdf import import_pdf
from lessonimport.pptx import import_pptx
from synthesis.errors import LessonImportError
from synthesis.messages import Message, gettext_noop

EXTENSIONS = {".zip": "zip", ".pdf": "pdf", ".pptx": "pptx"}
# The bytes each kind starts with: a .pptx is a zip too.
_SIGNATURES = {"zip": (b"PK\x03\x04", b"PK\x05\x06"), "pdf": (b"%PDF-",), "pptx": (b"PK\x03\x04",)}
_DESCRIPTIONS = {
    "zip": Message(gettext_noop("a zip archive")),
    "pdf": Message(gettext_noop("a PDF")),
    "pptx": Message(gettext_noop("a PowerPoint .pptx file")),
}


def kind_for_name(filename: str) -> str | None:
    """'zip', 'pdf' or 'pptx' from the file name, or None for anything else."""
    return EXTENSIONS.get(Path(filename).suffix.lower())


def check_signature(path: Path, *, kind: str, source_name: str) -> None:
    """Raise LessonImportError when the file's first bytes do not match its extension."""
    with open(path, "rb") as handle:
        head = handle.read(1024)
    signatures = _SIGNATURES[kind]
    # PDFs may carry a few bytes of junk before the header; viewers accept that.
    matches = (
        any(sig in head for sig in signatures) if kind == "pdf" else head.startswith(signatures)
    )
    if not matches:
        raise LessonImportError(
            Message(
                gettext_noop(
                    "'%(name)s' is named like %(kind)s but is not one (its content does not "
                    "match); check that you picked the right file."
                ),
                name=source_name,
                kind=_DESCRIPTIONS[kind],
            )
        )


def parse_upload(
    path: Path,
    *,
    kind: str,
    workdir: Path,
    source_name: str,
    language: str | None = None,
    limits: safezip.ZipLimits = safezip.DEFAULT_LIMITS,
    progress: ImportProgress = no_progress,
) -> ImportResult:
    """Parse an uploaded file of a known kind, writing its images into workdir."""
    check_signature(path, kind=kind, source_name=source_name)
    common = {"workdir": workdir, "source_name": source_name, "language": language}
    if kind == "zip":
        return import_markdown_zip(path, **common, limits=limits, progress=progress)
    if kind == "pdf":
        return import_pdf(path, **common, progress=progress)
    if kind == "pptx":
        return import_pptx(path, **common, limits=limits, progress=progress)
    raise LessonImportError(
        Message(
            gettext_noop("'%(name)s': Lectern cannot import %(kind)s files."),
            name=source_name,
            kind=kind,
        )
    )
