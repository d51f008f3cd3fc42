"""HLS media playlists over stored segments: each segment remuxed once to MPEG-TS, never re-encoded.

A lesson (or a student's variant of it) is a list of segment keys; its playlist names one
MPEG-TS file per key with an EXT-X-DISCONTINUITY before each, so every TS file keeps the
timestamps it was encoded with and is shared by every playlist that uses the segment (hls.js
and native players re-base time at each discontinuity). The TS remux is cached beside the
segment (`segments/hls/<key>.ts`) and removed with it.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import av

from synthesis.errors import SynthesisError
from synthesis.segments import SegmentStore

PLAYLIST_NAME = "index.m3u8"
MPEGTS_TYPE = "video/mp2t"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


def ts_segment(store: SegmentStore, key: str) -> Path:
    """The segment as MPEG-TS (remuxed on first use, packets copied); SynthesisError if the
    segment is not stored."""
    target = store.hls_dir / f"{key}.ts"
    if target.is_file():
        return target
    source = store.get(key)
    if source is None:
        raise SynthesisError(f"segment {key[:16]} is not in the segment store")
    store.hls_dir.mkdir(exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{key[:16]}-", suffix=".ts", dir=store.hls_dir)
    os.close(handle)
    try:
        remux_to_ts(source, Path(temp_name))
        os.replace(temp_name, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
    return target


def remux_to_ts(source: Path, out: Path) -> None:
    """Copy an MP4 segment's H.264 and AAC packets into an MPEG-TS file (Annex B and ADTS are
    added by the muxer; the AAC priming packet's negative time is shifted, not dropped)."""
    options = {"avoid_negative_ts": "make_non_negative"}
    with (
        av.open(str(source)) as src,
        av.open(str(out), "w", format="mpegts", options=options) as dst,
    ):
        streams = {}
        for stream in src.streams:
            if stream.type in ("video", "audio"):
                streams[stream.index] = dst.add_stream_from_template(stream)
        for packet in src.demux():
            if packet.dts is None or packet.size == 0 or packet.stream.index not in streams:
                continue
            packet.stream = streams[packet.stream.index]
            dst.mux(packet)


def segment_duration_s(path: Path) -> float:
    """A stored MP4 segment's video length (frames over the frame rate)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = stream.frames or sum(1 for packet in container.demux(stream) if packet.size)
        return frames / float(stream.average_rate)


def media_playlist(entries: Sequence[tuple[str, float]]) -> str:
    """An HLS VOD media playlist of (uri, duration_s) entries, a discontinuity between each."""
    if not entries:
        raise SynthesisError("a playlist needs at least one segment")
    target = max(1, math.ceil(max(duration for _, duration in entries) - 1e-6))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for position, (uri, duration) in enumerate(entries):
        if position:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [f"#EXTINF:{duration:.6f},", uri]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def playlist(
    keys: Sequence[str],
    out_dir: Path,
    *,
    store: SegmentStore,
    durations_s: Sequence[float] | None = None,
) -> Path:
    """Write out_dir/index.m3u8 over the stored segments of keys, with each TS file linked
    (or copied, across file systems) into out_dir as <key>.ts. Nothing is encoded.

    durations_s (one per key, e.g. from a plan's frames) saves reading each segment.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for position, key in enumerate(keys):
        ts_path = ts_segment(store, key)
        linked = out_dir / ts_path.name
        if not linked.exists():
            try:
                os.link(ts_path, linked)
            except OSError:
                linked.write_bytes(ts_path.read_bytes())
        duration = (
            durations_s[position]
            if durations_s is not None
            else segment_duration_s(store.path_for(key))
        )
        entries.append((linked.name, duration))
    path = out_dir / PLAYLIST_NAME
    path.write_text(media_playlist(entries), encoding="utf-8")
    return path


__all__ = ["media_playlist", "playlist", "remux_to_ts", "segment_duration_s", "ts_segment"]
