"""A tiny real render (one scene, 256x144, a tone for speech) for tests that check labels and
provenance on real files; and plain videos without any label, made with PyAV."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from synthesis.render import RenderResult, render
from synthesis.speech import fallback
from synthesis.storyboard import RenderSettings, Scene, Storyboard, Visual, VoiceSettings
from tests.synthesis.tone_engine import ToneEngine

SIZE_PX = (256, 144)
FPS = 10
SETTINGS = RenderSettings(
    width_px=SIZE_PX[0],
    height_px=SIZE_PX[1],
    fps=FPS,
    quality="draft",
    device="cpu",
    voice=VoiceSettings(engines=("tone",)),
)


def render_tiny_lesson(out_dir: Path, *, language: str = "en") -> RenderResult:
    """Render a one-scene lesson into out_dir/lesson.mp4 (about 3 s) with its sidecars."""
    storyboard = Storyboard(
        title="Git basics",
        language=language,
        attribution="Test lesson written for Lectern.",
        scenes=(
            Scene(
                "intro",
                Visual(kind="text", title="Commits", bullets=("Snapshots",)),
                "A commit is a snapshot." if language == "en" else "提交是一个快照。",
            ),
        ),
    )
    engine = ToneEngine(delay_s=0.0, tone_s=0.5)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(fallback.ENGINES, engine.name, engine)
        cache = out_dir / "cache"
        result = render(storyboard, out_dir / "lesson.mp4", settings=SETTINGS, cache_dir=cache)
    shutil.rmtree(cache, ignore_errors=True)
    return result


def encode_frames(path: Path, frames: np.ndarray, *, fps: int = FPS, metadata=None) -> Path:
    """Encode (n, h, w, 3) uint8 frames as an H.264 MP4 with a short silent AAC track."""
    count, height, width, _ = frames.shape
    with av.open(str(path), "w", format="mp4", options={"movflags": "+use_metadata_tags"}) as out:
        out.metadata.update(metadata or {})
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=48_000)
        for picture in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        silence = av.AudioFrame.from_ndarray(
            np.zeros((1, 48_000 * count // fps), np.float32), format="fltp", layout="mono"
        )
        silence.sample_rate = 48_000
        for packet in [*audio.encode(silence), *audio.encode()]:
            out.mux(packet)
    return path


def write_labelled_output(folder: Path, *, language: str = "en", duration_s: float = 3.0) -> Path:
    """lesson.mp4 and lesson.vtt in folder as the renderer labels them, without speech or
    slides: the compositor's frames with the opening label, the AIGC tags, the AI notice cue.
    A cheap stand-in for a render (about 0.2 s) where only the labels matter."""
    from PIL import Image

    from synthesis.captions import ai_notice, webvtt
    from synthesis.encode import container_metadata
    from synthesis.frames.compositor import ScenePlan, get_compositor
    from synthesis.timeline import Cue

    folder.mkdir(parents=True, exist_ok=True)
    plan = ScenePlan(
        base=Image.new("RGB", SIZE_PX, (40, 90, 160)),
        duration_s=duration_s,
        fps=FPS,
        size_px=SIZE_PX,
        motion=None,
        captions=(),
        language=language,
        opening_label=True,
    )
    frames = np.concatenate(list(get_compositor("cpu").scene_frames(plan, batch_size=8)))
    metadata = container_metadata(title="Git basics", language=language, render_key="k" * 64)
    encode_frames(folder / "lesson.mp4", frames, metadata=metadata)
    cues = [Cue(0.0, 2.5, ai_notice(language)), Cue(2.5, duration_s, "Git keeps history.")]
    (folder / "lesson.vtt").write_text(webvtt(cues), encoding="utf-8")
    return folder / "lesson.mp4"


_TEMPLATES: dict[str, Path] = {}


def copy_labelled_output(folder: Path, *, language: str = "en") -> Path:
    """write_labelled_output made once per test process, then copied (a few ms) into folder."""
    import tempfile

    if language not in _TEMPLATES:
        _TEMPLATES[language] = Path(tempfile.mkdtemp(prefix="lectern-labelled-"))
        write_labelled_output(_TEMPLATES[language], language=language)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("lesson.mp4", "lesson.vtt"):
        shutil.copyfile(_TEMPLATES[language] / name, folder / name)
    return folder / "lesson.mp4"
