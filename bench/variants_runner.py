"""Personalized variants of the reference lesson over a warm segment cache, measured.

Starts from the segment cache of a full render of the lesson (--cache-dir). First a bank of
remedial scenes is encoded once (`encode` of a plan of the bank: its scenes and the
crossfades between them). Then each variant skips 3 of the lesson's scenes and inserts 2
remedial scenes, and is made ready to play two ways, each over its own copy of the store:

- with hard cuts (what learning/variants.py does): planned, a hard cut wherever the
  crossfade between new neighbours is missing (`with_hard_cuts`), its HLS playlist written
  (the TS files are remuxed by the server on request, so none is stored): ready. Then, as
  the same task does after the row is ready, the missing crossfades are encoded, so later
  variants find them;
- crossfaded (the policy before): planned, the missing crossfades encoded, then the
  playlist written.

Every hard cut is checked on the variant's assembled MP4 (cut_checks): the largest sample
within 20 ms of the cut, audio/video drift at it, and whole pictures either side. Then the
variant is assembled again as a cached variant, every segment (crossfades included) in the
store: planned, remuxed into an MP4 and its playlist written (the issue's "assembling a
cached variant"). Wall and CPU time (all threads of this process) are taken per step;
storage is the hard-cut store's growth plus the playlists. Run from the repository root:
python -m bench.variants_runner STORYBOARD.pickle --cache-dir DIR --speech-cache-dir DIR OUT.json
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import random
import shutil
import statistics
import time
from dataclasses import replace
from pathlib import Path

import av
import numpy as np

from bench.lectern_runner import bench_settings
from bench.reference_lesson import remedial_scenes
from synthesis.assemble import assemble
from synthesis.encode import AUDIO_RATE_HZ, boundary_frame
from synthesis.hls import playlist
from synthesis.plan import RenderPlan, plan, with_hard_cuts
from synthesis.render import encode, speak_lesson
from synthesis.segments import SegmentStore
from synthesis.storyboard import Storyboard

SKIPPED = 3
INSERTED = 2
# A hard cut is acceptable when, at every cut: the largest sample within CUT_WINDOW_S of
# it is below CLICK_DBFS (a step smaller than that cannot click audibly at any sane
# playback level), the sound after it is where its own segment has it (0 frames of
# drift), and the frames either side are the neighbours' own last and first pictures
# (mean absolute difference below PICTURE_MAE, 8-bit YUV), not a blend of the two.
CUT_WINDOW_S = 0.02
CLICK_DBFS = -60.0
SILENCE_DBFS = -120.0  # reported for digital silence (log of 0)
ONSET_LEVEL = 0.01  # -40 dBFS: where narration is taken to start (or end)
PICTURE_MAE = 1.0


def variant_storyboards(lesson: Storyboard, count: int, *, seed: int = 12) -> list[Storyboard]:
    """count distinct variants: 3 scenes skipped, 2 remedial scenes inserted at random."""
    rng = random.Random(seed)
    bank = remedial_scenes()
    seen, variants = set(), []
    while len(variants) < count:
        kept = list(lesson.scenes)
        for index in sorted(rng.sample(range(len(kept)), SKIPPED), reverse=True):
            del kept[index]
        for scene in rng.sample(bank, INSERTED):
            kept.insert(rng.randint(1, len(kept)), scene)
        order = tuple(scene.id for scene in kept)
        if order not in seen:
            seen.add(order)
            variants.append(replace(lesson, scenes=tuple(kept)))
    return variants


def measured(step):
    """Run step(); return its result, wall seconds and CPU seconds (this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def make_ready(storyboard: Storyboard, settings, store: SegmentStore, cache_dir: Path, out: Path):
    """Plan, encode what is missing, write the playlist; the plan and the encode stats."""
    spoken = speak_lesson(storyboard, settings, cache_dir=cache_dir)
    the_plan = plan(storyboard, settings, spoken=spoken, store=store)
    stats = encode(the_plan, store)
    playlist(the_plan.segment_frames, out, store=store, fps=settings.fps, write_segments=False)
    return the_plan, stats


def make_ready_with_cuts(
    storyboard: Storyboard, settings, store: SegmentStore, cache_dir: Path, out: Path
) -> RenderPlan:
    """Plan with hard cuts where crossfades are missing, write the playlist: ready."""
    spoken = speak_lesson(storyboard, settings, cache_dir=cache_dir)
    ready = with_hard_cuts(plan(storyboard, settings, spoken=spoken, store=store), store)
    if ready.missing:
        raise RuntimeError(f"a variant lacks {len(ready.missing)} scene segments")
    playlist(ready.segment_frames, out, store=store, fps=settings.fps, write_segments=False)
    return ready


def dbfs(peak: float) -> float:
    return round(20 * math.log10(peak), 1) if peak > 0 else SILENCE_DBFS


def decoded_audio(path: Path) -> np.ndarray:
    """A file's whole audio track as mono float samples (the MP4's edit list applied)."""
    with av.open(str(path)) as container:
        chunks = [frame.to_ndarray().mean(axis=0) for frame in container.decode(audio=0)]
    return np.concatenate(chunks).astype(np.float32)


def frames_around(path: Path, frame: int, fps: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames frame - 1 and frame of a video as planar YUV 4:2:0 (seeking, not decoding all)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        target = int((frame - 1) / fps / stream.time_base)
        container.seek(max(0, target), stream=stream, backward=True, any_frame=False)
        found = {}
        for decoded in container.decode(stream):
            index = round(float(decoded.pts * stream.time_base) * fps)
            if index in (frame - 1, frame):
                found[index] = decoded.to_ndarray(format="yuv420p").astype(np.int16)
            if index >= frame:
                break
    return found[frame - 1], found[frame]


def onset(samples: np.ndarray) -> int | None:
    """The first sample at or above ONSET_LEVEL, None in silence."""
    loud = np.flatnonzero(np.abs(samples) >= ONSET_LEVEL)
    return int(loud[0]) if len(loud) else None


def cut_checks(ready: RenderPlan, store: SegmentStore, video: Path) -> list[dict]:
    """Each hard cut of ready, measured on its assembled MP4 (video)."""
    fps = ready.settings.fps
    timeline = ready.timeline
    audio = decoded_audio(video)
    window = round(CUT_WINDOW_S * AUDIO_RATE_HZ)
    parts = ready.parts
    found = []
    for position in sorted(ready.cuts):
        frame = round(timeline.scene_start_s(position) * fps)
        sample = round(frame * AUDIO_RATE_HZ / fps)
        leaving, arriving = parts[position], parts[position + 1]  # part 0 is the opening
        peak = float(np.abs(audio[max(0, sample - window) : sample + window]).max())
        # The silence the cut falls in: the leaving scene's tail and the arriving lead-in.
        tail_s = leaving.timing.duration_s - (
            leaving.timing.sentences[-1].end_s if leaving.timing.sentences else 0.0
        )
        lead_s = (
            arriving.timing.sentences[0].start_s
            if arriving.timing.sentences
            else arriving.timing.duration_s
        )
        # Drift: the arriving narration's onset after the cut against its own segment's.
        own = onset(decoded_audio(store.get(arriving.key)))
        after = audio[sample : sample + round(arriving.timing.duration_s * AUDIO_RATE_HZ)]
        heard = onset(after)
        drift = None if own is None or heard is None else (heard - own) / AUDIO_RATE_HZ
        last_a, first_b = frames_around(video, frame, fps)
        own_last = boundary_frame(store.get(leaving.key), "last").astype(np.int16)
        own_first = boundary_frame(store.get(arriving.key), "first").astype(np.int16)
        found.append(
            {
                "into": arriving.timing.scene.id,
                "at_s": round(frame / fps, 3),
                "peak_dbfs": dbfs(peak),
                "silence_s": round(tail_s + lead_s, 3),
                "drift_ms": None if drift is None else round(drift * 1000, 2),
                "drift_frames": None if drift is None else round(drift * fps),
                "last_frame_mae": round(float(np.abs(last_a - own_last).mean()), 3),
                "first_frame_mae": round(float(np.abs(first_b - own_first).mean()), 3),
                "picture_change_mae": round(float(np.abs(own_first - own_last).mean()), 2),
            }
        )
    return found


def av_end_drift_frames(video: Path, fps: int) -> float:
    """The assembled MP4's audio end minus its video end, in frames (from the containers)."""
    with av.open(str(video)) as container:
        video_s = float(container.streams.video[0].frames) / fps
    audio_s = len(decoded_audio(video)) / AUDIO_RATE_HZ
    return round((audio_s - video_s) * fps, 3)


def cut_summary(checks: list[dict]) -> dict:
    """The criteria (see CLICK_DBFS) and whether every cut met them."""
    drifts = [c["drift_frames"] for c in checks if c["drift_frames"] is not None]
    result = {
        "count": len(checks),
        "criteria": {
            "peak_dbfs_within_20ms_at_most": CLICK_DBFS,
            "drift_frames": 0,
            "frame_mae_at_most": PICTURE_MAE,
        },
        "peak_dbfs_max": max((c["peak_dbfs"] for c in checks), default=None),
        "silence_s_min": min((c["silence_s"] for c in checks), default=None),
        "drift_ms_max": max((abs(c["drift_ms"]) for c in checks if c["drift_ms"] is not None),
                            default=None),
        "drift_frames_max": max((abs(d) for d in drifts), default=None),
        "drift_measured": len(drifts),
        "frame_mae_max": max(
            (max(c["last_frame_mae"], c["first_frame_mae"]) for c in checks), default=None
        ),
        "picture_change_mae_min": min((c["picture_change_mae"] for c in checks), default=None),
    }  # fmt: skip
    result["acceptable"] = bool(checks) and (
        result["peak_dbfs_max"] <= CLICK_DBFS
        and (result["drift_frames_max"] or 0) == 0
        and result["frame_mae_max"] <= PICTURE_MAE
    )
    return result


def assemble_cached(
    storyboard: Storyboard, settings, store: SegmentStore, cache_dir: Path, out: Path
) -> None:
    """A variant whose segments are all stored: plan it, remux its MP4, write its playlist."""
    spoken = speak_lesson(storyboard, settings, cache_dir=cache_dir)
    the_plan = plan(storyboard, settings, spoken=spoken, store=store)
    if the_plan.missing:
        raise RuntimeError(f"a cached variant lacks {len(the_plan.missing)} segments")
    out.mkdir(parents=True, exist_ok=True)
    assemble(the_plan.segments, out / "variant.mp4", store=store, fps=settings.fps)
    playlist(the_plan.segment_frames, out, store=store, fps=settings.fps, write_segments=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("storyboard", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--speech-cache-dir", type=Path, required=True)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--count", type=int, default=30)
    args = parser.parse_args()

    shared_audio = args.speech_cache_dir.resolve() / "audio"
    if not (args.cache_dir / "audio").exists():
        (args.cache_dir / "audio").symlink_to(shared_audio, target_is_directory=True)
    lesson = pickle.loads(args.storyboard.read_bytes())
    settings = bench_settings(args)
    store = SegmentStore(args.cache_dir)
    playlists_dir = args.out.parent / "variant-playlists"
    full_bytes = store.total_bytes()

    bank = replace(lesson, scenes=remedial_scenes())
    (bank_plan, bank_stats), bank_wall_s, bank_cpu_s = measured(
        lambda: make_ready(bank, settings, store, args.cache_dir, playlists_dir / "bank")
    )
    bank_bytes = store.total_bytes() - full_bytes
    # The policy before (crossfades encoded before ready) runs over a copy of the store, so
    # both policies see the store each variant would find.
    crossfaded_dir = args.out.parent / "variants-crossfaded-cache"
    shutil.rmtree(crossfaded_dir, ignore_errors=True)
    shutil.copytree(store.root, crossfaded_dir / "segments")
    crossfaded_store = SegmentStore(crossfaded_dir)

    variants, checks = [], []
    for number, storyboard in enumerate(variant_storyboards(lesson, args.count)):
        folder = playlists_dir / f"variant-{number:02d}"
        (old_plan, old_stats), old_wall_s, old_cpu_s = measured(
            lambda storyboard=storyboard, folder=folder: make_ready(
                storyboard, settings, crossfaded_store, args.cache_dir, folder / "crossfaded"
            )
        )
        ready, wall_s, cpu_s = measured(
            lambda storyboard=storyboard, folder=folder: make_ready_with_cuts(
                storyboard, settings, store, args.cache_dir, folder
            )
        )
        # What the task does once the row is ready: encode the crossfades it cut.
        backfill, backfill_wall_s, backfill_cpu_s = measured(
            lambda ready=ready: encode(ready.crossfaded(), store)
        )
        if ready.cuts:
            video = folder / "cuts.mp4"
            assemble(ready.segments, video, store=store, fps=settings.fps)
            found = cut_checks(ready, store, video)
            end_drift = av_end_drift_frames(video, settings.fps)
            for check in found:
                check.update(variant=number, av_end_drift_frames=end_drift)
            checks += found
            video.unlink()
        _none, cached_wall_s, cached_cpu_s = measured(
            lambda storyboard=storyboard, folder=folder: assemble_cached(
                storyboard, settings, store, args.cache_dir, folder / "cached"
            )
        )
        variants.append(
            {
                "scenes": [scene.id for scene in storyboard.scenes],
                # Ready with hard cuts (plan and playlist); its CPU with the crossfades
                # encoded afterwards in the same task, so the CPU totals count them.
                "wall_s": round(wall_s, 3),
                "cpu_s": round(cpu_s + backfill_cpu_s, 3),
                "ready_cpu_s": round(cpu_s, 3),
                "cuts": len(ready.cuts),
                "crossfades_after_ready_wall_s": round(backfill_wall_s, 3),
                "crossfades_encoded_after_ready": backfill.transition_misses,
                # The policy before: the missing crossfades encoded before ready.
                "crossfaded_wall_s": round(old_wall_s, 3),
                "crossfaded_cpu_s": round(old_cpu_s, 3),
                "cached_wall_s": round(cached_wall_s, 3),
                "cached_cpu_s": round(cached_cpu_s, 3),
                "segments": len(old_plan.segments),
                "missing_at_plan": len(old_plan.missing),
                "transitions_encoded": old_stats.transition_misses,
                "scenes_encoded": old_stats.scene_misses,
                "frames_encoded": old_stats.frames_encoded,
                "duration_s": round(old_plan.timeline.duration_s, 2),
            }
        )
    shutil.rmtree(crossfaded_dir, ignore_errors=True)
    playlist_bytes = sum(
        path.stat().st_size
        for path in playlists_dir.rglob("index.m3u8")
        if path.parent.name != "crossfaded"
    )
    crossfaded_walls = [v["crossfaded_wall_s"] for v in variants]
    summary = {
        "count": len(variants),
        "skipped": SKIPPED,
        "inserted": INSERTED,
        "bank": {
            "scenes": len(bank.scenes),
            "wall_s": round(bank_wall_s, 2),
            "cpu_s": round(bank_cpu_s, 2),
            "segments_encoded": bank_stats.scene_misses + bank_stats.transition_misses,
            "bytes": bank_bytes,
        },
        "policy": "ready with hard cuts where a crossfade is missing, encoded afterwards",
        "first_wall_s": variants[0]["wall_s"],
        "crossfaded_first_wall_s": crossfaded_walls[0],
        "crossfaded_wall_s_median": round(statistics.median(crossfaded_walls), 3),
        "crossfaded_wall_s_max": round(max(crossfaded_walls), 3),
        "cuts": {**cut_summary(checks), "each": checks},
        "variants": variants,
        "segment_store_bytes_full": full_bytes,
        "segment_store_bytes_after": store.total_bytes(),
        "playlist_bytes": playlist_bytes,
    }
    args.out.write_text(json.dumps(summary, indent=1), "utf-8")


if __name__ == "__main__":
    main()
