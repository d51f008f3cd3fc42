"""Personalized variants of the reference lesson over a warm segment cache, measured.

Starts from the segment cache of a full render of the lesson (--cache-dir). First a bank of
remedial scenes is encoded once (`encode` of a plan of the bank: its scenes and the
crossfades between them). Then each variant skips 3 of the lesson's scenes and inserts 2
remedial scenes, and is made ready to play as a student would get it: planned, its missing
segments (the crossfades between new neighbours) encoded, its HLS playlist written (the TS
files are remuxed by the server on request, so none is stored). Then the same variant is
assembled again as a cached variant, every segment in the store: planned, remuxed into an
MP4 and its playlist written (the issue's "assembling a cached variant"). Wall and CPU time
(all threads of this process) are taken per step; storage is the segment store's growth
plus the playlists. Run from the repository root:
python -m bench.variants_runner STORYBOARD.pickle --cache-dir DIR --speech-cache-dir DIR OUT.json
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import time
from dataclasses import replace
from pathlib import Path

from bench.lectern_runner import bench_settings
from bench.reference_lesson import remedial_scenes
from synthesis.assemble import assemble
from synthesis.hls import playlist
from synthesis.plan import plan
from synthesis.render import encode, speak_lesson
from synthesis.segments import SegmentStore
from synthesis.storyboard import Storyboard

SKIPPED = 3
INSERTED = 2


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

    variants = []
    for number, storyboard in enumerate(variant_storyboards(lesson, args.count)):
        folder = playlists_dir / f"variant-{number:02d}"
        (the_plan, stats), wall_s, cpu_s = measured(
            lambda storyboard=storyboard, folder=folder: make_ready(
                storyboard, settings, store, args.cache_dir, folder
            )
        )
        _none, cached_wall_s, cached_cpu_s = measured(
            lambda storyboard=storyboard, folder=folder: assemble_cached(
                storyboard, settings, store, args.cache_dir, folder / "cached"
            )
        )
        variants.append(
            {
                "scenes": [scene.id for scene in storyboard.scenes],
                "wall_s": round(wall_s, 3),
                "cpu_s": round(cpu_s, 3),
                "cached_wall_s": round(cached_wall_s, 3),
                "cached_cpu_s": round(cached_cpu_s, 3),
                "segments": len(the_plan.segments),
                "missing_at_plan": len(the_plan.missing),
                "transitions_encoded": stats.transition_misses,
                "scenes_encoded": stats.scene_misses,
                "frames_encoded": stats.frames_encoded,
                "duration_s": round(the_plan.timeline.duration_s, 2),
            }
        )
    playlist_bytes = sum(path.stat().st_size for path in playlists_dir.rglob("index.m3u8"))
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
        "first_wall_s": variants[0]["wall_s"],
        "variants": variants,
        "segment_store_bytes_full": full_bytes,
        "segment_store_bytes_after": store.total_bytes(),
        "playlist_bytes": playlist_bytes,
    }
    args.out.write_text(json.dumps(summary, indent=1), "utf-8")


if __name__ == "__main__":
    main()
