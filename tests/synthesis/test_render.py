"""The render entry point end to end: real speech (espeak), real frames, real MP4s, small sizes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from synthesis import render as render_module
from synthesis.captions import parse_webvtt
from synthesis.errors import RenderCancelled, SynthesisError
from synthesis.render import output_paths, render
from synthesis.segments import SegmentStore
from synthesis.storyboard import (
    RenderSettings,
    Scene,
    SourceRef,
    Storyboard,
    Visual,
    VoiceSettings,
)
from synthesis.timeline import Cue, unwrap_caption, wrap_caption
from tests.synthesis.media_checks import ffprobe, stream
from tests.synthesis.tone_engine import register_tone_engine

FPS = 10
SETTINGS = RenderSettings(
    width_px=256,
    height_px=144,
    fps=FPS,
    quality="draft",
    device="cpu",
    voice=VoiceSettings(engines=("espeak",)),
)
AIGC_FIELDS = {
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
}


def lesson(image_path: Path, *, second_narration: str = "A commit is a snapshot.") -> Storyboard:
    """Four short scenes: a title card, a text slide, an image and a code slide."""
    return Storyboard(
        title="Git basics",
        language="en",
        attribution="Test lesson written for Lectern.",
        scenes=(
            Scene("intro", Visual(kind="title", title="Git basics"), "Welcome to Git."),
            Scene(
                "commits",
                Visual(kind="text", title="Commits", bullets=("Snapshots", "Messages")),
                second_narration,
                concepts=("commit",),
                sources=(SourceRef("lesson.md", paragraph=4, sentence="A commit is a snapshot."),),
            ),
            Scene(
                "diagram",
                Visual(kind="image", title="History", image_path=str(image_path), alt="Three dots"),
                "History is a chain.",
                role="enrichment",
            ),
            Scene(
                "status",
                Visual(kind="code", title="Status", code="git status", code_language="bash"),
                "Check often.",
            ),
        ),
    )


@pytest.fixture(scope="module")
def speech_cache(tmp_path_factory) -> Path:
    """Narration clips shared by this module's renders, so espeak speaks each sentence once."""
    cache = tmp_path_factory.mktemp("speech-cache")
    (cache / "audio").mkdir()
    return cache


def fresh_cache(root: Path, speech_cache: Path) -> Path:
    """A cache with no segments that shares the module's speech clips."""
    cache = root / "cache"
    cache.mkdir()
    (cache / "audio").symlink_to(speech_cache / "audio", target_is_directory=True)
    return cache


@pytest.fixture
def picture(tmp_path) -> Path:
    path = tmp_path / "dots.png"
    image = Image.new("RGB", (400, 300), (250, 250, 250))
    for x in (80, 200, 320):
        image.paste((30, 90, 200), (x - 20, 130, x + 20, 170))
    image.save(path)
    return path


@pytest.fixture
def cache_dir(tmp_path, speech_cache) -> Path:
    return fresh_cache(tmp_path, speech_cache)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, speech_cache):
    """One full render of the four-scene lesson: its result, progress reports and cache."""
    work = tmp_path_factory.mktemp("rendered")
    image = work / "dots.png"
    Image.new("RGB", (400, 300), (200, 220, 250)).save(image)
    cache = fresh_cache(work, speech_cache)
    reports = []
    result = render(
        lesson(image),
        work / "out" / "lesson.mp4",
        settings=SETTINGS,
        cache_dir=cache,
        progress=reports.append,
    )
    return result, reports, cache


