"""A scene's sound: sentence clips placed at their times, an optional music bed ducked under them.

moviepy does the sequencing (AudioArrayClip placed with `with_start`, mixed chunk by chunk
by CompositeAudioClip); PyAV decodes music files. The result is exactly as many samples as
the scene's video lasts, so joined segments never drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from synthesis.encode import AUDIO_RATE_HZ
from synthesis.errors import SynthesisError
from synthesis.speech.audio import read_wav
from synthesis.timeline import TimedSentence

if TYPE_CHECKING:
    from moviepy import AudioArrayClip

# Short fades keep a clip's first and last samples from clicking against silence.
EDGE_FADE_S = 0.005
_CHUNK_S = 5.0
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
    """Mono float32 sound for one scene, exactly sample_count samples long.

    Clips are kept mono float32 and the mix is rendered in chunks into the output, so memory
    stays near 4 bytes per sample of the scene, however long it is.
    """
    # Imported here: moviepy takes 0.3 s to import, and a render served from the segment
    # cache (a learner's variant, say) mixes nothing.
    from moviepy import AudioArrayClip, CompositeAudioClip

    duration_s = sample_count / AUDIO_RATE_HZ
    clips = [_sentence_clip(sentence) for sentence in sentences if sentence.wav_path is not None]
    if music is not None:
        bed = _music_samples(music, duration_s) * _music_envelope(music, sentences, sample_count)
        clips.append(AudioArrayClip(bed.reshape(-1, 1), fps=AUDIO_RATE_HZ))
    mixed = np.zeros(sample_count, dtype=np.float32)
    if not clips:
        return mixed
    track = CompositeAudioClip(clips).with_duration(duration_s)
    position = 0
    for chunk in track.iter_chunks(chunk_duration=_CHUNK_S, fps=AUDIO_RATE_HZ):
        # moviepy hands back stereo frames; both channels carry the same mono signal.
        chunk = chunk[: sample_count - position, 0]
        mixed[position : position + len(chunk)] = chunk
        position += len(chunk)
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


def _sentence_clip(sentence: TimedSentence) -> AudioArrayClip:
    from moviepy import AudioArrayClip

    raw = read_wav(sentence.wav_path)
    if raw.sample_rate != AUDIO_RATE_HZ:
        raise SynthesisError(
            f"narration clip {sentence.wav_path.name} is {raw.sample_rate} Hz, "
            f"expected {AUDIO_RATE_HZ} Hz"
        )
    samples = _faded(raw.samples, EDGE_FADE_S).reshape(-1, 1)  # (n, 1) mono
    return AudioArrayClip(samples, fps=AUDIO_RATE_HZ).with_start(sentence.start_s)


def _music_samples(music: MusicBed, duration_s: float) -> np.ndarray:
    """The music from its start, looped to duration_s, faded in and out, as mono samples."""
    sample_count = round(duration_s * AUDIO_RATE_HZ)
    looped = np.resize(_decode_music(music.path, sample_count), sample_count)  # loops it
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
