"""Content-addressed store of encoded segments: `<cache_dir>/segments/<hash>.mp4`, LRU-evicted.

A segment's hash covers everything that changes its pixels or samples, so a re-render asks
only which hashes are missing. Files are written atomically and touched on use; eviction
removes the least recently used files until the store fits its size cap, never a pinned one.

Pins: an owner (a published lesson, a live playlist, a render job) pins the keys it refers
to with `pin(keys, owner=...)`; each owner's pins are one JSON file under
`segments/pins/`, so owners pin and unpin without touching each other's. A render in
progress holds its segments differently: `hold()` hard-links them into its own folder.

Two tiers: given a `remote` (an object store, passed in by the Django side), the local folder
is a cache of it. A segment written here is uploaded under its key, a segment missing here
is fetched into the local store before use (a content-addressed copy is always valid), and
pins live in the remote, where every machine sees them; local eviction then ignores pins,
since evicting a local copy loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# Bump when frames, audio or encoding change in a way the key fields do not capture.
RENDERER_VERSION = "2"
_HASH_CHUNK_BYTES = 1 << 20
ABANDONED_WRITE_S = 24 * 3600
_OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def content_key(kind: str, fields: dict[str, object]) -> str:
    """sha256 over a canonical JSON of the fields, the segment kind and RENDERER_VERSION."""
    payload = {"kind": kind, "renderer": RENDERER_VERSION, **fields}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class EvictionResult:
    removed: tuple[str, ...]
    bytes_before: int
    bytes_after: int


class SegmentRemote(Protocol):
    """The shared tier of a two-tier store (an S3 bucket): immutable segments and pin lists."""

    def exists(self, key: str) -> bool: ...

    def fetch(self, key: str, dest: Path) -> bool:
        """Write the segment's bytes to dest; False when the remote does not have it."""

    def upload(self, key: str, source: Path) -> None: ...

    def read_pins(self, owner: str) -> frozenset[str]: ...

    def write_pins(self, owner: str, keys: frozenset[str]) -> None: ...

    def delete_pins(self, owner: str) -> None: ...

    def pin_owners(self) -> list[str]: ...


