"""A scene's sound: sentence clips placed at their times, an optional music bed ducked under them.

Each clip is added into one float32 track at its start sample; PyAV decodes music files.
The result is exactly as many samples as the scene's video lasts, so joined segments never
drift. (moviepy's CompositeAudioClip did the sequencing before: the same sums, but its
import alone took 0.35 s of every render that mixed a scene.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from synthesis.encode import AUDIO_RATE_HZ
from synthesis.errors import SynthesisError
from synthesis.speech.audio import read_wav
from synthesis.timeline import TimedSentence

# Short fades keep a clip's first and last samples from clicking against silence.
EDGE_FADE_S = 0.005
# Ducking ramps: music dips just before a sentence and comes back just after it.
DUCK_ATTACK_S = 0.15
DUCK_RELEASE_S = 0.3


@dataclass(frozen=True)
class MusicBed:
    """Background music under every scene: quiet, quieter while someone speaks, faded at edges.

    Each scene starts the music from its beginning (looping it if the scene is longer), so a
    scene's sound still depends on that scene alone and its segment stays reusable.
    """

    path: Path
    gain_db: float = -24.0  # music level where nobody speaks
    duck_db: float = -12.0  # further change while a sentence plays
    fade_s: float = 0.5


def scene_audio(
    sentences: Sequence[TimedSentence], sample_count: int, *, music: MusicBed | None = None
) -> np.ndarray:
    """Mono float32 sound for one scene, exactly sample_count samples long."""
    mixed = np.zeros(sample_count, dtype=np.float32)
    for sentence in sentences:
        if sentence.wav_path is not None:
            start = round(sentence.start_s * AUDIO_RATE_HZ)
            clip = _sentence_samples(sentence)[: max(0, sample_count - start)]
            mixed[start : start + len(clip)] += clip
    if music is not None:
        mixed += _music_samples(music, sample_count) * _music_envelope(
            music, sentences, sample_count
        )
    return np.clip(mixed, -1.0, 1.0, out=mixed)


def _faded(samples: np.ndarray, fade_s: float) -> np.ndarray:
    """Linear fade-in and fade-out of fade_s at the ends (in place on a float32 copy)."""
    faded = np.array(samples, dtype=np.float32)
    ramp = min(len(faded) // 2, round(fade_s * AUDIO_RATE_HZ))
    if ramp > 0:
        slope = np.linspace(0.0, 1.0, ramp, endpoint=False, dtype=np.float32)
        faded[:ramp] *= slope
        faded[len(faded) - ramp :] *= slope[::-1]
    return faded


def _sentence_samples(sentence: TimedSentence) -> np.ndarray:
    raw = read_wav(sentence.wav_path)
    if raw.sample_rate != AUDIO_RATE_HZ:
        raise SynthesisError(
            f"narration clip {sentence.wav_path.name} is {raw.sample_rate} Hz, "
            f"expected {AUDIO_RATE_HZ} Hz"
        )
    return _faded(raw.samples, EDGE_FADE_S)


def _music_samples(music: MusicBed, sample_count: int) -> np.ndarray:
    """The music from its start, looped to sample_count, faded in and out, as mono samples."""
    looped = np.resize(_decode_music(music.path, sample_count), sample_count)  # loops it
    duration_s = sample_count / AUDIO_RATE_HZ
    return _faded(looped, min(music.fade_s, duration_s / 2))


def _decode_music(path: Path, max_samples: int) -> np.ndarray:
    """Up to max_samples of the file as mono 48 kHz float samples.

    PyAV rather than moviepy's AudioFileClip: that reader upmixes mono to stereo 3 dB
    down, rounds durations to 10 ms and returned silence for some ranges of a plain WAV.
    """
    chunks: list[np.ndarray] = []
    decoded = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise SynthesisError(f"music file '{path.name}' has no sound")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE_HZ)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    decoded += chunks[-1].size
                if decoded >= max_samples:
                    break
    except (av.FFmpegError, OSError) as exc:
        raise SynthesisError(f"music file '{path.name}' cannot be read: {exc}") from exc
    if not decoded:
        raise SynthesisError(f"music file '{path.name}' has no sound")
    return np.concatenate(chunks)[:max_samples]


def _music_envelope(
    music: MusicBed, sentences: Sequence[TimedSentence], sample_count: int
) -> np.ndarray:
    """Gain per sample: gain_db, lowered by duck_db while a sentence plays (with ramps)."""
    speaking = np.zeros(sample_count, dtype=np.float32)
    for sentence in sentences:
        start = max(0, round((sentence.start_s - DUCK_ATTACK_S) * AUDIO_RATE_HZ))
        end = min(sample_count, round((sentence.end_s + DUCK_RELEASE_S) * AUDIO_RATE_HZ))
        speaking[start:end] = 1.0
    # Smooth the on/off steps into ramps as long as the attack.
    ramp = max(1, round(DUCK_ATTACK_S * AUDIO_RATE_HZ))
    smooth = np.convolve(speaking, np.ones(ramp, dtype=np.float32) / ramp, mode="same")
    base = 10 ** (music.gain_db / 20)
    ducked = 10 ** ((music.gain_db + music.duck_db) / 20)
    return (base + (ducked - base) * np.clip(smooth, 0, 1)).astype(np.float32)
