"""A scene's sound: narration placed to the sample, padded to the frames, music ducked under it."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from synthesis.audio_track import MusicBed, scene_audio
from synthesis.errors import SynthesisError
from synthesis.timeline import TimedSentence

RATE = 48_000


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def tone(seconds: float, hz: float, level: float = 0.5) -> np.ndarray:
    return level * np.sin(2 * np.pi * hz * np.arange(round(seconds * RATE)) / RATE)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


@pytest.fixture
def voice(tmp_path) -> Path:
    return write_wav(tmp_path / "voice.wav", tone(1.0, 440))


def test_sentences_land_on_their_sample_and_the_track_is_exact_length(voice):
    clip = tone(1.0, 440).astype(np.float32)
    sentences = [
        TimedSentence("One.", 0.4, 1.4, voice, "espeak", "en"),
        TimedSentence("Two.", 1.65, 2.65, voice, "espeak", "en"),
    ]

    track = scene_audio(sentences, 3 * RATE + 17)

    assert track.shape == (3 * RATE + 17,)
    assert track.dtype == np.float32
    for start_s in (0.4, 1.65):
        start = round(start_s * RATE)
        # Away from the 5 ms edge fades the clip is copied sample for sample.
        middle = slice(start + 500, start + RATE - 500)
        np.testing.assert_allclose(track[middle], clip[500 : RATE - 500], atol=1e-4)
    assert np.abs(track[: round(0.4 * RATE)]).max() == 0
    assert np.abs(track[round(2.66 * RATE) :]).max() == 0


def test_a_silent_scene_is_all_zeros():
    track = scene_audio([], 1234)
    assert track.shape == (1234,)
    assert not track.any()


def test_a_clip_at_another_rate_is_refused(tmp_path):
    clip = write_wav(tmp_path / "slow.wav", tone(0.5, 440), rate=22_050)
    with pytest.raises(SynthesisError, match="slow.wav is 22050 Hz"):
        scene_audio([TimedSentence("Hi.", 0.4, 0.9, clip, "espeak", "en")], RATE * 2)


def test_music_is_quiet_ducked_under_speech_faded_and_looped(tmp_path, voice):
    music = MusicBed(write_wav(tmp_path / "bed.wav", tone(1.5, 220, level=0.8)))
    sentences = [TimedSentence("Hi.", 2.0, 3.0, voice, "espeak", "en")]

    with_music = scene_audio(sentences, 6 * RATE, music=music)
    speech_only = scene_audio(sentences, 6 * RATE)
    bed = with_music - speech_only

    seconds = {s: bed[round(s * RATE) : round((s + 0.2) * RATE)] for s in (0.0, 1.0, 2.4, 4.5)}
    open_level = rms(seconds[1.0])
    source_level = 0.8 / np.sqrt(2)
    assert open_level == pytest.approx(source_level * 10 ** (-24 / 20), rel=0.1)
    assert rms(seconds[2.4]) < open_level / 3  # ducked by about 12 dB while speaking
    assert rms(seconds[4.5]) == pytest.approx(open_level, rel=0.2)  # looped past 1.5 s
    assert rms(bed[:200]) < open_level / 5  # faded in
    assert rms(bed[-200:]) < open_level / 5  # faded out


def test_unreadable_music_is_a_clear_error(tmp_path):
    broken = tmp_path / "song.mp3"
    broken.write_bytes(b"not audio")
    with pytest.raises(SynthesisError, match="song.mp3"):
        scene_audio([], RATE, music=MusicBed(broken))
