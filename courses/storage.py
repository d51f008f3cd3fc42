"""Where media live: MEDIA_ROOT on a (shared) file system, or an S3-compatible bucket.

The default storage decides (STORAGES["default"], set from LECTERN_MEDIA_S3_BUCKET in the
settings). With the bucket, scene images are stored by the ImageField through Django's
storage API, a render's outputs are uploaded once the worker has them all, and encoded
segments form a two-tier store (`SegmentStore(remote=...)`): the bucket holds them under
`segments/<key>.mp4`, each machine's LECTERN_CACHE_DIR a local, content-addressed copy.
MEDIA_ROOT then is only the render worker's working area and the web processes' local
copies of files that code must open by path (a render's storyboard images, publish checks).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.files.storage import storages

logger = logging.getLogger(__name__)

SEGMENTS_PREFIX = "segments/"
PINS_PREFIX = "segments/pins/"


def media_in_bucket() -> bool:
    """Whether the default storage is the S3 backend (else MEDIA_ROOT on a file system)."""
    from storages.backends.s3 import S3Storage

    return isinstance(storages["default"], S3Storage)


@dataclass(frozen=True)
class Bucket:
    """The default storage's bucket through boto3's client (keys are the storage names)."""

    client: object
    name: str

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.name, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def download(self, key: str, dest: Path) -> bool:
        """Write the object to dest (a temporary name the caller renames); False if absent."""
        from botocore.exceptions import ClientError

        try:
            self.client.download_file(self.name, key, str(dest))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def upload(self, source: Path, key: str, *, content_type: str) -> None:
        """One PUT (or multipart upload) of a complete local file: S3 shows the object only
        once the whole upload succeeded, so a failed one leaves no partial object."""
        self.client.upload_file(
            str(source), self.name, key, ExtraArgs={"ContentType": content_type}
        )

    def keys(self, prefix: str) -> Iterator[dict]:
        """Every object under prefix ({Key, Size, LastModified, ...})."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        )
        for page in pages:
            yield from page.get("Contents", ())

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000
            chunk = [{"Key": key} for key in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.name, Delete={"Objects": chunk, "Quiet": True})

    def presigned_url(self, key: str, *, content_type: str, disposition: str) -> str:
        """A GET URL valid for LECTERN_MEDIA_URL_EXPIRES_S, answered with our headers; on the
        media domain (LECTERN_MEDIA_URL) when one is set, whose proxy forwards it to the store
        with the store's Host header, so the signature still matches."""
        url = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.name,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
                "ResponseCacheControl": "private, max-age=3600",
            },
            ExpiresIn=settings.LECTERN_MEDIA_URL_EXPIRES_S,
        )
        if not settings.LECTERN_MEDIA_URL:
            return url
        media = urlsplit(settings.LECTERN_MEDIA_URL)
        signed = urlsplit(url)
        path = media.path.rstrip("/") + signed.path
        return urlunsplit((media.scheme, media.netloc, path, signed.query, ""))


def bucket() -> Bucket:
    storage = storages["default"]
    return Bucket(client=storage.connection.meta.client, name=storage.bucket_name)


# Files that code opens by path ------------------------------------------------------------


def local_media_path(name: str) -> Path | None:
    """A local path with the stored file's bytes (None if it is not stored): the file itself
    under MEDIA_ROOT, or a copy of the bucket's object under LECTERN_CACHE_DIR/media/<etag>/,
    so a name reused for other bytes never reads a stale copy."""
    if not name:
        return None
    if not media_in_bucket():
        try:
            path = Path(storages["default"].path(name))
        except (NotImplementedError, ValueError):
            return None
        return path if path.is_file() else None
    store = bucket()
    head = store.head(name)
    if head is None:
        return None
    etag = head["ETag"].strip('"').replace("/", "_")
    copy = Path(settings.LECTERN_CACHE_DIR) / "media" / etag / Path(name).name
    if copy.is_file():
        return copy
    copy.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".download-", dir=copy.parent)
    os.close(handle)
    try:
        if not store.download(name, Path(temp_name)):
            return None
        os.replace(temp_name, copy)
    finally:
        Path(temp_name).unlink(missing_ok=True)
    return copy


def stored_bytes(name: str) -> int:
    """Size of a stored file (its object with media in a bucket); 0 when it is missing."""
    storage = storages["default"]
    return storage.size(name) if storage.exists(name) else 0


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under a local folder (links not followed); 0 when it is missing."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            with contextlib.suppress(OSError):
                total += 0 if path.is_symlink() else path.stat().st_size
    return total


