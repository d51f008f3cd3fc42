"""HLS media playlists over stored segments: MPEG-TS remuxed on request, never re-encoded.

A lesson (or a student's variant of it) is a list of (segment key, frames). Its playlist
names one MPEG-TS file per position, and each is remuxed from the stored MP4 segment with
its timestamps moved to its exact place in the playlist: video and audio timestamps run
on without a break from one file to the next, as if one stream had been cut, so no
EXT-X-DISCONTINUITY is needed. (With one TS per key and a discontinuity before each, as
before, Chromium re-based every file on its B-frame decode lead and played each segment
about 0.16 s short at 10 fps.) A TS file therefore depends on where its segment plays, so it
is made when asked for (a packet copy: milliseconds) and nothing is stored per playlist:
a variant costs its playlist text and its new transitions, not a copy of every segment.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from synthesis.encode import AAC_FRAME_SAMPLES, AUDIO_RATE_HZ, audio_samples_for_frames
from synthesis.errors import SynthesisError
from synthesis.segments import SegmentStore

PLAYLIST_NAME = "index.m3u8"
MPEGTS_TYPE = "video/mp2t"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
TS_HZ = 90_000
_TS_TIME_BASE = Fraction(1, TS_HZ)
# The playlist's first frame is shown at 10 s of MPEG-TS time (as Apple's segmenter does),
# so decoding times before it stay positive; players map the first timestamp to 0.
START_TICKS = 10 * TS_HZ
# Decoding runs this many frames ahead of presentation in every TS file: x264 reorders at
# most two frames with our presets (B-pyramid), and one fixed lead for all segments keeps
# decoding times rising across files whatever their order.
DECODE_LEAD_FRAMES = 2


@dataclass(frozen=True)
class PlaylistEntry:
    """One segment at its place in a playlist: its first frame, and where its sound goes.

    The sound of all files is one unbroken run of AAC packets (1024 samples each), laid as
    `join_segments` lays it in the MP4: a segment's first audio_skip packets are dropped
    when the sound before it already reaches into its first half packet, and its kept
    packets follow on at audio_start_sample. So the sound never overlaps nor leaves a hole
    at a seam (hls.js lays overlapping packets end to end, which made a 9.7 s playlist
    play 0.2 s long) and stays within half a packet of the video.
    """

    position: int
    key: str
    start_frame: int
    frames: int
    audio_start_sample: int = 0
    audio_skip: int = 0


def playlist_entries(segment_frames: Sequence[tuple[str, int]], fps: int) -> list[PlaylistEntry]:
    """(key, frames) in playing order -> entries with each segment's first frame and sound."""
    entries, start, written = [], 0, 0
    for position, (key, frames) in enumerate(segment_frames):
        video_start = audio_samples_for_frames(start, fps)
        packets = math.ceil(audio_samples_for_frames(int(frames), fps) / AAC_FRAME_SAMPLES)
        # Packet p (at p * 1024 in the segment) is dropped while its first half is already
        # covered: video_start + p * 1024 + 512 <= written.
        covered = written - video_start - AAC_FRAME_SAMPLES // 2
        skip = 0 if covered < 0 else min(packets, covered // AAC_FRAME_SAMPLES + 1)
        entries.append(PlaylistEntry(position, key, start, int(frames), written, skip))
        written += (packets - skip) * AAC_FRAME_SAMPLES
        start += int(frames)
    return entries


def media_playlist(entries: Sequence[tuple[str, float]]) -> str:
    """An HLS VOD media playlist of (uri, duration_s) entries with continuous timestamps."""
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
    for uri, duration in entries:
        lines += [f"#EXTINF:{duration:.6f},", uri]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def ts_segment(store: SegmentStore, entry: PlaylistEntry, *, fps: int) -> bytes:
    """The stored segment of a playlist entry as MPEG-TS bytes, timed to its place;
    SynthesisError if the segment is not stored."""
    source = store.get(entry.key)
    if source is None:
        raise SynthesisError(f"segment {entry.key[:16]} is not in the segment store")
    buffer = io.BytesIO()
    remux_to_ts(source, buffer, entry=entry, fps=fps)
    return buffer.getvalue()


def remux_to_ts(source: Path, out, *, entry: PlaylistEntry, fps: int) -> None:
    """Copy an MP4 segment's H.264 and AAC packets into MPEG-TS (a path or a binary file),
    re-timed to its entry's place in a playlist.

    Frame k is presented at START_TICKS + (start_frame + k) / fps and decoded
    DECODE_LEAD_FRAMES earlier. The AAC priming packet is dropped (the MP4's edit list hid
    it; segments begin in silence) and the kept packets follow on from audio_start_sample.
    """
    base = Fraction(START_TICKS) + Fraction(entry.start_frame * TS_HZ, fps)
    audio_base = Fraction(START_TICKS) + Fraction(entry.audio_start_sample * TS_HZ, AUDIO_RATE_HZ)
    audio_packet_ticks = Fraction(AAC_FRAME_SAMPLES * TS_HZ, AUDIO_RATE_HZ)
    audio_index = 0
    lead = DECODE_LEAD_FRAMES * Fraction(TS_HZ, fps)
    options = {"mpegts_copyts": "1", "avoid_negative_ts": "disabled"}
    with (
        av.open(str(source)) as src,
        av.open(str(out) if isinstance(out, Path) else out, "w", format="mpegts",
                options=options) as dst,
    ):  # fmt: skip
        video_in = src.streams.video[0]
        audio_in = src.streams.audio[0] if src.streams.audio else None
        video_out = dst.add_stream_from_template(video_in)
        audio_out = dst.add_stream_from_template(audio_in) if audio_in is not None else None
        first_pts, first_dts = _first_video_times(str(source))
        video_tick = Fraction(video_in.time_base) * TS_HZ
        if (first_pts - first_dts) * video_tick > lead:
            raise SynthesisError(
                f"segment {source.name} decodes more than {DECODE_LEAD_FRAMES} frames ahead"
            )
        # The times below are these exact fractions, computed as integer numerators over
        # one denominator (Fraction arithmetic per packet was most of a remux's time).
        over = _CommonDenominator(base, video_tick, lead, audio_base, audio_packet_ticks)
        base_n, tick_n, lead_n, audio_base_n, packet_n = over.numerators
        for packet in src.demux():
            if packet.dts is None or packet.size == 0:
                continue
            if packet.stream.type == "video":
                pts = base_n + (packet.pts - first_pts) * tick_n
                dts = base_n + (packet.dts - first_dts) * tick_n - lead_n
                packet.stream = video_out
            elif packet.stream.type == "audio" and audio_out is not None:
                if packet.pts < 0:
                    continue  # the priming packet
                audio_index += 1
                if audio_index <= entry.audio_skip:
                    continue  # the sound before already covers it
                pts = dts = audio_base_n + (audio_index - entry.audio_skip - 1) * packet_n
                packet.stream = audio_out
            else:
                continue
            packet.time_base = _TS_TIME_BASE
            packet.pts, packet.dts = over.round(pts), over.round(dts)
            dst.mux(packet)


class _CommonDenominator:
    """Fractions as integer numerators over one denominator, rounded as round(Fraction)
    rounds (half to even), so the TS bytes are exactly those Fraction arithmetic made."""

    def __init__(self, *values: Fraction) -> None:
        self.denominator = math.lcm(*(value.denominator for value in values))
        self.numerators = tuple(
            value.numerator * (self.denominator // value.denominator) for value in values
        )

    def round(self, numerator: int) -> int:
        whole, rest = divmod(numerator, self.denominator)
        twice = 2 * rest
        return whole + (twice > self.denominator or (twice == self.denominator and whole % 2))


@functools.lru_cache(maxsize=4096)
def _first_video_times(source: str) -> tuple[int, int]:
    """A segment's first video packet's (pts, dts): its IDR frame, which closed GOPs
    present first. Kept per path: a stored segment's bytes never change (its name is
    their hash)."""
    with av.open(source, stream_options=[{"skip_frame": "all"}]) as container:
        for packet in container.demux(video=0):
            if packet.dts is not None and packet.size:
                return packet.pts, packet.dts
    raise SynthesisError(f"segment {Path(source).name} has no video frames")


def segment_uri(entry: PlaylistEntry) -> str:
    """A TS file's name in a written playlist folder: its position, then its key."""
    return f"{entry.position:04d}-{entry.key[:16]}.ts"


def playlist(
    segment_frames: Sequence[tuple[str, int]],
    out_dir: Path,
    *,
    store: SegmentStore,
    fps: int,
    write_segments: bool = True,
) -> Path:
    """Write out_dir/index.m3u8 over stored segments ((key, frames) in playing order).

    With write_segments each TS file is written beside it (a self-contained folder, for
    export or a static server); without, only the playlist text, for a server that makes the
    TS files on request (ts_segment). Nothing is encoded. SynthesisError if a segment is not
    stored.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = playlist_entries(segment_frames, fps)
    missing = [entry.key for entry in entries if not store.has(entry.key)]
    if missing:
        raise SynthesisError(f"segment {missing[0][:16]} is not in the segment store")
    if write_segments:
        for entry in entries:
            data = ts_segment(store, entry, fps=fps)
            (out_dir / segment_uri(entry)).write_bytes(data)
    text = media_playlist([(segment_uri(entry), entry.frames / fps) for entry in entries])
    path = out_dir / PLAYLIST_NAME
    path.write_text(text, encoding="utf-8")
    return path


__all__ = [
    "PlaylistEntry",
    "media_playlist",
    "playlist",
    "playlist_entries",
    "remux_to_ts",
    "segment_uri",
    "ts_segment",
]
