"""The publish-time label checks: a real render passes; a file that lost any label fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthesis.frames.compositor import ScenePlan, get_compositor
from synthesis.labels_check import (
    aigc_metadata_problems,
    caption_notice_problems,
    label_problems,
    opening_label_problems,
)
from tests.synthesis.labelled_render import FPS, SIZE_PX, encode_frames, render_tiny_lesson


@pytest.fixture(scope="module", params=["en", "zh"])
def rendered(request, tmp_path_factory):
    return render_tiny_lesson(
        tmp_path_factory.mktemp(f"render-{request.param}"), language=request.param
    )


def labelled_frames(*, label_s: float, duration_s: float = 3.0, size_px=SIZE_PX) -> np.ndarray:
    """(n, h, w, 3) frames from the renderer's compositor; the label only for label_s."""
    plan = ScenePlan(
        base=Image.new("RGB", size_px, (250, 250, 250)),
        duration_s=duration_s, fps=FPS, size_px=size_px, motion=None, captions=(),
        language="en", opening_label=True,
    )  # fmt: skip
    frames = np.concatenate(list(get_compositor("cpu").scene_frames(plan, batch_size=8)))
    unlabelled = np.concatenate(
        list(get_compositor("cpu").scene_frames(
            ScenePlan(**{**plan.__dict__, "opening_label": False}), batch_size=8))
    )  # fmt: skip
    cut = round(label_s * FPS)
    frames[cut:] = unlabelled[cut:]
    return frames


def test_a_real_render_has_every_label(rendered):
    assert label_problems(rendered.video, rendered.captions) == []


def test_metadata_stripped_by_a_remux_is_refused(rendered, tmp_path):
    stripped = tmp_path / "stripped.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(rendered.video), "-map", "0", "-c", "copy",
         "-map_metadata", "-1", str(stripped)],
        check=True,
    )  # fmt: skip

    problems = label_problems(stripped, rendered.captions)

    assert problems == ["stripped.mp4: the AIGC metadata tag is missing"]


def test_aigc_tag_that_does_not_say_ai_is_refused(tmp_path):
    video = encode_frames(
        tmp_path / "relabelled.mp4",
        labelled_frames(label_s=3.0),
        metadata={"AIGC": '{"Label":"0"}'},
    )

    assert opening_label_problems(video) == []
    assert "does not mark the video as AI-generated" in aigc_metadata_problems(video)[0]


def test_video_without_a_visible_label_is_refused(tmp_path):
    plain = np.full((30, SIZE_PX[1], SIZE_PX[0], 3), 90, np.uint8)
    plain[:, 40:100, 60:200] = (20, 40, 160)  # a slide, but no label
    video = encode_frames(tmp_path / "plain.mp4", plain)

    assert opening_label_problems(video) == [
        "plain.mp4: the opening frame has no visible AI-generated label"
    ]


def test_label_shown_for_less_than_two_seconds_is_refused(tmp_path):
    video = encode_frames(tmp_path / "short.mp4", labelled_frames(label_s=1.2))

    problems = opening_label_problems(video)

    assert len(problems) == 1
    assert "shows for 1.20 s, less than 2 s" in problems[0]


def test_label_shown_for_two_seconds_passes(tmp_path):
    video = encode_frames(tmp_path / "enough.mp4", labelled_frames(label_s=2.1))

    assert opening_label_problems(video) == []


def test_label_text_is_measured_against_the_short_side(tmp_path, monkeypatch):
    video = encode_frames(tmp_path / "label.mp4", labelled_frames(label_s=3.0))
    # The renderer's label text stands 10 px at 144 px: 6.9%, above 5% and below 8%.
    monkeypatch.setattr("synthesis.labels_check.MIN_TEXT_FRACTION", 0.08)

    problems = opening_label_problems(video)

    assert problems == [
        "label.mp4: the AI-generated label's text is 10 px tall, less than 8% of 144 px"
    ]


def test_first_caption_cue_must_say_ai_generated(rendered, tmp_path):
    captions = rendered.captions.read_text(encoding="utf-8")
    blocks = captions.split("\n\n")
    without_notice = tmp_path / "lesson.vtt"
    without_notice.write_text("\n\n".join([blocks[0], *blocks[2:]]), encoding="utf-8")

    assert caption_notice_problems(rendered.captions) == []
    assert caption_notice_problems(without_notice) == [
        "lesson.vtt: the first caption cue does not say the video is AI-generated"
    ]


def test_unreadable_files_are_problems_not_errors(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 64)
    bad_vtt = tmp_path / "bad.vtt"
    bad_vtt.write_text("not a caption file")

    problems = label_problems(junk, bad_vtt)

    assert len(problems) == 3
    assert problems[0].startswith("junk.mp4: cannot be decoded")
    assert problems[2].startswith("bad.vtt: the captions cannot be read")


def test_copy_of_a_render_keeps_its_labels(rendered, tmp_path):
    copy = shutil.copy(rendered.video, tmp_path / "copy.mp4")

    assert label_problems(Path(copy), rendered.captions) == []