def test_render_writes_every_output(rendered):
    result, _, _ = rendered
    expected = output_paths(result.video)
    assert result.video.name == "lesson.mp4"
    for name, path in expected.items():
        assert path.is_file(), name
        assert getattr(result, name) == path
    leftovers = [p.name for p in result.video.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_video_is_h264_aac_with_equal_audio_and_video(rendered):
    result, _, _ = rendered
    info = ffprobe(result.video)
    video, audio = stream(info, "video"), stream(info, "audio")
    assert video["codec_name"] == "h264"
    assert video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == (256, 144)
    assert audio["codec_name"] == "aac"
    assert int(audio["sample_rate"]) == 48_000
    assert abs(float(audio["duration"]) - float(video["duration"])) < 1 / FPS
    assert float(video["duration"]) == pytest.approx(result.duration_s, abs=1e-3)


def test_video_carries_the_machine_readable_ai_label(rendered):
    result, _, _ = rendered
    tags = ffprobe(result.video)["format"]["tags"]
    label = json.loads(tags["AIGC"])
    assert set(label) == AIGC_FIELDS
    assert label["Label"] == "1"
    assert label["ProduceID"] == label["PropagateID"] == result.manifest_data["render_key"]
    assert "AI-generated" in tags["comment"]


def test_scene_starts_add_up_segment_by_segment(rendered):
    result, _, _ = rendered
    manifest = result.manifest_data
    scenes, transitions = manifest["scenes"], manifest["transitions"]
    assert [s["id"] for s in scenes] == ["intro", "commits", "diagram", "status"]
    # The opening label segment comes first, then a crossfade into every scene.
    assert manifest["opening"]["end_s"] == pytest.approx(2.5, abs=1 / FPS)
    assert [t["from"] for t in transitions] == ["opening", "intro", "commits", "diagram"]
    clock_s = manifest["opening"]["end_s"]
    for scene, transition in zip(scenes, transitions, strict=True):
        assert transition["start_s"] == pytest.approx(clock_s, abs=1 / FPS)
        clock_s = transition["end_s"]
        assert scene["start_s"] == pytest.approx(clock_s, abs=1 / FPS)
        clock_s = scene["end_s"]
    assert clock_s == pytest.approx(manifest["duration_s"], abs=1 / FPS)


def test_each_scene_starts_where_the_segments_before_it_end(rendered):
    result, _, cache = rendered
    manifest = result.manifest_data
    store = SegmentStore(cache)
    lengths_s = [
        float(stream(ffprobe(store.path_for(key)), "video")["duration"])
        for key in manifest["segments"]
    ]
    assert len(lengths_s) == 2 * len(manifest["scenes"]) + 1
    assert [e["segment"] for e in manifest["entries"]] == manifest["segments"]
    for position, scene in enumerate(manifest["scenes"]):
        before_s = sum(lengths_s[: 2 * position + 2])
        assert scene["start_s"] == pytest.approx(before_s, abs=1 / FPS)
    assert sum(lengths_s) == pytest.approx(result.duration_s, abs=1 / FPS)


def test_manifest_describes_scenes_sentences_and_the_render(rendered):
    result, _, _ = rendered
    manifest = json.loads(result.manifest.read_text("utf-8"))
    assert manifest == result.manifest_data
    assert manifest["title"] == "Git basics"
    assert manifest["language"] == "en"
    commits = manifest["scenes"][1]
    assert commits["title"] == "Commits"
    assert commits["concepts"] == ["commit"]
    assert commits["role"] == "core"
    assert manifest["scenes"][2]["role"] == "enrichment"
    sentence = commits["sentences"][0]
    assert sentence["text"] == "A commit is a snapshot."
    assert sentence["engine"] == "espeak"
    assert sentence["source"] == {"file": "lesson.md", "paragraph": 4}
    assert manifest["scenes"][0]["sentences"][0]["source"] is None
    assert commits["start_s"] < sentence["start_s"] < sentence["end_s"] < commits["end_s"]
    stats = manifest["statistics"]
    assert stats["cache"]["scene_misses"] + stats["cache"]["scene_hits"] == 4
    assert stats["compositor"]["backend"] == "cpu"
    assert stats["encoder"]["preset"] == "veryfast"
    assert stats["peak_rss_mb"] > 0
    assert set(stats["stage_s"]) >= {"speech", "plan", "encode", "assemble"}
    assert set(stats["worker_s"]) == {"slides", "frames", "audio", "encode"}
    assert all(seconds >= 0 for seconds in stats["worker_s"].values())


def test_captions_open_with_the_ai_notice_and_follow_the_narration(rendered):
    result, _, _ = rendered
    cues = parse_webvtt(result.captions.read_text("utf-8"))
    assert cues[0].text == "This video was generated with AI."
    assert cues[0].start_s == 0
    texts = [c.text for c in cues[1:]]
    assert texts == [
        "Welcome to Git.",
        "A commit is a snapshot.",
        "History is a chain.",
        "Check often.",
    ]
    first_sentence = result.manifest_data["scenes"][1]["sentences"][0]
    assert cues[2].start_s == pytest.approx(first_sentence["start_s"], abs=0.002)


def test_chapters_descriptions_transcript_and_poster(rendered):
    result, _, _ = rendered
    chapters = parse_webvtt(result.chapters.read_text("utf-8"))
    assert [c.text for c in chapters] == ["Git basics", "Commits", "History", "Status"]
    descriptions = parse_webvtt(result.descriptions.read_text("utf-8"))
    assert "Three dots" in descriptions[2].text
    transcript = result.transcript.read_text("utf-8")
    assert "Welcome to Git." in transcript
    assert "Test lesson written for Lectern." in transcript
    with Image.open(result.poster) as poster:
        assert poster.format == "JPEG"
        assert poster.size == (256, 144)


def test_progress_is_monotonic_through_every_stage(rendered):
    _, reports, _ = rendered
    stages = [r.stage for r in reports]
    assert stages[0] == "speech"
    assert "encode" in stages
    assert "assemble" in stages
    assert stages[-1] == "done"
    percents = [r.percent for r in reports]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    assert all(r.scene_count == 4 for r in reports)
    assert {r.scene_index for r in reports if r.stage == "encode"} >= {1, 2, 3, 4}


def test_rerender_after_editing_one_scene_reencodes_only_it_and_its_transitions(
    tmp_path, picture, cache_dir
):
    first = render(lesson(picture), tmp_path / "a.mp4", settings=SETTINGS, cache_dir=cache_dir)
    again = render(lesson(picture), tmp_path / "b.mp4", settings=SETTINGS, cache_dir=cache_dir)
    edited = render(
        lesson(picture, second_narration="A commit saves a snapshot."),
        tmp_path / "c.mp4",
        settings=SETTINGS,
        cache_dir=cache_dir,
    )

    cold = first.manifest_data["statistics"]["cache"]
    warm = again.manifest_data["statistics"]["cache"]
    edit = edited.manifest_data["statistics"]["cache"]
    assert (cold["scene_misses"], cold["transition_misses"], cold["opening_misses"]) == (4, 4, 1)
    assert (warm["scene_misses"], warm["transition_misses"], warm["opening_misses"]) == (0, 0, 0)
    assert (warm["scene_hits"], warm["transition_hits"]) == (4, 4)
    assert (edit["scene_misses"], edit["transition_misses"]) == (1, 2)
    assert again.manifest_data["render_key"] == first.manifest_data["render_key"]
    assert edited.manifest_data["render_key"] != first.manifest_data["render_key"]
    changed = [
        a["segment"] != b["segment"]
        for a, b in zip(first.manifest_data["scenes"], edited.manifest_data["scenes"], strict=True)
    ]
    assert changed == [False, True, False, False]
    # The edited scene is longer or shorter; later scenes move but keep their segments.
    info = ffprobe(edited.video)
    assert abs(float(stream(info, "audio")["duration"]) - edited.duration_s) < 1 / FPS


def test_changing_a_pixel_setting_misses_the_cache(tmp_path, picture, cache_dir):
    render(lesson(picture), tmp_path / "a.mp4", settings=SETTINGS, cache_dir=cache_dir)
    no_captions = replace(SETTINGS, burn_captions=False)
    result = render(lesson(picture), tmp_path / "b.mp4", settings=no_captions, cache_dir=cache_dir)
    cache = result.manifest_data["statistics"]["cache"]
    # Every scene carries burned captions, so every scene and transition differs.
    assert (cache["scene_misses"], cache["transition_misses"]) == (4, 4)


def test_cache_cap_evicts_segments_of_older_renders(tmp_path, picture, cache_dir):
    render(lesson(picture), tmp_path / "a.mp4", settings=SETTINGS, cache_dir=cache_dir)
    store = SegmentStore(cache_dir)
    assert len(store.keys()) == 9

    result = render(
        lesson(picture, second_narration="Commits are snapshots."),
        tmp_path / "b.mp4",
        settings=SETTINGS,
        cache_dir=cache_dir,
        cache_max_bytes=1,
    )

    # Only what the latest render uses survives a cap smaller than one segment.
    assert sorted(store.keys()) == sorted(set(result.manifest_data["segments"]))
    assert result.manifest_data["statistics"]["cache"]["evicted"] == 3


def test_cancel_mid_render_leaves_nothing_behind(tmp_path, picture, cache_dir):
    out_dir = tmp_path / "out"
    seen = []
    store = SegmentStore(cache_dir)

    def cancel_once_a_segment_is_stored() -> bool:
        return bool(store.keys())

    with pytest.raises(RenderCancelled):
        render(
            lesson(picture),
            out_dir / "lesson.mp4",
            settings=SETTINGS,
            cache_dir=cache_dir,
            progress=seen.append,
            should_cancel=cancel_once_a_segment_is_stored,
        )

    assert seen[-1].stage == "encode"
    assert list(out_dir.iterdir()) == []
    assert [p.name for p in store.root.iterdir() if p.name.startswith(".")] == []
    assert 1 <= len(store.keys()) < 7  # stopped between segments, finished ones kept


def test_failure_in_the_middle_leaves_nothing_behind(tmp_path, picture, cache_dir, monkeypatch):
    calls = []
    real_encode = render_module.encode_segment

    def failing_encode(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise SynthesisError("disk full")
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(render_module, "encode_segment", failing_encode)
    out_dir = tmp_path / "out"

    with pytest.raises(SynthesisError, match="disk full"):
        render(lesson(picture), out_dir / "lesson.mp4", settings=SETTINGS, cache_dir=cache_dir)

    assert list(out_dir.iterdir()) == []


def test_unloadable_image_becomes_a_text_slide_with_a_warning(tmp_path, cache_dir):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")

    result = render(lesson(broken), tmp_path / "l.mp4", settings=SETTINGS, cache_dir=cache_dir)

    warning = next(w for w in result.warnings if "scene 3" in w)
    assert "broken.png" in warning
    assert "text slide" in warning
    assert result.manifest_data["warnings"] == list(result.warnings)


def test_scene_without_narration_is_held_silently_with_a_warning(tmp_path, picture, cache_dir):
    board = lesson(picture)
    silent = replace(board.scenes[3], narration="  ")
    board = replace(board, scenes=(*board.scenes[:3], silent))

    result = render(board, tmp_path / "l.mp4", settings=SETTINGS, cache_dir=cache_dir)

    last = result.manifest_data["scenes"][3]
    assert last["end_s"] - last["start_s"] == pytest.approx(3.0, abs=1 / FPS)
    assert last["sentences"] == []
    assert any("scene 4 (status)" in w and "no narration" in w for w in result.warnings)


def test_unknown_language_names_the_scene(tmp_path, picture, cache_dir):
    board = lesson(picture)
    board = replace(board, scenes=(*board.scenes[:3], replace(board.scenes[3], language="xx")))
    with pytest.raises(SynthesisError, match="scene 4: unknown language 'xx'"):
        render(board, tmp_path / "l.mp4", settings=SETTINGS, cache_dir=cache_dir)
    assert not (tmp_path / "l.mp4").exists()


def test_empty_lesson_is_refused(tmp_path, cache_dir):
    board = Storyboard(title="Empty", language="en", scenes=())
    with pytest.raises(SynthesisError, match="the lesson has no scenes"):
        render(board, tmp_path / "l.mp4", settings=SETTINGS, cache_dir=cache_dir)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"width_px": 255}, "must be even"),
        ({"width_px": 2560, "height_px": 1440}, "too large"),
        ({"width_px": 1920, "height_px": 1920}, "too large"),
        ({"fps": 0}, "choose 1 to 60"),
        ({"fps": 61}, "choose 1 to 60"),
        ({"quality": "ultra"}, "unknown quality 'ultra'"),
        ({"device": "tpu"}, "device 'tpu'"),
    ],
)
def test_invalid_settings_are_refused(tmp_path, picture, cache_dir, changes, message):
    with pytest.raises(SynthesisError, match=message):
        render(
            lesson(picture),
            tmp_path / "l.mp4",
            settings=replace(SETTINGS, **changes),
            cache_dir=cache_dir,
        )


