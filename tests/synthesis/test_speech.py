"""Narration with real engines (Piper, Kokoro, espeak-ng) offline: fallback, cache, loudness."""

import io
import socket
import time
import wave
from pathlib import Path

import av
import numpy as np
import pyloudnorm
import pytest

from synthesis.errors import SpeechError
from synthesis.speech import ENGINES, audio, engine_status, gtts_engine, speak
from synthesis.speech.piper_engine import VOICE_NAME
from synthesis.storyboard import VoiceSettings

ENGLISH = "Git keeps a history of every change you commit."
MANDARIN = "线性回归是一种简单的模型。"


@pytest.fixture(autouse=True)
def fresh_probe():
    gtts_engine.forget_reachability()
    yield
    gtts_engine.forget_reachability()


@pytest.fixture
def offline(monkeypatch):
    """Make Google unreachable whatever the network: .invalid names never resolve."""
    monkeypatch.setattr(gtts_engine, "PROBE_ADDRESS", ("translate.google.invalid", 443))


def wav_format(path: Path) -> tuple[int, int, int]:
    with wave.open(str(path), "rb") as wav:
        return wav.getnchannels(), wav.getsampwidth(), wav.getframerate()


def lufs(path: Path) -> float:
    samples = audio.read_wav(path).samples.astype(np.float64)
    return pyloudnorm.Meter(audio.OUTPUT_RATE_HZ).integrated_loudness(samples)


def test_piper_speaks_english_offline(tmp_path, offline):
    spoken = speak(
        ENGLISH, language="en", voice=VoiceSettings(engines=("piper",)), cache_dir=tmp_path
    )
    assert (spoken.engine, spoken.voice) == ("piper", VOICE_NAME)
    assert wav_format(spoken.wav_path) == (1, 2, 48_000)
    assert 1.5 < spoken.duration_s < 6.0
    assert spoken.duration_s == pytest.approx(audio.wav_duration_s(spoken.wav_path))
    assert spoken.wav_path.parent == tmp_path / "audio"


def test_kokoro_speaks_mandarin(tmp_path, offline):
    voice = VoiceSettings(engines=("piper", "kokoro", "espeak"))
    spoken = speak(MANDARIN, language="zh", voice=voice, cache_dir=tmp_path)
    assert (spoken.engine, spoken.voice) == ("kokoro", "jm_kumo")
    assert wav_format(spoken.wav_path) == (1, 2, 48_000)
    assert 1.0 < spoken.duration_s < 8.0
    assert spoken.notes == ("piper: does not speak zh",)


def test_espeak_is_never_used_for_mandarin(tmp_path, offline):
    # Its cmn voice reads tone digits as English numbers (test_intelligibility.py).
    with pytest.raises(SpeechError, match="espeak: does not speak zh"):
        speak(MANDARIN, language="zh", voice=VoiceSettings(("espeak",)), cache_dir=tmp_path)


def test_each_language_can_have_its_own_engine_order(tmp_path, offline):
    voice = VoiceSettings(engines=("espeak", "piper"), language_engines=(("zh", ("kokoro",)),))
    assert voice.engines_for("en") == ("espeak", "piper")
    assert voice.engines_for("zh") == ("kokoro",)
    assert speak(ENGLISH, language="en", voice=voice, cache_dir=tmp_path).engine == "espeak"
    assert speak(MANDARIN, language="zh", voice=voice, cache_dir=tmp_path).engine == "kokoro"


def test_kokoro_voice_choice_is_honoured_and_cached_apart(tmp_path, offline):
    kumo = speak(MANDARIN, language="zh", voice=VoiceSettings(("kokoro",)), cache_dir=tmp_path)
    alpha = speak(
        MANDARIN,
        language="zh",
        voice=VoiceSettings(("kokoro",), voice="jf_alpha"),
        cache_dir=tmp_path,
    )
    assert (kumo.voice, alpha.voice) == ("jm_kumo", "jf_alpha")
    assert kumo.wav_path != alpha.wav_path
    assert kumo.wav_path.read_bytes() != alpha.wav_path.read_bytes()


def test_unreachable_gtts_falls_back_to_espeak_quickly(tmp_path, offline):
    voice = VoiceSettings(engines=("gtts", "espeak"))
    started = time.monotonic()
    spoken = speak(ENGLISH, language="en", voice=voice, cache_dir=tmp_path)
    assert time.monotonic() - started < 5.0
    assert spoken.engine == "espeak"
    assert spoken.notes[0].startswith("gtts: offline: cannot reach translate.google.invalid")


