"""WAV input and output, and turning an engine's raw audio into narration-ready samples.

Every clip leaves here the same way: silence trimmed to 50 ms at each end, mono
48 kHz, about -18 LUFS integrated (RMS-based for clips too short to gate), peaks
limited to -1 dBFS, 16-bit. Engines then sound alike in loudness and captions line
up with the audio.
"""

from __future__ import annotations

import functools
import io
import wave
from math import gcd
from pathlib import Path

import av
import numpy as np

from .base import RawAudio

OUTPUT_RATE_HZ = 48_000
TARGET_LUFS = -18.0
PEAK_CEILING_DBFS = -1.0
KEEP_SILENCE_S = 0.05
# Frames quieter than this, relative to the loudest 10 ms frame, count as silence.
SILENCE_BELOW_PEAK_DB = 40.0
SILENCE_FLOOR_DBFS = -60.0
# pyloudnorm gates 400 ms blocks; shorter clips get the RMS estimate instead.
MIN_GATED_DURATION_S = 0.5
# Piper and espeak sentences normalised to -18 LUFS measured -17.1 to -18.0 dBFS active
# RMS: integrated loudness is about 0.8 dB below active RMS for this speech.
RMS_TO_LUFS_OFFSET_DB = -0.8
_FRAME_S = 0.01
_LIMITER_WINDOW_S = 0.005


class SilentAudio(ValueError):
    """An engine returned audio with nothing audible in it."""


def read_wav(path: Path) -> RawAudio:
    """Read a 16-bit PCM WAV file (any rate, mono or stereo) as mono float samples."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path.name}: expected 16-bit PCM, got {8 * wav.getsampwidth()}-bit")
        frames = wav.readframes(wav.getnframes())
        channels, rate = wav.getnchannels(), wav.getframerate()
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return RawAudio(samples=samples, sample_rate=rate)


def decode_audio(data: bytes) -> RawAudio:
    """Decode compressed audio (MP3 from gTTS) to mono float samples; ValueError if it can't."""
    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.audio[0]
            rate = stream.rate
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            chunks = [
                out.to_ndarray().reshape(-1)
                for frame in container.decode(stream)
                for out in resampler.resample(frame)
            ]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except (av.FFmpegError, IndexError) as exc:
        raise ValueError(f"cannot decode audio: {exc}") from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return RawAudio(samples=samples.astype(np.float32), sample_rate=rate)


def write_wav(path: Path, samples: np.ndarray, rate_hz: int = OUTPUT_RATE_HZ) -> None:
    """Write int16 mono samples as a PCM WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate_hz)
        wav.writeframes(samples.astype("<i2").tobytes())


def wav_duration_s(path: Path) -> float:
    """Duration of a WAV file from its header."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def prepare_narration(raw: RawAudio) -> np.ndarray:
    """Trim, resample to 48 kHz, normalise loudness and limit peaks; int16 mono samples."""
    trimmed = trim_silence(raw.samples.astype(np.float64), raw.sample_rate)
    resampled = resample(trimmed, raw.sample_rate, OUTPUT_RATE_HZ)
    normalised = normalise_loudness(resampled, OUTPUT_RATE_HZ)
    limited = limit_peaks(normalised, OUTPUT_RATE_HZ)
    return np.round(limited * 32767.0).astype(np.int16)


def trim_silence(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """Cut leading and trailing silence, keeping KEEP_SILENCE_S of it at each end."""
    frame = max(1, int(rate_hz * _FRAME_S))
    n_frames = len(samples) // frame
    if n_frames == 0:
        raise SilentAudio("the engine returned no audio")
    rms = np.sqrt(np.mean(samples[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1))
    threshold = max(
        rms.max() * 10 ** (-SILENCE_BELOW_PEAK_DB / 20), 10 ** (SILENCE_FLOOR_DBFS / 20)
    )
    loud = np.flatnonzero(rms >= threshold)
    if loud.size == 0:
        raise SilentAudio("the engine returned only silence")
    keep = int(rate_hz * KEEP_SILENCE_S)
    start = max(0, loud[0] * frame - keep)
    end = min(len(samples), (loud[-1] + 1) * frame + keep)
    return samples[start:end]


def resample(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Polyphase resampling (exact ratio, anti-aliased)."""
    if from_hz == to_hz:
        return samples
    from scipy.signal import resample_poly

    divisor = gcd(from_hz, to_hz)
    return resample_poly(samples, to_hz // divisor, from_hz // divisor)


def normalise_loudness(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """Scale to TARGET_LUFS integrated loudness (BS.1770), or by active RMS for short clips."""
    loudness = _integrated_lufs(samples, rate_hz)
    if loudness is None:
        loudness = active_rms_dbfs(samples, rate_hz) + RMS_TO_LUFS_OFFSET_DB
    return samples * 10 ** ((TARGET_LUFS - loudness) / 20)


def _integrated_lufs(samples: np.ndarray, rate_hz: int) -> float | None:
    if len(samples) < MIN_GATED_DURATION_S * rate_hz:
        return None
    meter = _loudness_meter(rate_hz)
    loudness = meter.integrated_loudness(samples)
    return float(loudness) if np.isfinite(loudness) else None


@functools.cache
def _loudness_meter(rate_hz: int):
    # scipy and pyloudnorm (~75 MB, 0.6 s) load only when a clip is synthesised, not
    # in renders whose narration all comes from the cache.
    import pyloudnorm

    return pyloudnorm.Meter(rate_hz)


def active_rms_dbfs(samples: np.ndarray, rate_hz: int) -> float:
    """RMS level of the frames within SILENCE_BELOW_PEAK_DB of the loudest, in dBFS."""
    frame = max(1, int(rate_hz * _FRAME_S))
    n_frames = max(1, len(samples) // frame)
    padded = np.zeros(n_frames * frame)
    padded[: min(len(samples), n_frames * frame)] = samples[: n_frames * frame]
    power = np.mean(padded.reshape(n_frames, frame) ** 2, axis=1)
    active = power[power >= power.max() * 10 ** (-SILENCE_BELOW_PEAK_DB / 10)]
    return float(10 * np.log10(max(active.mean(), 1e-12)))


def limit_peaks(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """Bring every peak under PEAK_CEILING_DBFS with a smooth gain dip instead of clipping."""
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20)
    magnitude = np.abs(samples)
    if magnitude.max(initial=0.0) <= ceiling:
        return samples
    needed = np.minimum(1.0, ceiling / np.maximum(magnitude, 1e-12))
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    window = max(1, int(rate_hz * _LIMITER_WINDOW_S))
    # The minimum over 2w+1 samples, averaged over w, never exceeds the gain a peak needs
    # (every average includes the peak's own minimum), and ramps smoothly into and out of it.
    gain = uniform_filter1d(minimum_filter1d(needed, size=2 * window + 1), size=window)
    return np.clip(samples * gain, -ceiling, ceiling)