def test_portrait_full_hd_is_allowed():
    render_module.validate_settings(replace(SETTINGS, width_px=1080, height_px=1920))


def test_chinese_lesson_opens_with_the_chinese_notice(tmp_path, cache_dir, monkeypatch):
    # A tone stands in for a Mandarin voice: this test is about captions and chapters.
    register_tone_engine(monkeypatch, delay_s=0.0)
    settings = replace(SETTINGS, voice=VoiceSettings(engines=("espeak", "tone")))
    board = Storyboard(
        title="线性回归",
        language="zh",
        scenes=(
            Scene(
                "s1", Visual(kind="title", title="线性回归"), "欢迎学习线性回归。", language="zh"
            ),
            Scene(
                "s2",
                Visual(kind="text", title="模型", bullets=("权重和偏置",)),
                "模型是输入的加权和。",
                language="zh",
            ),
        ),
    )

    result = render(board, tmp_path / "zh.mp4", settings=settings, cache_dir=cache_dir)

    cues = parse_webvtt(result.captions.read_text("utf-8"))
    assert cues[0].text == "本视频由AI生成。"
    assert cues[1].text == "欢迎学习线性回归。"
    chapters = parse_webvtt(result.chapters.read_text("utf-8"))
    assert [c.text for c in chapters] == ["线性回归", "模型"]