def test_gtts_probe_is_cached_across_sentences(tmp_path, offline, monkeypatch):
    probes = []
    real_connect = gtts_engine.socket.create_connection

    def counting_connect(*args, **kwargs):
        probes.append(args)
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(gtts_engine.socket, "create_connection", counting_connect)
    voice = VoiceSettings(engines=("gtts", "espeak"))
    for text in ("One.", "Two.", "Three."):
        speak(text, language="en", voice=voice, cache_dir=tmp_path)
    assert len(probes) == 1


def test_silent_host_is_given_up_within_the_probe_timeout(monkeypatch):
    # A listener with a full backlog drops further SYNs, so a connect hangs like a
    # firewalled route would, without needing a network.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        host, port = listener.getsockname()
        with socket.create_connection((host, port), timeout=1):
            monkeypatch.setattr(gtts_engine, "PROBE_ADDRESS", (host, port))
            monkeypatch.setattr(gtts_engine, "PROBE_TIMEOUT_S", 0.5)
            started = time.monotonic()
            problem = gtts_engine.reachability_problem()
            assert time.monotonic() - started < 1.5
    assert problem.startswith(f"offline: cannot reach {host}:{port}")


def test_no_capable_engine_raises_speech_error_naming_the_sentence(tmp_path):
    with pytest.raises(SpeechError) as raised:
        speak(MANDARIN, language="zh", voice=VoiceSettings(engines=("piper",)), cache_dir=tmp_path)
    message = str(raised.value)
    assert MANDARIN in message
    assert "piper: does not speak zh" in message


def test_speech_error_lists_every_engine_reason(tmp_path, offline, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng binary here
    long_text = "This is a rather long sentence, " * 10
    with pytest.raises(SpeechError) as raised:
        speak(
            long_text,
            language="en",
            voice=VoiceSettings(("nosuch", "kokoro", "espeak", "gtts")),
            cache_dir=tmp_path,
        )
    message = str(raised.value)
    assert long_text.strip()[:59] + "…" in message
    assert "nosuch: unknown engine" in message
    assert "kokoro: does not speak en" in message
    assert "espeak: espeak-ng binary not found" in message
    assert "gtts: offline" in message


def test_cache_hit_returns_the_same_file_without_synthesizing(tmp_path, monkeypatch):
    espeak = ENGINES["espeak"]
    calls = []
    real_synthesize = espeak.synthesize

    def counting_synthesize(*args, **kwargs):
        calls.append(args)
        return real_synthesize(*args, **kwargs)

    monkeypatch.setattr(espeak, "synthesize", counting_synthesize)
    voice = VoiceSettings(engines=("espeak",))
    first = speak(ENGLISH, language="en", voice=voice, cache_dir=tmp_path)
    second = speak(ENGLISH, language="en", voice=voice, cache_dir=tmp_path)
    assert second == first
    assert len(calls) == 1
    assert [p.name for p in (tmp_path / "audio").iterdir()] == [first.wav_path.name]


def test_cache_key_depends_on_rate_and_voice(tmp_path):
    paths = {
        speak(ENGLISH, language="en", voice=settings, cache_dir=tmp_path).wav_path
        for settings in (
            VoiceSettings(engines=("espeak",)),
            VoiceSettings(engines=("espeak",), rate=1.3),
            VoiceSettings(engines=("espeak",), voice="en-gb"),
        )
    }
    assert len(paths) == 3


@pytest.mark.parametrize("engine", ["espeak", "piper"])
def test_faster_rate_gives_shorter_speech(tmp_path, engine):
    slow = speak(
        ENGLISH, language="en", voice=VoiceSettings((engine,), rate=0.7), cache_dir=tmp_path
    )
    fast = speak(
        ENGLISH, language="en", voice=VoiceSettings((engine,), rate=1.5), cache_dir=tmp_path
    )
    assert fast.duration_s < 0.8 * slow.duration_s


def test_engines_are_equally_loud(tmp_path):
    piper = speak(ENGLISH, language="en", voice=VoiceSettings(("piper",)), cache_dir=tmp_path)
    espeak = speak(ENGLISH, language="en", voice=VoiceSettings(("espeak",)), cache_dir=tmp_path)
    mandarin = speak(MANDARIN, language="zh", voice=VoiceSettings(("kokoro",)), cache_dir=tmp_path)
    levels = [lufs(s.wav_path) for s in (piper, espeak, mandarin)]
    assert max(levels) - min(levels) < 2.0
    assert all(abs(level - audio.TARGET_LUFS) < 1.5 for level in levels)


def test_voice_override_goes_to_the_first_engine_that_has_it(tmp_path, offline):
    voice = VoiceSettings(engines=("piper", "espeak"), voice="en-gb")
    assert speak(ENGLISH, language="en", voice=voice, cache_dir=tmp_path).voice == VOICE_NAME
    voice = VoiceSettings(engines=("gtts", "espeak"), voice="en-gb")
    spoken = speak(ENGLISH, language="en", voice=voice, cache_dir=tmp_path)
    assert (spoken.engine, spoken.voice) == ("espeak", "en-gb")


def test_voice_no_engine_has_is_reported(tmp_path):
    voice = VoiceSettings(engines=("espeak",), voice="cmn")
    spoken = speak(ENGLISH, language="en", voice=voice, cache_dir=tmp_path)
    assert spoken.voice == "en-us"
    assert spoken.notes == ("voice 'cmn' is not a en voice of espeak",)


def test_language_tags_are_reduced_to_their_base(tmp_path):
    voice = VoiceSettings(engines=("piper", "kokoro"))
    assert speak(MANDARIN, language="zh-CN", voice=voice, cache_dir=tmp_path).engine == "kokoro"


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_a_value_error(tmp_path, text):
    with pytest.raises(ValueError):
        speak(text, language="en", voice=VoiceSettings(), cache_dir=tmp_path)


def test_engine_status_reports_ok_and_reasons(offline, monkeypatch, tmp_path):
    status = engine_status()
    assert status["piper"] == "ok"
    assert status["espeak"] == "ok"
    assert status["kokoro"] == "ok"
    assert status["gtts"].startswith("offline: cannot reach translate.google.invalid:443")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "espeak-ng binary not found" in engine_status()["espeak"]


def test_trimming_keeps_fifty_milliseconds_of_silence():
    rate = 22_050
    tone = 0.5 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)
    padded = np.concatenate([np.zeros(rate), tone, np.zeros(2 * rate)])
    trimmed = audio.trim_silence(padded, rate)
    assert len(trimmed) / rate == pytest.approx(1.0 + 2 * audio.KEEP_SILENCE_S, abs=0.011)


