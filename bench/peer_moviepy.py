"""Peer (2): a naive moviepy renderer, written the way popular open-source generators do it.

An ImageClip per scene with a time-dependent resize for the Ken Burns zoom, a
CompositeVideoClip per scene with TextClip captions, crossfades through
concatenate_videoclips, and write_videofile with its libx264 defaults (preset medium, CRF 23).
Run from the repository root: python -m bench.peer_moviepy JOB.json OUT.mp4 [--lossless]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from moviepy import (
    AudioFileClip,
    CompositeAudioClip,
    CompositeVideoClip,
    ImageClip,
    TextClip,
    concatenate_videoclips,
    vfx,
)

from bench.peer_job import CORNER_MARK, FONT_PATH, PeerJob, PeerScene, read_job, zoom_at


def scene_clip(scene: PeerScene, job: PeerJob) -> CompositeVideoClip:
    """The slide, zooming about its centre, cropped to the frame by the composite."""
    picture = ImageClip(scene.image_path).with_duration(scene.duration_s)
    zooming = picture.resized(lambda t: zoom_at(scene, t / scene.duration_s))
    layers = [zooming.with_position("center")]
    for cue in job.captions:
        if scene.start_s <= cue.start_s < scene.start_s + scene.duration_s:
            caption = TextClip(
                font=FONT_PATH,
                text=cue.text,
                font_size=job.height_px // 24,
                color="white",
                bg_color=(0, 0, 0),
                method="caption",
                size=(int(job.width_px * 0.8), None),
                margin=(12, 8),
            )
            layers.append(
                caption.with_start(cue.start_s - scene.start_s)
                .with_duration(cue.end_s - cue.start_s)
                .with_position(("center", int(job.height_px * 0.8)))
            )
    return CompositeVideoClip(layers, size=(job.width_px, job.height_px)).with_duration(
        scene.duration_s
    )


def render(job: PeerJob, out_path: Path, *, lossless: bool = False) -> None:
    """Render the job to out_path with moviepy."""
    clips = [scene_clip(scene, job) for scene in job.scenes]
    clips = [clips[0]] + [
        clip.with_effects([vfx.CrossFadeIn(job.crossfade_s)]) for clip in clips[1:]
    ]
    video = concatenate_videoclips(clips, method="compose", padding=-job.crossfade_s)
    mark = (
        TextClip(font=FONT_PATH, text=CORNER_MARK, font_size=job.height_px // 36, color="white")
        .with_duration(video.duration)
        .with_position((job.width_px // 40, job.height_px // 40))
    )
    video = CompositeVideoClip([video, mark], size=(job.width_px, job.height_px))
    narration = CompositeAudioClip(
        [AudioFileClip(scene.audio_path).with_start(scene.audio_start_s) for scene in job.scenes]
    )
    video = video.with_audio(narration.with_duration(video.duration))
    # Lossless reference: same pipeline, only the encoder told to keep every pixel.
    ffmpeg_params = ["-qp", "0"] if lossless else None
    video.write_videofile(
        str(out_path),
        fps=job.fps,
        codec="libx264",
        audio_codec="aac",
        preset="ultrafast" if lossless else "medium",
        ffmpeg_params=ffmpeg_params,
        logger=None,
        temp_audiofile_path=str(out_path.parent),
    )


def main() -> None:
    """Command-line entry for the benchmark's subprocess."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("job", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--lossless", action="store_true")
    args = parser.parse_args()
    render(read_job(args.job), args.out, lossless=args.lossless)


if __name__ == "__main__":
    main()
