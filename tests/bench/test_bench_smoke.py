"""A tiny run of the render benchmark harness: two scenes at 160x90, one round, no timings."""

from __future__ import annotations

import json

from bench import run


def test_bench_harness_measures_lectern_and_both_peers_on_a_tiny_lesson(tmp_path):
    out = tmp_path / "results.json"
    results = run.main(
        [
            "--rounds=1",
            "--scenes=2",
            "--size=160x90",
            "--renderers=lectern-motion,ffmpeg,moviepy",
            "--moviepy-ssim-scenes=2",
            "--no-rerender",
            "--no-memory",
            f"--out={out}",
            f"--work-dir={tmp_path / 'work'}",
        ]
    )

    assert json.loads(out.read_text("utf-8"))["summary"].keys() == results["summary"].keys()
    assert set(results["summary"]) == {"lectern-motion", "ffmpeg", "moviepy"}
    expected_s = results["lesson"]["video_duration_s"]
    for summary in results["summary"].values():
        assert summary["cpu_s"] > 0
        assert summary["peak_rss_mb"] > 0
        # Same storyboard, same timeline: every renderer's video is as long as the lesson.
        assert abs(summary["video_duration_s"] - expected_s) < 0.1
    for quality in results["quality"].values():
        assert quality["reference_frames"] == quality["encoded_frames"]
        assert 0.5 < quality["ssim"] <= 1.0
    assert {target["name"] for target in results["targets"]} >= {"speed vs ffmpeg", "SSIM"}