class SegmentStore:
    """Encoded segments by content hash under cache_dir/segments (a cache of `remote` if given)."""

    def __init__(
        self, cache_dir: Path, *, max_bytes: int | None = None, remote: SegmentRemote | None = None
    ) -> None:
        self.root = Path(cache_dir) / "segments"
        self.max_bytes = max_bytes
        self.remote = remote
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def pins_dir(self) -> Path:
        return self.root / "pins"

    @property
    def hls_dir(self) -> Path:
        """MPEG-TS remuxes of stored segments, for HLS playlists (synthesis.hls)."""
        return self.root / "hls"

    def path_for(self, key: str) -> Path:
        return self.root / f"{key}.mp4"

    def has(self, key: str) -> bool:
        """Whether the segment is stored (here or in the remote); writes no file (a plan must
        not)."""
        if self.path_for(key).is_file():
            return True
        return self.remote is not None and self.remote.exists(key)

    def get(self, key: str) -> Path | None:
        """The segment's local path if it is stored (and mark it recently used), else None;
        a segment only the remote has is fetched first."""
        path = self.path_for(key)
        try:
            os.utime(path)
        except FileNotFoundError:
            return self._fetch(key) if self.remote is not None else None
        return path

    def _fetch(self, key: str) -> Path | None:
        with self._temporary(key) as temp_path:
            if not self.remote.fetch(key, temp_path):
                return None
            os.replace(temp_path, self.path_for(key))
        if self.max_bytes is not None:
            self.evict(keep=[key])
        return self.path_for(key)

    def push(self, keys: Iterable[str]) -> list[str]:
        """Upload the stored segments the remote lacks (those encoded by a store without the
        remote, or before it existed); the keys uploaded. No remote: nothing to do."""
        if self.remote is None:
            return []
        pushed = []
        for key in dict.fromkeys(keys):
            if not self.remote.exists(key):
                path = self.path_for(key)
                if not path.is_file():
                    raise FileNotFoundError(f"segment {key[:16]} is in neither tier")
                self.remote.upload(key, path)
                pushed.append(key)
        return pushed

    @contextlib.contextmanager
    def _temporary(self, key: str) -> Iterator[Path]:
        handle, temp_name = tempfile.mkstemp(prefix=f".{key[:16]}-", suffix=".mp4", dir=self.root)
        os.close(handle)
        temp_path = Path(temp_name)
        try:
            yield temp_path
        finally:
            temp_path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        """Yield a temporary path to write the segment to; it becomes the stored file on success.

        On any exception (cancellation included) the partial file is removed and nothing is
        stored under the key. With a remote, the finished file is uploaded too.
        """
        with self._temporary(key) as temp_path:
            yield temp_path
            os.replace(temp_path, self.path_for(key))
        if self.remote is not None:
            self.remote.upload(key, self.path_for(key))

    def hold(self, key: str, folder: Path) -> Path | None:
        """Hard-link a stored segment into folder, so eviction elsewhere cannot take it away.

        Returns the pinned path, the stored path when a link is impossible (another file
        system), or None when the segment is not stored. Marks the segment as used.
        """
        stored = self.get(key)
        if stored is None:
            return None
        pinned = Path(folder) / stored.name
        if pinned.exists():
            return pinned
        try:
            os.link(stored, pinned)
        except FileNotFoundError:
            return None  # evicted by a concurrent render just now
        except OSError:
            return stored
        return pinned

    # Pins -------------------------------------------------------------------------------

    def _pin_file(self, owner: str) -> Path:
        if not _OWNER.match(owner):
            raise ValueError(f"pin owner {owner!r}: letters, digits, '.', '_' and '-' only")
        return self.pins_dir / f"{owner}.json"

    def pins(self, owner: str) -> frozenset[str]:
        """The keys one owner pins."""
        if self.remote is not None:
            self._pin_file(owner)  # checks the name
            return self.remote.read_pins(owner)
        try:
            data = json.loads(self._pin_file(owner).read_text("utf-8"))
        except FileNotFoundError:
            return frozenset()
        return frozenset(data.get("keys", ()))

    def pin(self, keys: Iterable[str], *, owner: str) -> frozenset[str]:
        """Add keys to owner's pins (a segment pinned by anyone is never evicted)."""
        pinned = self.pins(owner) | set(keys)
        self._write_pins(owner, pinned)
        return pinned

    def unpin(self, keys: Iterable[str] | None = None, *, owner: str) -> frozenset[str]:
        """Remove keys from owner's pins; keys=None removes all of them (and its file)."""
        pinned = frozenset() if keys is None else self.pins(owner) - set(keys)
        if pinned:
            self._write_pins(owner, pinned)
        elif self.remote is not None:
            self._pin_file(owner)
            self.remote.delete_pins(owner)
        else:
            self._pin_file(owner).unlink(missing_ok=True)
        return pinned

    def pin_owners(self) -> list[str]:
        if self.remote is not None:
            return sorted(self.remote.pin_owners())
        return sorted(path.stem for path in self.pins_dir.glob("*.json"))

    def pinned(self) -> frozenset[str]:
        """Every key some owner pins."""
        keys: set[str] = set()
        for owner in self.pin_owners():
            keys |= self.pins(owner)
        return frozenset(keys)

    def _write_pins(self, owner: str, keys: Iterable[str]) -> None:
        path = self._pin_file(owner)
        if self.remote is not None:
            self.remote.write_pins(owner, frozenset(keys))
            return
        self.pins_dir.mkdir(exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=f".{owner}-", suffix=".tmp", dir=self.pins_dir)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"owner": owner, "keys": sorted(keys)}, out, indent=0)
        os.replace(temp_name, path)

    def remove(self, keys: Iterable[str]) -> list[str]:
        """Remove stored segments (and their HLS remuxes), pinned or not; those removed."""
        removed = []
        for key in keys:
            path = self.path_for(key)
            if path.exists():
                path.unlink(missing_ok=True)
                removed.append(key)
            (self.hls_dir / f"{key}.ts").unlink(missing_ok=True)
        return removed

    def keys(self) -> list[str]:
        return [path.stem for path in self.root.glob("*.mp4") if not path.name.startswith(".")]

    def total_bytes(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def evict(self, *, keep: Iterable[str] = ()) -> EvictionResult:
        """Remove least recently used segments until the store is within max_bytes.

        Segments named in keep (those the current render uses) and pinned segments are never
        removed, even if they alone exceed the cap. With a remote, pins do not protect local
        copies: the remote keeps the segment, and a later get() fetches it again.
        """
        self._remove_abandoned_writes()
        entries = self._entries()
        before = sum(size for _, size, _ in entries)
        if self.max_bytes is None or before <= self.max_bytes:
            return EvictionResult((), before, before)
        protected = set(keep) | (self.pinned() if self.remote is None else set())
        total = before
        removed: list[str] = []
        # Use time is the later of atime and mtime: get() touches both, and mounts with
        # noatime still keep the mtime.
        for path, size, _ in sorted(entries, key=lambda entry: entry[2]):
            if total <= self.max_bytes:
                break
            if path.stem in protected:
                continue
            path.unlink(missing_ok=True)
            (self.hls_dir / f"{path.stem}.ts").unlink(missing_ok=True)
            total -= size
            removed.append(path.stem)
        return EvictionResult(tuple(removed), before, total)

    def _remove_abandoned_writes(self) -> None:
        # A killed render can leave a half-written temporary file; no write takes a day.
        cutoff = time.time() - ABANDONED_WRITE_S
        for path in self.root.glob(".*.mp4"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    def _entries(self) -> list[tuple[Path, int, float]]:
        entries = []
        for path in self.root.glob("*.mp4"):
            if path.name.startswith("."):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # removed by a concurrent render
            entries.append((path, stat.st_size, max(stat.st_atime, stat.st_mtime)))
        return entries
