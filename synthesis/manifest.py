"""The render manifest: what is in the video, where each scene and sentence is, how it was made."""

from __future__ import annotations

import json
import os
import resource
import threading
from dataclasses import dataclass, field
from pathlib import Path

from synthesis.captions import scene_title
from synthesis.plan import RenderPlan
from synthesis.storyboard import SourceRef, Storyboard

# 2: the opening label is a segment of its own; "entries" lists every segment with its
# frames; each scene carries its content_hash.
MANIFEST_VERSION = 2
_LOCK = threading.Lock()


@dataclass
class RenderStats:
    """Counters and timings collected while rendering (mutable: filled in stage by stage)."""

    stage_s: dict[str, float] = field(default_factory=dict)
    scene_hits: int = 0
    scene_misses: int = 0
    transition_hits: int = 0
    transition_misses: int = 0
    opening_misses: int = 0
    frames_encoded: int = 0
    evicted: int = 0
    workers: int = 1
    # Seconds spent inside encode jobs, summed over workers: slides, frames, sound, x264.
    worker_s: dict[str, float] = field(default_factory=dict)
    compositor: str = ""
    device: str = ""
    encoder: dict[str, object] = field(default_factory=dict)

    def add_worker_time(self, part: str, seconds: float) -> None:
        """Count time a worker spent on one part of a segment (called from worker threads)."""
        with _LOCK:
            self.worker_s[part] = self.worker_s.get(part, 0.0) + seconds

    def as_dict(self, *, wall_s: float, duration_s: float) -> dict[str, object]:
        return {
            "wall_s": round(wall_s, 3),
            "realtime_factor": round(duration_s / wall_s, 3) if wall_s > 0 else None,
            "stage_s": {name: round(seconds, 3) for name, seconds in self.stage_s.items()},
            "cache": {
                "scene_hits": self.scene_hits,
                "scene_misses": self.scene_misses,
                "transition_hits": self.transition_hits,
                "transition_misses": self.transition_misses,
                "opening_misses": self.opening_misses,
                "segments_encoded": self.scene_misses
                + self.transition_misses
                + self.opening_misses,
                "evicted": self.evicted,
            },
            "frames_encoded": self.frames_encoded,
            "workers": self.workers,
            "worker_s": {name: round(seconds, 3) for name, seconds in self.worker_s.items()},
            "compositor": {"backend": self.compositor, "device": self.device},
            "encoder": self.encoder,
            "peak_rss_mb": peak_rss_mb(),
        }


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def build_manifest(
    *,
    plan: RenderPlan,
    storyboard: Storyboard,
    warnings: list[str],
    statistics: dict[str, object],
    music: str | None = None,
) -> dict[str, object]:
    """The manifest as JSON-ready data; times are seconds on the lesson's clock.

    storyboard is the one planned (its scenes' sources name where sentences came from).
    """
    timeline = plan.timeline
    settings = plan.settings
    scenes = []
    for position, timing in enumerate(timeline.scenes):
        start_s = timeline.scene_start_s(position)
        scene = timing.scene
        planned = plan.scenes[position]
        sources = storyboard.scenes[position].sources
        scenes.append(
            {
                "id": scene.id,
                "title": scene_title(position, scene.visual, plan.language),
                "kind": scene.visual.kind,
                "language": scene.language,
                "start_s": round(start_s, 3),
                "end_s": round(start_s + timing.duration_s, 3),
                "frames": timing.frame_count,
                "segment": planned.key,
                "content_hash": planned.content_hash,
                "concepts": list(scene.concepts),
                "role": scene.role,
                "silent": timing.silent,
                "sentences": [
                    {
                        "text": sentence.text,
                        "start_s": round(start_s + sentence.start_s, 3),
                        "end_s": round(start_s + sentence.end_s, 3),
                        "engine": sentence.engine,
                        "voice": sentence.voice,
                        "source": _source(sources, number, sentence.text),
                    }
                    for number, sentence in enumerate(timing.sentences)
                ],
            }
        )
    transitions = []
    for entry in timeline.entries:
        if entry.kind != "transition":
            continue
        start_s = entry.start_frame / timeline.fps
        leaving = entry.scene_index
        transitions.append(
            {
                "from": timeline.scenes[leaving].scene.id if leaving >= 0 else "opening",
                "to": timeline.scenes[leaving + 1].scene.id,
                "start_s": round(start_s, 3),
                "end_s": round(start_s + entry.frame_count / timeline.fps, 3),
                "segment": plan.transition_keys[leaving + 1],
            }
        )
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "title": plan.title,
        "language": plan.language,
        "render_key": plan.render_key,
        "ai_generated": True,
        "duration_s": round(timeline.duration_s, 3),
        "frames": timeline.frame_count,
        "fps": settings.fps,
        "settings": {
            "width_px": settings.width_px,
            "height_px": settings.height_px,
            "fps": settings.fps,
            "quality": settings.quality,
            "burn_captions": settings.burn_captions,
            "motion": settings.motion,
            "device": settings.device,
            "music": music,
            "voice": {
                "engines": list(settings.voice.engines),
                "language_engines": {
                    lang: list(engines) for lang, engines in settings.voice.language_engines
                },
                "voice": settings.voice.voice,
                "rate": settings.voice.rate,
            },
        },
        "attribution": plan.attribution,
        "opening": {
            "segment": plan.opening.key,
            "end_s": round(plan.opening.timing.duration_s, 3),
        },
        "scenes": scenes,
        "transitions": transitions,
        "segments": list(plan.segments),
        "entries": [
            {"kind": entry.kind, "segment": key, "frames": frames}
            for (key, frames), entry in zip(plan.segment_frames, timeline.entries, strict=True)
        ],
        "warnings": list(warnings),
        "statistics": statistics,
    }
    if plan.cuts:
        # Named only when there are any, so a full render's manifest is what it was.
        manifest["cuts"] = [
            {
                "into": timeline.scenes[position].scene.id,
                "at_s": round(timeline.scene_start_s(position), 3),
            }
            for position in sorted(plan.cuts)
        ]
    return manifest


def _source(sources: tuple[SourceRef, ...], number: int, text: str) -> dict[str, object] | None:
    """Where sentence `number` of a scene came from, if its importer said so."""
    ref = sources[number] if number < len(sources) else None
    if ref is None or (ref.sentence and ref.sentence != text):
        # Edited narration shifts sentences: pair by the sentence itself.
        ref = next((r for r in sources if r.sentence == text), None)
    if ref is None or not ref.file:
        return None
    fields = {"file": ref.file, "paragraph": ref.paragraph, "page": ref.page, "slide": ref.slide}
    return {name: value for name, value in fields.items() if value is not None}


def write_json(path: Path, data: dict[str, object]) -> None:
    """Write JSON (UTF-8, readable) and flush it to disk."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
