"""A scene's narration track: sentence clips placed at their times, faded, padded to the frames.

moviepy does the sequencing (AudioArrayClip placed with `with_start`, mixed by
CompositeAudioClip, edged with AudioFadeIn/AudioFadeOut); the result is cut or padded to the
exact sample count of the scene's video so that joined segments never drift.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from moviepy import AudioArrayClip, CompositeAudioClip, afx

from synthesis.encode import AUDIO_RATE_HZ, fit_audio
from synthesis.errors import SynthesisError
from synthesis.speech.audio import read_wav
from synthesis.timeline import TimedSentence

# Short fades keep a clip's first and last samples from clicking against silence.
EDGE_FADE_S = 0.005


def scene_audio(sentences: Sequence[TimedSentence], sample_count: int) -> np.ndarray:
    """Mono float32 narration for one scene, exactly sample_count samples long."""
    if not sentences:
        return np.zeros(sample_count, dtype=np.float32)
    duration_s = sample_count / AUDIO_RATE_HZ
    clips = []
    for sentence in sentences:
        if sentence.wav_path is None:
            continue
        raw = read_wav(sentence.wav_path)
        if raw.sample_rate != AUDIO_RATE_HZ:
            raise SynthesisError(
                f"narration clip {sentence.wav_path.name} is {raw.sample_rate} Hz, "
                f"expected {AUDIO_RATE_HZ} Hz"
            )
        clip = (
            # Two equal channels: moviepy's array clips and fades assume stereo frames.
            AudioArrayClip(np.repeat(raw.samples.reshape(-1, 1), 2, axis=1), fps=AUDIO_RATE_HZ)
            .with_start(sentence.start_s)
            .with_effects([afx.AudioFadeIn(EDGE_FADE_S), afx.AudioFadeOut(EDGE_FADE_S)])
        )
        clips.append(clip)
    if not clips:
        return np.zeros(sample_count, dtype=np.float32)
    track = CompositeAudioClip(clips).with_duration(duration_s)
    mixed = track.to_soundarray(fps=AUDIO_RATE_HZ)
    mono = mixed.mean(axis=1) if mixed.ndim == 2 else mixed
    return fit_audio(np.clip(mono, -1.0, 1.0), sample_count)