def test_silent_engine_output_is_rejected():
    with pytest.raises(audio.SilentAudio):
        audio.prepare_narration(audio.RawAudio(np.zeros(22_050, np.float32), 22_050))


def test_peaks_are_limited_below_the_ceiling():
    rate = audio.OUTPUT_RATE_HZ
    loud = 1.5 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)
    limited = audio.limit_peaks(loud, rate)
    assert np.abs(limited).max() <= 10 ** (audio.PEAK_CEILING_DBFS / 20) + 1e-9


def test_short_clip_loudness_matches_long_clip_loudness(tmp_path):
    # A clip too short for gated BS.1770 uses the RMS estimate; cut from a clip already at
    # the target, it should need almost no gain.
    spoken = speak(ENGLISH, language="en", voice=VoiceSettings(("piper",)), cache_dir=tmp_path)
    samples = audio.read_wav(spoken.wav_path).samples.astype(np.float64)
    middle = len(samples) // 2
    short = samples[middle : middle + int(0.4 * audio.OUTPUT_RATE_HZ)]
    gain_db = 20 * np.log10(
        np.abs(audio.normalise_loudness(short, audio.OUTPUT_RATE_HZ)).max() / np.abs(short).max()
    )
    assert abs(gain_db) < 3.0


def test_mp3_from_gtts_decodes_to_mono_samples():
    rate = 24_000  # what gTTS serves
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)).astype(np.float32)
    mp3 = io.BytesIO()
    with av.open(mp3, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    decoded = audio.decode_audio(mp3.getvalue())
    assert decoded.sample_rate == rate
    assert len(decoded.samples) / rate == pytest.approx(1.0, abs=0.1)
    assert np.abs(decoded.samples).max() == pytest.approx(0.3, abs=0.05)


def test_garbage_instead_of_mp3_is_a_value_error():
    with pytest.raises(ValueError):
        audio.decode_audio(b"<html>captive portal</html>")


def test_failed_gtts_request_falls_back_and_is_remembered(tmp_path, monkeypatch):
    # The probe says "reachable" (as behind a proxy that accepts any connection) but the
    # request itself fails; later sentences must not try gTTS again.
    if gtts_engine.reachability_problem() is None:
        pytest.skip("Google Translate is reachable: the request would succeed")
    gtts_engine.forget_reachability()
    monkeypatch.setattr(gtts_engine.socket, "create_connection", lambda *a, **k: io.BytesIO())
    voice = VoiceSettings(engines=("gtts", "espeak"))
    started = time.monotonic()
    spoken = speak(ENGLISH, language="en", voice=voice, cache_dir=tmp_path)
    assert time.monotonic() - started < 5.0
    assert spoken.engine == "espeak"
    assert spoken.notes[0].startswith("gtts: gTTS request failed")
    assert gtts_engine.reachability_problem().startswith("gTTS request failed")
