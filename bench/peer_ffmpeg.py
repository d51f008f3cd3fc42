"""Peer (3): one hand-written ffmpeg filtergraph, as a careful engineer would write it.

zoompan per scene (on a 2x upscale, to keep the zoom from jittering), an xfade chain for
the crossfades, libass subtitles for the captions, drawtext for the corner mark, adelay and
amix for the narration, and libx264 preset medium at CRF 23.
Run from the repository root: python -m bench.peer_ffmpeg JOB.json OUT.mp4 [--lossless]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import imageio_ffmpeg

from bench.peer_job import (
    CORNER_MARK,
    FONT_DIR,
    FONT_PATH,
    ZOOM_DELTA,
    CaptionCue,
    PeerJob,
    PeerScene,
    read_job,
)


def srt_time(seconds: float) -> str:
    """SubRip timestamp, e.g. 00:01:02,345."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def write_srt(captions: tuple[CaptionCue, ...], path: Path) -> None:
    """The captions as a SubRip file for the subtitles filter."""
    blocks = [
        f"{index}\n{srt_time(cue.start_s)} --> {srt_time(cue.end_s)}\n{cue.text}\n"
        for index, cue in enumerate(captions, start=1)
    ]
    path.write_text("\n".join(blocks), "utf-8")


def scene_filter(index: int, scene: PeerScene, job: PeerJob) -> str:
    """zoompan over one still: frame `on` of N zooms linearly, centred."""
    frames = round(scene.duration_s * job.fps)
    step = ZOOM_DELTA / max(frames - 1, 1)
    zoom = f"1+{step:.8f}*on" if scene.zoom_in else f"{1 + ZOOM_DELTA}-{step:.8f}*on"
    return (
        f"[{index}:v]scale={2 * job.width_px}:{2 * job.height_px},"
        f"zoompan=z='{zoom}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'"
        f":d={frames}:s={job.width_px}x{job.height_px}:fps={job.fps},"
        f"setsar=1,format=yuv420p[v{index}]"
    )


def filtergraph(job: PeerJob, srt_path: Path) -> str:
    """The whole lesson as one filtergraph with outputs [vout] and [aout]."""
    count = len(job.scenes)
    parts = [scene_filter(index, scene, job) for index, scene in enumerate(job.scenes)]
    previous = "v0"
    for index, scene in enumerate(job.scenes[1:], start=1):
        parts.append(
            f"[{previous}][v{index}]xfade=transition=fade:duration={job.crossfade_s}"
            f":offset={scene.start_s:.4f}[x{index}]"
        )
        previous = f"x{index}"
    font_size = 16  # libass units: SRT plays at a 288-line script height.
    mark_size = job.height_px // 36
    parts.append(
        f"[{previous}]subtitles=filename='{srt_path}':fontsdir='{FONT_DIR}'"
        f":force_style='FontName=DejaVu Sans,FontSize={font_size},BorderStyle=3',"
        f"drawtext=fontfile='{FONT_PATH}':text='{CORNER_MARK}':fontsize={mark_size}"
        f":fontcolor=white:x={job.width_px // 40}:y={job.height_px // 40}[vout]"
    )
    for index, scene in enumerate(job.scenes):
        delay_ms = round(scene.audio_start_s * 1000)
        parts.append(f"[{count + index}:a]adelay=delays={delay_ms}:all=1[a{index}]")
    mixed = "".join(f"[a{index}]" for index in range(count))
    parts.append(f"{mixed}amix=inputs={count}:normalize=0:duration=longest,apad[aout]")
    return ";\n".join(parts)


def command(job: PeerJob, out_path: Path, srt_path: Path, *, lossless: bool) -> list[str]:
    """The ffmpeg command line: every still, every WAV, one graph, one encode."""
    argv = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error"]
    for scene in job.scenes:
        argv += ["-i", scene.image_path]
    for scene in job.scenes:
        argv += ["-i", scene.audio_path]
    argv += ["-filter_complex", filtergraph(job, srt_path), "-map", "[vout]", "-map", "[aout]"]
    if lossless:
        # Lossless reference: same graph, only the encoder told to keep every pixel.
        argv += ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"]
    else:
        argv += ["-c:v", "libx264", "-preset", "medium", "-crf", "23"]
    argv += ["-pix_fmt", "yuv420p", "-r", str(job.fps), "-t", f"{job.duration_s:.4f}"]
    argv += ["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(out_path)]
    return argv


def render(job: PeerJob, out_path: Path, *, lossless: bool = False) -> None:
    """Render the job to out_path with a single ffmpeg process."""
    srt_path = out_path.with_suffix(".srt")
    write_srt(job.captions, srt_path)
    subprocess.run(command(job, out_path, srt_path, lossless=lossless), check=True)


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
