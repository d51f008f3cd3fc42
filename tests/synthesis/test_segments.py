"""The content-addressed segment store: keys, atomic writes, use tracking and LRU eviction."""

from __future__ import annotations

import os

import pytest

from synthesis.segments import RENDERER_VERSION, SegmentStore, content_key, file_digest


def put(store: SegmentStore, key: str, size: int, *, used_at: float) -> None:
    with store.writing(key) as path:
        path.write_bytes(b"x" * size)
    os.utime(store.path_for(key), (used_at, used_at))


def test_content_key_is_stable_and_order_independent():
    one = content_key("scene", {"a": 1, "b": [1, 2], "c": {"x": "é"}})
    two = content_key("scene", {"c": {"x": "é"}, "b": [1, 2], "a": 1})
    assert one == two
    assert len(one) == 64


def test_content_key_changes_with_any_field_or_kind():
    base = content_key("scene", {"a": 1, "b": "text"})
    assert content_key("scene", {"a": 2, "b": "text"}) != base
    assert content_key("scene", {"a": 1, "b": "text."}) != base
    assert content_key("transition", {"a": 1, "b": "text"}) != base


def test_content_key_includes_the_renderer_version(monkeypatch):
    before = content_key("scene", {"a": 1})
    monkeypatch.setattr("synthesis.segments.RENDERER_VERSION", RENDERER_VERSION + "-next")
    assert content_key("scene", {"a": 1}) != before


def test_file_digest_follows_the_bytes(tmp_path):
    first = tmp_path / "a.png"
    first.write_bytes(b"one")
    copy = tmp_path / "b.png"
    copy.write_bytes(b"one")
    assert file_digest(first) == file_digest(copy)
    copy.write_bytes(b"two")
    assert file_digest(first) != file_digest(copy)


def test_written_segment_is_found_and_a_missing_one_is_not(tmp_path):
    store = SegmentStore(tmp_path)
    assert store.get("abc") is None
    with store.writing("abc") as path:
        path.write_bytes(b"data")
    found = store.get("abc")
    assert found == tmp_path / "segments" / "abc.mp4"
    assert found.read_bytes() == b"data"


def test_failed_write_leaves_nothing_behind(tmp_path):
    store = SegmentStore(tmp_path)
    with pytest.raises(RuntimeError), store.writing("abc") as path:
        path.write_bytes(b"half")
        raise RuntimeError("encoder crashed")
    assert store.get("abc") is None
    assert list(store.root.iterdir()) == []


def test_get_marks_a_segment_as_recently_used(tmp_path):
    store = SegmentStore(tmp_path)
    put(store, "old", 10, used_at=1_000_000)
    store.get("old")
    assert store.path_for("old").stat().st_mtime > 1_000_000


def test_eviction_removes_least_recently_used_until_under_the_cap(tmp_path):
    store = SegmentStore(tmp_path, max_bytes=250)
    put(store, "oldest", 100, used_at=1_000)
    put(store, "middle", 100, used_at=2_000)
    put(store, "newest", 100, used_at=3_000)

    result = store.evict()

    assert result.removed == ("oldest",)
    assert result.bytes_before == 300
    assert result.bytes_after == 200
    assert sorted(store.keys()) == ["middle", "newest"]


def test_eviction_never_removes_segments_in_use(tmp_path):
    store = SegmentStore(tmp_path, max_bytes=100)
    put(store, "a", 100, used_at=1_000)
    put(store, "b", 100, used_at=2_000)
    put(store, "c", 100, used_at=3_000)

    result = store.evict(keep={"a", "b"})

    assert result.removed == ("c",)
    assert sorted(store.keys()) == ["a", "b"]


def test_no_cap_means_no_eviction(tmp_path):
    store = SegmentStore(tmp_path, max_bytes=None)
    put(store, "a", 1000, used_at=1_000)
    assert store.evict().removed == ()
    assert store.keys() == ["a"]


def test_a_pinned_segment_survives_eviction_by_another_render(tmp_path):
    store = SegmentStore(tmp_path / "cache", max_bytes=0)
    put(store, "in-use", 10, used_at=1_000)
    render_folder = tmp_path / "render"
    render_folder.mkdir()

    pinned = store.hold("in-use", render_folder)
    store.evict()  # another render, with its own segments to keep

    assert store.get("in-use") is None
    assert pinned.parent == render_folder
    assert pinned.read_bytes() == b"x" * 10
    assert store.hold("missing", render_folder) is None


def test_eviction_clears_abandoned_temporary_writes_but_not_fresh_ones(tmp_path):
    store = SegmentStore(tmp_path)
    abandoned = store.root / ".0123456789abcdef-old.mp4"
    abandoned.write_bytes(b"half")
    os.utime(abandoned, (1_000, 1_000))
    fresh = store.root / ".fedcba9876543210-new.mp4"
    fresh.write_bytes(b"writing")

    store.evict()

    assert not abandoned.exists()
    assert fresh.exists()


def test_pinned_segments_are_never_evicted_until_their_owners_unpin(tmp_path):
    store = SegmentStore(tmp_path, max_bytes=100)
    put(store, "published", 100, used_at=1_000)
    put(store, "playlist", 100, used_at=2_000)
    put(store, "loose", 100, used_at=3_000)
    store.pin(["published"], owner="lesson-7")
    store.pin(["playlist", "published"], owner="job-12")

    # Each owner has its own pins file; the least recently used unpinned one goes.
    assert store.pin_owners() == ["job-12", "lesson-7"]
    assert (store.pins_dir / "lesson-7.json").is_file()
    assert store.pinned() == {"published", "playlist"}
    assert store.evict().removed == ("loose",)
    assert sorted(store.keys()) == ["playlist", "published"]

    # Still pinned by lesson-7 after job-12 lets go of everything.
    store.unpin(owner="job-12")
    assert store.pinned() == {"published"}
    assert store.evict().removed == ("playlist",)
    assert store.unpin(["published"], owner="lesson-7") == frozenset()
    assert store.pin_owners() == []
    with pytest.raises(ValueError):
        store.pin(["x"], owner="../escape")


def test_has_touches_nothing(tmp_path):
    store = SegmentStore(tmp_path)
    put(store, "a", 10, used_at=1_000)
    assert store.has("a") and not store.has("b")
    assert store.path_for("a").stat().st_mtime == 1_000
