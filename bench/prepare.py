"""Prepare a lesson once for every renderer: narration spoken, slides drawn, a peer job written.

Narration is spoken with `synthesis.speech.speak` into a shared audio cache, so Lectern finds
the very same clips (its narration cache is warm in every run) and the peers get WAVs built
from them. Scenes are timed with Lectern's own timeline rules (lead-in, sentence gaps, tail,
whole frames, a 0.5 s crossfade between scenes) and captions are Lectern's cues, so all
renderers make videos of the same length saying the same thing at the same moments (the
opening AI label segment included, as a title card). Slides
are drawn with `synthesis.frames.slides.render_visual`, so all renderers show the same
pictures; drawing them and mixing each scene's WAV are not timed for the peers (in their
favour).
"""

from __future__ import annotations

import pickle
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.peer_job import CaptionCue, PeerJob, PeerScene, write_job
from synthesis.frames.slides import render_visual
from synthesis.plan import plan_opening
from synthesis.sentences import split_sentences
from synthesis.speech import speak
from synthesis.storyboard import RenderSettings, Storyboard, VoiceSettings
from synthesis.timeline import TRANSITION_S, SceneTiming, frames_for, scene_timing

AUDIO_RATE_HZ = 48_000


@dataclass(frozen=True)
class PreparedLesson:
    """A lesson ready to render: the storyboard for Lectern, the job for the peers."""

    storyboard: Storyboard
    storyboard_path: Path
    job: PeerJob
    job_path: Path
    narration_s: float
    engines: tuple[str, ...]


def _read_samples(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (AUDIO_RATE_HZ, 1, 2):
            raise ValueError(f"{path}: expected mono 16-bit {AUDIO_RATE_HZ} Hz narration")
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def write_scene_audio(timing: SceneTiming, path: Path) -> None:
    """One scene's narration as a WAV as long as the scene, each sentence at its start time."""
    samples = np.zeros(round(timing.duration_s * AUDIO_RATE_HZ), dtype="<i2")
    for sentence in timing.sentences:
        clip = _read_samples(sentence.wav_path)
        start = round(sentence.start_s * AUDIO_RATE_HZ)
        clip = clip[: max(0, len(samples) - start)]
        samples[start : start + len(clip)] = clip
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(AUDIO_RATE_HZ)
        wav.writeframes(samples.tobytes())


def peer_scenes(
    timings: list[SceneTiming], image_paths: list[Path], audio_paths: list[Path], fps: int
) -> tuple[tuple[PeerScene, ...], tuple[CaptionCue, ...]]:
    """Lectern's timeline as the peers draw it: overlapping clips joined by crossfades.

    Lectern puts a 0.5 s transition segment between scenes; a peer's xfade overlaps two
    clips instead. So each clip is stretched by the transition on the sides where it has a
    neighbour, and narration and captions keep Lectern's clock exactly.
    """
    transition_s = frames_for(TRANSITION_S, fps) / fps
    scenes: list[PeerScene] = []
    captions: list[CaptionCue] = []
    clock_s = 0.0
    last = len(timings) - 1
    for index, timing in enumerate(timings):
        before_s = transition_s if index else 0.0
        after_s = transition_s if index < last else 0.0
        scenes.append(
            PeerScene(
                image_path=str(image_paths[index]),
                audio_path=str(audio_paths[index]),
                start_s=clock_s - before_s,
                duration_s=before_s + timing.duration_s + after_s,
                audio_start_s=clock_s,
                zoom_in=index % 2 == 0,
            )
        )
        captions.extend(
            CaptionCue(clock_s + cue.start_s, clock_s + cue.end_s, cue.text) for cue in timing.cues
        )
        clock_s += timing.duration_s + transition_s
    return tuple(scenes), tuple(captions)


def prepare_lesson(
    storyboard: Storyboard,
    work_dir: Path,
    *,
    size_px: tuple[int, int],
    fps: int,
    speech_cache_dir: Path,
    voice: VoiceSettings | None = None,
) -> PreparedLesson:
    """Speak, draw and write everything the renderers need for this storyboard into work_dir."""
    voice = voice or VoiceSettings()
    work_dir.mkdir(parents=True, exist_ok=True)
    timings: list[SceneTiming] = []
    image_paths: list[Path] = []
    audio_paths: list[Path] = []
    engines: set[str] = set()
    # Every Lectern video opens with its AI label segment (the lesson title under the label,
    # silent) and a crossfade into the first scene: the peers show the same title card.
    settings = RenderSettings(width_px=size_px[0], height_px=size_px[1], fps=fps)
    opening = plan_opening(storyboard, settings)
    timings.append(opening.timing)
    audio_paths.append(work_dir / "opening.wav")
    write_scene_audio(opening.timing, audio_paths[-1])
    image_paths.append(work_dir / "opening.png")
    render_visual(opening.visual, size_px=size_px, language=opening.language).save(image_paths[-1])
    for index, scene in enumerate(storyboard.scenes):
        spoken = [
            speak(sentence, language=scene.language, voice=voice, cache_dir=speech_cache_dir)
            for sentence in split_sentences(scene.narration, scene.language)
        ]
        engines.update(sentence.engine for sentence in spoken)
        timing = scene_timing(index, scene, spoken, fps=fps)
        timings.append(timing)
        audio_paths.append(work_dir / f"scene-{index:02d}.wav")
        write_scene_audio(timing, audio_paths[-1])
        image_paths.append(work_dir / f"scene-{index:02d}.png")
        render_visual(scene.visual, size_px=size_px, language=scene.language).save(image_paths[-1])
    scenes, captions = peer_scenes(timings, image_paths, audio_paths, fps)
    job = PeerJob(
        width_px=size_px[0],
        height_px=size_px[1],
        fps=fps,
        crossfade_s=frames_for(TRANSITION_S, fps) / fps,
        scenes=scenes,
        captions=captions,
    )
    job_path = work_dir / "peer-job.json"
    write_job(job, job_path)
    storyboard_path = work_dir / "storyboard.pickle"
    storyboard_path.write_bytes(pickle.dumps(storyboard))
    return PreparedLesson(
        storyboard=storyboard,
        storyboard_path=storyboard_path,
        job=job,
        job_path=job_path,
        narration_s=sum(s.end_s - s.start_s for t in timings for s in t.sentences),
        engines=tuple(sorted(engines)),
    )
