"""Check and extract untrusted zip archives without leaving the target folder.

Rejects absolute paths, `..` parts, drive letters, symbolic links, and archives whose
file count or total uncompressed size is too large (declared sizes are checked first,
then the bytes actually written, since a header can lie).
"""

from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from synthesis.errors import LessonImportError
from synthesis.messages import Message, gettext_noop

_CHUNK_BYTES = 1024 * 1024
_MB = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    max_files: int = 2000
    max_total_bytes: int = 500 * 1024 * 1024


DEFAULT_LIMITS = ZipLimits()


# What zipfile and zlib raise on damaged or unsupported archives.
_CORRUPT_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    ValueError,
    NotImplementedError,
)


def open_zip(path: Path, *, name: str) -> zipfile.ZipFile:
    """Open a zip archive, turning a corrupt one into an error naming the file."""
    try:
        return zipfile.ZipFile(path)
    except (*_CORRUPT_ZIP_ERRORS, OSError) as error:
        raise LessonImportError(
            Message(
                gettext_noop("'%(name)s' is not a readable zip archive (%(error)s)."),
                name=name,
                error=error,
            )
        ) from error


def verify(path: Path, *, name: str, limits: ZipLimits) -> None:
    """Check member paths and sizes, then every member's checksum, without extracting."""
    with open_zip(path, name=name) as archive:
        check_members(archive, name=name, limits=limits)
        try:
            # Reading stops at each member's declared size, which check_members bounded.
            bad_member = archive.testzip()
        except _CORRUPT_ZIP_ERRORS as error:
            raise LessonImportError(
                Message(gettext_noop("'%(name)s' is corrupt (%(error)s)."), name=name, error=error)
            ) from error
        except RuntimeError as error:  # zipfile's way of saying a member is encrypted
            raise LessonImportError(_encrypted(name)) from error
    if bad_member is not None:
        raise LessonImportError(
            Message(
                gettext_noop("'%(name)s' is corrupt: '%(member)s' fails its checksum."),
                name=name,
                member=bad_member,
            )
        )


def check_members(archive: zipfile.ZipFile, *, name: str, limits: ZipLimits) -> None:
    """Raise LessonImportError unless every member is a safe relative path within the limits."""
    members = archive.infolist()
    if len(members) > limits.max_files:
        raise LessonImportError(
            Message(
                gettext_noop(
                    "'%(name)s' holds %(count)s files; Lectern accepts at most %(limit)s."
                ),
                name=name,
                count=len(members),
                limit=limits.max_files,
            )
        )
    total = 0
    for member in members:
        _check_member_path(member, name=name)
        total += member.file_size
    if total > limits.max_total_bytes:
        raise LessonImportError(
            Message(
                gettext_noop(
                    "'%(name)s' unpacks to %(size)s MB; Lectern accepts at most %(limit)s MB."
                ),
                name=name,
                size=total // _MB,
                limit=limits.max_total_bytes // _MB,
            )
        )


def extract(
    path: Path,
    dest: Path,
    *,
    name: str,
    limits: ZipLimits,
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """Extract a checked archive into dest (which must exist and be empty).

    progress("unpacking", files done, file count) is called every few files.
    """
    archive = open_zip(path, name=name)
    with archive:
        check_members(archive, name=name, limits=limits)
        written = 0
        members = archive.infolist()
        for number, member in enumerate(members, 1):
            if progress is not None and number % 20 == 1:
                progress("unpacking", number - 1, len(members))
            target = dest.joinpath(*PurePosixPath(member.filename).parts)
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written += _extract_member(archive, member, target, name=name)
            if written > limits.max_total_bytes:
                raise LessonImportError(
                    Message(
                        gettext_noop(
                            "'%(name)s' unpacks to more than %(limit)s MB; "
                            "Lectern stopped reading it."
                        ),
                        name=name,
                        limit=limits.max_total_bytes // _MB,
                    )
                )


def _extract_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, *, name: str
) -> int:
    written = 0
    try:
        with archive.open(member) as source, open(target, "wb") as out:
            # zipfile stops at the declared size and checks the CRC, so a lying header
            # ends in BadZipFile rather than an endless stream.
            while chunk := source.read(_CHUNK_BYTES):
                written += len(chunk)
                out.write(chunk)
    except _CORRUPT_ZIP_ERRORS as error:
        raise LessonImportError(
            Message(
                gettext_noop("'%(name)s' is corrupt: '%(member)s' cannot be unpacked (%(error)s)."),
                name=name,
                member=member.filename,
                error=error,
            )
        ) from error
    except RuntimeError as error:
        raise LessonImportError(_encrypted(name)) from error
    return written


def _check_member_path(member: zipfile.ZipInfo, *, name: str) -> None:
    filename = member.filename
    path = PurePosixPath(filename.replace("\\", "/"))
    unsafe = (
        "\\" in filename
        or path.is_absolute()
        or ".." in path.parts
        or (path.parts and ":" in path.parts[0])
        or "\x00" in filename
    )
    if unsafe:
        raise LessonImportError(
            Message(
                gettext_noop(
                    "'%(name)s' contains '%(member)s', a path outside the archive; "
                    "Lectern refuses such archives."
                ),
                name=name,
                member=filename,
            )
        )
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise LessonImportError(
            Message(
                gettext_noop(
                    "'%(name)s' contains a symbolic link ('%(member)s'); "
                    "Lectern refuses links in uploads."
                ),
                name=name,
                member=filename,
            )
        )


def _encrypted(name: str) -> Message:
    return Message(
        gettext_noop("'%(name)s' is encrypted; upload it without a password."), name=name
    )


def remove_tree(path: Path) -> None:
    """Remove a working folder if it exists (used to leave nothing behind on failure)."""
    shutil.rmtree(path, ignore_errors=True)
