"""The narration preview cache stays bounded: least recently played previews go first."""

from __future__ import annotations

import os
import time

import pytest

from courses.narration import PREVIEWS_MAX_FILES, narration_preview_wav, previews_prune


def write_file(path, size_bytes: int, age_s: float):
    path.write_bytes(bytes(size_bytes))
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "previews"
    folder.mkdir()
    return folder


def test_prune_keeps_the_newest_files_up_to_the_count(folder):
    paths = [write_file(folder / f"{age}.wav", 10, age) for age in range(10, 0, -1)]
    removed = previews_prune(folder, max_files=3, max_bytes=10_000)
    assert sorted(p.name for p in folder.iterdir()) == ["1.wav", "2.wav", "3.wav"]
    assert set(removed) == set(paths[:7])


def test_prune_keeps_the_newest_files_up_to_the_size(folder):
    for age in (1, 2, 3, 4):
        write_file(folder / f"{age}.wav", 400, age)
    previews_prune(folder, max_files=100, max_bytes=1000)
    assert sorted(p.name for p in folder.iterdir()) == ["1.wav", "2.wav"]


def test_prune_never_removes_the_preview_just_written(folder):
    huge = write_file(folder / "huge.wav", 5000, 0)
    write_file(folder / "old.wav", 10, 60)
    previews_prune(folder, keep=huge, max_files=1, max_bytes=100)
    assert [p.name for p in folder.iterdir()] == ["huge.wav"]


def test_prune_clears_abandoned_temporary_files_only(folder):
    write_file(folder / "dead.wav.tmp", 10, 2 * 3600)
    write_file(folder / "writing.wav.tmp", 10, 1)
    previews_prune(folder, max_files=0, max_bytes=0)
    assert [p.name for p in folder.iterdir()] == ["writing.wav.tmp"]


@pytest.fixture
def speech_settings(settings, tmp_path):
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["espeak"]
    settings.LECTERN_TTS_LANGUAGE_ENGINES = {}
    return settings


def test_writing_a_preview_prunes_the_folder(speech_settings):
    previews = speech_settings.LECTERN_CACHE_DIR / "previews"
    previews.mkdir(parents=True)
    for index in range(PREVIEWS_MAX_FILES + 5):
        write_file(previews / f"old-{index:03}.wav", 44, 1000 + index)
    wav = narration_preview_wav(narration="Plants need light.", language="en")
    names = {path.name for path in previews.iterdir()}
    assert len(names) == PREVIEWS_MAX_FILES and wav.name in names
    # The oldest (largest age) went first.
    assert f"old-{PREVIEWS_MAX_FILES + 4:03}.wav" not in names and "old-000.wav" in names


def test_playing_a_cached_preview_marks_it_recently_used(speech_settings):
    wav = narration_preview_wav(narration="Water too.", language="en")
    os.utime(wav, (1, 1))
    assert narration_preview_wav(narration="Water too.", language="en") == wav
    assert time.time() - wav.stat().st_mtime < 60