def stored_folder_bytes(prefix: str) -> int:
    """Bytes under MEDIA_ROOT/prefix, or of the bucket's objects under prefix/."""
    if media_in_bucket():
        return sum(int(item.get("Size", 0)) for item in bucket().keys(f"{prefix.rstrip('/')}/"))
    return folder_bytes(Path(settings.MEDIA_ROOT) / prefix)


# Render outputs ---------------------------------------------------------------------------


def render_outputs_upload(folder: Path, output_dir: str) -> list[str]:
    """Upload a finished render's files under output_dir/<name>; returns the keys.

    Each object appears only once its upload is complete; if one fails, those already
    uploaded are deleted again, and the caller records no output (the job points at its
    outputs only after this returns). No bucket: nothing to do (the folder is the output).
    """
    if not media_in_bucket():
        return []
    from courses.media import content_type_for

    store, uploaded = bucket(), []
    try:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                key = f"{output_dir}/{path.name}"
                uploaded.append(key)  # before the call: a failed multipart upload is aborted
                store.upload(path, key, content_type=content_type_for(path))
    except BaseException:
        store.delete(uploaded)
        raise
    return uploaded


def render_output_upload_file(path: Path, output_dir: str) -> None:
    """Replace one output in the bucket by its local file (the signed lesson.mp4)."""
    if media_in_bucket():
        from courses.media import content_type_for

        bucket().upload(path, f"{output_dir}/{path.name}", content_type=content_type_for(path))


def render_outputs_delete(output_dir: str) -> None:
    """Delete a render's objects from the bucket (its local copy is the caller's)."""
    if output_dir and media_in_bucket():
        store = bucket()
        store.delete([item["Key"] for item in store.keys(f"{output_dir.rstrip('/')}/")])


def render_output_exists(output_dir: str, name: str) -> bool:
    if media_in_bucket():
        return bucket().exists(f"{output_dir}/{name}")
    return (Path(settings.MEDIA_ROOT) / output_dir / name).is_file()


# Segments ---------------------------------------------------------------------------------


class BucketSegments:
    """The remote tier of the segment store (synthesis.segments.SegmentRemote) in the bucket:
    `segments/<key>.mp4`, immutable, and `segments/pins/<owner>.json`."""

    def __init__(self, store: Bucket) -> None:
        self.store = store

    @staticmethod
    def key_name(key: str) -> str:
        return f"{SEGMENTS_PREFIX}{key}.mp4"

    @staticmethod
    def _pins(owner: str) -> str:
        return f"{PINS_PREFIX}{owner}.json"

    def exists(self, key: str) -> bool:
        return self.store.exists(self.key_name(key))

    def fetch(self, key: str, dest: Path) -> bool:
        return self.store.download(self.key_name(key), dest)

    def upload(self, key: str, source: Path) -> None:
        self.store.upload(source, self.key_name(key), content_type="video/mp4")

    def read_pins(self, owner: str) -> frozenset[str]:
        from botocore.exceptions import ClientError

        try:
            body = self.store.client.get_object(Bucket=self.store.name, Key=self._pins(owner))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return frozenset()
            raise
        return frozenset(json.loads(body["Body"].read()).get("keys", ()))

    def write_pins(self, owner: str, keys: frozenset[str]) -> None:
        data = json.dumps({"owner": owner, "keys": sorted(keys)}).encode()
        self.store.client.put_object(
            Bucket=self.store.name, Key=self._pins(owner), Body=data, ContentType="application/json"
        )

    def delete_pins(self, owner: str) -> None:
        self.store.client.delete_object(Bucket=self.store.name, Key=self._pins(owner))

    def pin_owners(self) -> list[str]:
        return [
            Path(item["Key"]).stem
            for item in self.store.keys(PINS_PREFIX)
            if item["Key"].endswith(".json")
        ]

    def segments(self) -> dict[str, tuple[int, datetime]]:
        """key -> (size in bytes, upload time) of every segment in the bucket."""
        found = {}
        for item in self.store.keys(SEGMENTS_PREFIX):
            name = item["Key"][len(SEGMENTS_PREFIX) :]
            if "/" not in name and name.endswith(".mp4"):
                found[name[: -len(".mp4")]] = (item["Size"], item["LastModified"])
        return found

    def remove(self, keys: list[str]) -> None:
        self.store.delete([self.key_name(key) for key in keys])


def segment_remote() -> BucketSegments | None:
    """The bucket tier of the segment store, or None with media on a file system."""
    return BucketSegments(bucket()) if media_in_bucket() else None
