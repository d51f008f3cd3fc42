"""Speech beside encoding: sentences spoken on a pool while earlier scenes are encoded.

Renders use a deliberately slow test engine (tests/synthesis/tone_engine.py) at 160x90 and
10 fps, so speaking takes longer than encoding and the overlap shows in progress events.
"""

from __future__ import annotations

import threading
import time

import pytest

from synthesis import render as render_module
from synthesis.errors import RenderCancelled, SpeechError
from synthesis.render import render
from synthesis.render_progress import RenderWork, TimeLeft
from synthesis.speech_pool import Sentence, expected_engine, lesson_sentences
from synthesis.storyboard import RenderSettings, Scene, Storyboard, Visual, VoiceSettings
from tests.synthesis.tone_engine import ToneEngine, register_tone_engine

SETTINGS = RenderSettings(
    width_px=160,
    height_px=90,
    fps=10,
    quality="draft",
    device="cpu",
    voice=VoiceSettings(engines=("tone",)),
)
SCENES = 4
POOL_THREADS = ("speech", "encode", "prefetch")


def four_scenes(tag: str = "") -> Storyboard:
    """Four scenes of two sentences each; tag makes the sentences new to any cache."""
    return Storyboard(
        title="Tones",
        language="en",
        scenes=tuple(
            Scene(
                f"s{n}",
                Visual(kind="text", title=f"Scene {n}", bullets=("A tone",)),
                f"Scene {n} starts here{tag}. Scene {n} ends here{tag}.",
            )
            for n in range(1, SCENES + 1)
        ),
    )


@pytest.fixture
def tone_engine(monkeypatch) -> ToneEngine:
    return register_tone_engine(monkeypatch)


def pool_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(POOL_THREADS)]


@pytest.fixture(scope="module")
def slow_render(tmp_path_factory):
    """One render with nothing cached and a slow voice: its reports and the engine's log."""
    work = tmp_path_factory.mktemp("slow-render")
    with pytest.MonkeyPatch.context() as patch:
        engine = register_tone_engine(patch, delay_s=0.4)
        reports = []
        result = render(
            four_scenes(),
            work / "tones.mp4",
            settings=SETTINGS,
            cache_dir=work / "cache",
            progress=reports.append,
        )
    return result, reports, engine


def test_scenes_are_encoded_while_later_ones_are_spoken(slow_render):
    result, reports, _ = slow_render
    events = [(r.stage, r.scene_index) for r in reports]
    first_encode = events.index(("encode", 1))
    last_speech = max(i for i, event in enumerate(events) if event == ("speech", SCENES))
    assert first_encode < last_speech
    assert result.manifest_data["statistics"]["cache"]["scene_misses"] == SCENES


def test_sentences_are_spoken_at_once_one_per_core(slow_render):
    _, _, engine = slow_render
    assert len(engine.spoken) == 2 * SCENES
    assert engine.max_active == min(render_module._usable_cpus(), 2 * SCENES)
    assert engine.max_active > 1 or render_module._usable_cpus() == 1


def test_every_report_after_the_first_estimate_carries_a_shrinking_time_left(slow_render):
    _, reports, _ = slow_render
    percents = [r.percent for r in reports]
    assert percents == sorted(percents)
    estimated = [i for i, r in enumerate(reports) if r.eta_s is not None]
    assert estimated, "no report estimated the time left"
    after_first = reports[estimated[0] :]
    assert all(r.eta_s is not None and r.eta_s >= 0 for r in after_first)
    assert reports[-1].stage == "done" and reports[-1].eta_s == 0
    # Decreasing on the whole: the last estimates before the end are below the first ones.
    running = [r.eta_s for r in after_first[:-1]]
    third = max(1, len(running) // 3)
    assert sum(running[-third:]) / third < sum(running[:third]) / third


def test_cancel_while_speaking_stops_at_once_and_leaves_no_thread(tmp_path, tone_engine):
    tone_engine.delay_s = 0.5
    asked_at = []

    def cancel_once_speaking() -> bool:
        if len(tone_engine.spoken) >= 2 and not asked_at:
            asked_at.append(time.perf_counter())
        return bool(asked_at)

    with pytest.raises(RenderCancelled):
        render(
            four_scenes(),
            tmp_path / "out" / "tones.mp4",
            settings=SETTINGS,
            cache_dir=tmp_path / "cache",
            should_cancel=cancel_once_speaking,
        )

    # At most the sentences already being spoken are finished (0.5 s each), nothing more.
    assert time.perf_counter() - asked_at[0] < 1.5
    assert len(tone_engine.spoken) < 2 * SCENES
    assert pool_threads() == []
    assert list((tmp_path / "out").iterdir()) == []


def test_an_engine_failure_names_its_scene_and_stops_the_pool(tmp_path, tone_engine):
    tone_engine.delay_s = 0.2
    tone_engine.fail_on = "Scene 3 starts"

    with pytest.raises(SpeechError, match=r"^scene 3: No speech engine could speak") as caught:
        render(four_scenes(), tmp_path / "tones.mp4", settings=SETTINGS, cache_dir=tmp_path)

    assert "the tone generator broke" in str(caught.value)
    assert pool_threads() == []
    assert not (tmp_path / "tones.mp4").exists()


def test_cached_sentences_are_known_before_speaking(tmp_path, tone_engine):
    voice = SETTINGS.voice
    board = four_scenes()
    narrations = [["Scene 1 starts here.", "Scene 1 ends here."]]
    render(board, tmp_path / "a.mp4", settings=SETTINGS, cache_dir=tmp_path)

    sentences = lesson_sentences(
        [*narrations, ["A sentence never spoken."]], ["en", "en"], voice=voice, cache_dir=tmp_path
    )

    assert [s.engine for s in sentences[0]] == [None, None]
    assert [s.engine for s in sentences[1]] == ["tone"]
    assert sentences[1][0].cost_s > 0 == sentences[0][0].cost_s
    nobody = VoiceSettings(engines=("espeak",))
    assert expected_engine("你好。", language="zh", voice=nobody, cache_dir=tmp_path, available={})


def test_progress_weighs_speech_and_frames_by_their_estimated_cost():
    spoken = Sentence(0, 0, "x" * 100, "en", "piper")
    cached = Sentence(1, 0, "y" * 100, "en", None)
    work = RenderWork([[spoken], [cached]], fps=10, size_px=(1000, 1000), transition_frames=5)
    assert work.scene_frames[1] == 0  # cached speech: planned at once, assumed cached
    assert work.transition_frames == [5]
    speech_s, frame_s = work.speech_total_s, work.frame_cost_s

    work.spoke(spoken)
    work.scene_planned(0, 40)
    work.scene_planned(1, 0)
    work.transition_decided(0, missing=True)
    assert work.fraction() == pytest.approx(speech_s / (speech_s + 45 * frame_s))
    work.encoded(("scene", 0, 0), 40)
    work.encoded(("transition", 0, 0), 5)
    assert work.fraction() == 1.0


def test_time_left_follows_steady_progress_and_counts_down_between_reports():
    now = [0.0]
    time_left = TimeLeft(clock=lambda: now[0])
    assert time_left.update(0.0) is None
    estimates = []
    for second in range(1, 21):
        now[0] = float(second)
        estimates.append(time_left.update(second / 40))  # 40 s of work, done evenly
    assert estimates == [40.0 - second for second in range(1, 21)]
    # A second without progress: the raw estimate jumps to 21 s, the smoothed one barely moves.
    now[0] = 21.0
    assert 19.0 < time_left.update(0.5) < 20.0
