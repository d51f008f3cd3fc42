"""What a peer renderer is asked to draw: one JSON file of scenes, audio, captions and timing.

The benchmark prepares this once per lesson (slides drawn, narration spoken) and gives the
same job to every peer, so the peers differ only in how they composite and encode.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

# Ken Burns for the peers: each scene zooms by this much, alternating in and out.
ZOOM_DELTA = 0.12
CORNER_MARK = "AI-generated"
FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_DIR = "/usr/share/fonts/truetype/dejavu"


@dataclass(frozen=True)
class CaptionCue:
    """One caption, in seconds from the start of the whole video."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class PeerScene:
    """One scene: the slide picture and when it shows, its narration WAV and when that plays.

    Times are seconds on the video's clock. A scene's picture shows from start_s for
    duration_s, overlapping its neighbours by the crossfade; its narration starts at
    audio_start_s.
    """

    image_path: str
    audio_path: str
    start_s: float
    duration_s: float
    audio_start_s: float
    zoom_in: bool


@dataclass(frozen=True)
class PeerJob:
    """A whole lesson for a peer renderer."""

    width_px: int
    height_px: int
    fps: int
    crossfade_s: float
    scenes: tuple[PeerScene, ...]
    captions: tuple[CaptionCue, ...]

    @property
    def duration_s(self) -> float:
        """Length of the video: the last scene ends the timeline."""
        last = self.scenes[-1]
        return last.start_s + last.duration_s


def write_job(job: PeerJob, path: Path) -> None:
    """Save a job as JSON for a peer subprocess."""
    path.write_text(json.dumps(asdict(job), indent=1), "utf-8")


def read_job(path: Path) -> PeerJob:
    """Load a job written by write_job."""
    data = json.loads(Path(path).read_text("utf-8"))
    return PeerJob(
        width_px=data["width_px"],
        height_px=data["height_px"],
        fps=data["fps"],
        crossfade_s=data["crossfade_s"],
        scenes=tuple(PeerScene(**scene) for scene in data["scenes"]),
        captions=tuple(CaptionCue(**cue) for cue in data["captions"]),
    )


def zoom_at(scene: PeerScene, progress: float) -> float:
    """Zoom factor of a scene at progress 0..1 (1.0 shows the whole slide)."""
    progress = min(max(progress, 0.0), 1.0)
    return 1.0 + ZOOM_DELTA * (progress if scene.zoom_in else 1.0 - progress)
