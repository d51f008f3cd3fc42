"""bench/first_frame.py's verdict and summary, on made-up visits (the bench itself needs a
site, a render and Chromium: `make bench` runs it, never `make test`)."""

from __future__ import annotations

from bench import first_frame


def visit(frame_ms: float | None, *, ready_ms: float = 500.0) -> dict:
    server = {"html": 40.0, "status": 60.0, "playlist": 80.0, "segment": 50.0}
    return {
        "html_ms": 90.0, "ready_ms": ready_ms, "playlist_ms": ready_ms + 100,
        "first_segment_ms": ready_ms + 200, "first_frame_ms": frame_ms, "server_ms": server,
        "prepare_s": 0.4, "load_average": 1.5,
    }  # fmt: skip


def test_the_target_is_judged_on_the_slowest_new_variant():
    found = {"new": first_frame.summarize([visit(600.0), visit(900.0), visit(1200.0)])}

    line = first_frame.target(found)

    assert (line.value, line.met) == (1200.0, False)
    assert found["new"]["median_ms"] == 900.0
    assert first_frame.target({"new": first_frame.summarize([visit(700.0)])}).met is True


def test_a_variant_whose_frame_never_showed_misses_the_target():
    summary = first_frame.summarize([visit(800.0), visit(None)])

    assert (summary["count"], summary["frames_seen"], summary["slowest_ms"]) == (2, 1, 800.0)
    assert first_frame.target({"new": summary}).met is False
    assert first_frame.target(None).met is None  # not measured: no verdict