def test_burned_captions_are_unwrapped_and_fit_the_caption_box():
    long_text = wrap_caption(
        "A commit records a snapshot of every tracked file in the project, together with "
        "its author, a timestamp and a message that explains why the change was made.",
        "en",
    )
    cues = [Cue(1.0, 5.0, long_text), Cue(5.0, 6.0, "线性回归\n模型")]

    burned = render_module.burned_cues(cues, (256, 144))

    assert all("\n" not in cue.text for cue in burned)
    assert burned[-1].text == "线性回归模型"
    # Longer than one two-line caption box holds: shown in turns.
    english = burned[:-1]
    assert len(english) >= 2
    assert " ".join(c.text for c in english) == unwrap_caption(long_text)
    assert english[0].start_s == 1.0
    assert english[-1].end_s == pytest.approx(5.0)
    for earlier, later in zip(english, english[1:], strict=False):
        assert earlier.end_s == pytest.approx(later.start_s)


def test_music_bed_plays_under_the_lesson_and_changes_the_segments(tmp_path, picture, cache_dir):
    import wave

    import numpy as np

    from tests.synthesis.media_checks import decoded_audio

    music = tmp_path / "bed.wav"
    with wave.open(str(music), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(48_000)
        tone = 0.8 * np.sin(2 * np.pi * 220 * np.arange(48_000) / 48_000)
        handle.writeframes((tone * 32767).astype("<i2").tobytes())
    quiet = render(lesson(picture), tmp_path / "a.mp4", settings=SETTINGS, cache_dir=cache_dir)

    scored = render(
        lesson(picture), tmp_path / "b.mp4", settings=SETTINGS, cache_dir=cache_dir, music=music
    )

    assert scored.manifest_data["settings"]["music"] == "bed.wav"
    assert scored.manifest_data["statistics"]["cache"]["scene_misses"] == 4
    # Scene 2's lead-in: silence without music, the quiet bed with it.
    lead_in = slice(
        round((scored.manifest_data["scenes"][1]["start_s"] + 0.1) * 48_000),
        round((scored.manifest_data["scenes"][1]["start_s"] + 0.3) * 48_000),
    )
    assert np.abs(decoded_audio(quiet.video)[lead_in]).max() < 0.002
    assert np.abs(decoded_audio(scored.video)[lead_in]).max() > 0.01


def test_a_missing_music_file_is_refused(tmp_path, picture, cache_dir):
    with pytest.raises(SynthesisError, match="music file .*nope.mp3.* does not exist"):
        render(
            lesson(picture),
            tmp_path / "l.mp4",
            settings=SETTINGS,
            cache_dir=cache_dir,
            music=tmp_path / "nope.mp3",
        )


@pytest.mark.parametrize(
    ("frame_count", "expected"),
    [
        (350, [(0, 350)]),  # shorter than a part and a half
        (360, [(0, 240), (240, 360)]),
        (525, [(0, 240), (240, 525)]),  # a short remainder joins the part before
        (600, [(0, 240), (240, 480), (480, 600)]),
    ],
)
def test_scenes_are_split_into_gop_aligned_parts(frame_count, expected):
    ranges = render_module.part_ranges(frame_count, 240)

    assert [(r.start, r.stop) for r in ranges] == expected


@pytest.mark.parametrize(
    ("total_frames", "expected"),
    [
        (586, 120),  # one edited scene and its transitions: single GOPs on both workers
        (1000, 240),  # 8 parts of two GOPs
        (6000, 240),  # a whole lesson: never longer than two GOPs
        (10, 120),  # never less than a GOP
    ],
)
def test_parts_are_small_enough_to_keep_every_worker_busy(total_frames, expected):
    assert render_module.part_frames(total_frames, 120, workers=2) == expected


@pytest.mark.parametrize("kind", ["image", "text"], ids=["moving", "held"])
def test_a_scene_encoded_in_parts_matches_one_encoded_whole(
    tmp_path, picture, speech_cache, monkeypatch, kind
):
    # One-second GOPs cut the 3 s silent scene into three parts, one for each GOP.
    monkeypatch.setattr("synthesis.encode.GOP_S", 1.0)
    combined = []
    real_combine = render_module.combine_parts

    def counting_combine(part_paths, *args, **kwargs):
        combined.append(len(part_paths))
        return real_combine(part_paths, *args, **kwargs)

    monkeypatch.setattr(render_module, "combine_parts", counting_combine)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    storyboard = Storyboard(
        title="Parts",
        language="en",
        scenes=(Scene("photo", Visual(kind=kind, title="Parts", image_path=str(picture)), ""),),
    )
    cache_a = fresh_cache(tmp_path / "a", speech_cache)
    in_parts = render(storyboard, tmp_path / "parts.mp4", settings=SETTINGS, cache_dir=cache_a)
    monkeypatch.setattr(render_module, "part_frames", lambda *args, **kwargs: 10_000)
    cache_b = fresh_cache(tmp_path / "b", speech_cache)
    whole = render(storyboard, tmp_path / "whole.mp4", settings=SETTINGS, cache_dir=cache_b)

    assert combined == [3, 3]  # the split render only: its opening (25 frames) and scene
    key = in_parts.manifest_data["scenes"][0]["segment"]
    assert whole.manifest_data["scenes"][0]["segment"] == key

    def decoded(path):
        with av.open(str(path)) as container:
            frames = list(container.decode(video=0))
        keyframes = [i for i, frame in enumerate(frames) if frame.key_frame]
        return np.stack([f.to_ndarray(format="rgb24") for f in frames]), keyframes

    part_frames, part_keys = decoded(SegmentStore(cache_a).path_for(key))
    whole_frames, whole_keys = decoded(SegmentStore(cache_b).path_for(key))
    assert part_keys == whole_keys == [0, 10, 20]
    assert part_frames.shape == whole_frames.shape == (30, 144, 256, 3)
    # Different x264 decisions at the cut, the same pictures.
    difference = np.abs(part_frames.astype(int) - whole_frames.astype(int)).mean(axis=(1, 2, 3))
    assert difference.max() < 2.0
    info = ffprobe(in_parts.video)
    assert abs(float(stream(info, "audio")["duration"]) - in_parts.duration_s) < 1 / FPS
