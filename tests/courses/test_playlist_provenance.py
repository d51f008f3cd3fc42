"""A published render's HLS playlist is covered by its C2PA manifest: the signed MP4's
manifest lists the SHA-256 of every TS file the playlist serves, the manifest store is
served beside it (and named by a Link header), and a TS file whose bytes differ from the
signed digest is never served."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
from django.urls import reverse

from learning.selectors import video_playlist_url
from moderation import publishing
from moderation.provenance import read_provenance
from moderation.publishing import published_file_problems, render_output_folder


def playlist_uris(client, job) -> tuple[list[str], object]:
    response = client.get(reverse("courses:render_job_playlist", args=[job.pk]))
    assert response.status_code == 200
    uris = [line for line in response.content.decode().splitlines() if line.startswith("/")]
    return uris, response


@pytest.fixture(autouse=True)
def labels_at_any_size(monkeypatch):
    """The label check reads text at a real size; these renders are 128 x 72 pixels (the
    label checks have their own tests)."""
    monkeypatch.setattr(publishing, "label_problems", lambda video, captions: [])


@pytest.fixture
def signed_job(rendered_job):
    assert published_file_problems(rendered_job) == []
    return rendered_job


def test_the_signed_manifest_lists_the_digest_of_every_ts_file_served(client, alice, signed_job):
    client.force_login(alice)
    provenance = read_provenance(render_output_folder(signed_job) / "lesson.mp4")
    listed = provenance["hls_segments"]
    uris, playlist = playlist_uris(client, signed_job)

    assert provenance["validation_state"] == "Valid"
    assert [item["position"] for item in listed] == list(range(len(uris))) and len(uris) == 7
    assert [item["key"] for item in listed] == signed_job.manifest["segments"]
    for uri, item in zip(uris, listed, strict=True):
        served = client.get(uri)
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == item["sha256"]
        assert "c2pa-manifest" in served["Link"]
    provenance_url = reverse("courses:render_job_file", args=[signed_job.pk, "provenance"])
    assert playlist["Link"] == f'<{provenance_url}>; rel="c2pa-manifest"'


def test_the_sidecar_manifest_validates_against_the_served_video(
    client, alice, signed_job, tmp_path
):
    client.force_login(alice)
    sidecar = client.get(reverse("courses:render_job_file", args=[signed_job.pk, "provenance"]))
    video = client.get(reverse("courses:render_job_file", args=[signed_job.pk, "video"]))
    assert sidecar.status_code == 200 and sidecar["Content-Type"] == "application/c2pa"
    served_video = tmp_path / "served.mp4"
    served_video.write_bytes(b"".join(video.streaming_content))

    checked = read_provenance(served_video, sidecar=b"".join(sidecar.streaming_content))

    assert checked["validation_state"] == "Valid" and checked["ai_generated"]
    assert checked["hls_segments"] == read_provenance(served_video)["hls_segments"]
    other = tmp_path / "other.mp4"
    other.write_bytes(served_video.read_bytes()[:-1000] + bytes(1000))  # damaged media
    damaged = read_provenance(other, sidecar=b"".join(sidecar.streaming_content))
    assert damaged["validation_state"] not in ("Valid", "Trusted")


def test_a_ts_file_that_differs_from_its_signed_digest_is_not_served(
    client, alice, signed_job, monkeypatch
):
    import synthesis.hls

    client.force_login(alice)
    uris, _ = playlist_uris(client, signed_job)
    real = synthesis.hls.ts_segment
    monkeypatch.setattr(
        synthesis.hls, "ts_segment", lambda *args, **kwargs: real(*args, **kwargs) + b"\x47" * 188
    )

    assert client.get(uris[3]).status_code == 404


def test_an_unsigned_preview_is_served_without_a_manifest(client, alice, rendered_job):
    client.force_login(alice)
    uris, playlist = playlist_uris(client, rendered_job)

    assert "Link" not in playlist
    assert client.get(uris[0]).status_code == 200


def test_a_signed_video_whose_manifest_covers_no_playlist_has_none(
    client, alice, rendered_job, monkeypatch
):
    monkeypatch.setattr(publishing, "playlist_digests", lambda job: [])
    assert published_file_problems(rendered_job) == []
    client.force_login(alice)

    assert (
        client.get(reverse("courses:render_job_playlist", args=[rendered_job.pk])).status_code
        == 404
    )
    assert video_playlist_url(rendered_job) == ""


def test_remuxing_a_segment_gives_the_same_bytes_in_another_process(signed_job, settings):
    """The server's check rests on this: the worker that signed and the web process that
    serves make the same TS bytes."""
    listed = read_provenance(render_output_folder(signed_job) / "lesson.mp4")["hls_segments"]
    script = (
        "import hashlib, json, sys\n"
        "from synthesis.hls import playlist_entries, ts_segment\n"
        "from synthesis.segments import SegmentStore\n"
        "store_dir, fps, pairs = json.loads(sys.argv[1])\n"
        "entries = playlist_entries([tuple(pair) for pair in pairs], fps)\n"
        "store = SegmentStore(store_dir)\n"
        "print(json.dumps([hashlib.sha256(ts_segment(store, e, fps=fps)).hexdigest()"
        " for e in entries]))\n"
    )
    store = publishing.segment_store()
    pairs = [[item["key"], item["frames"]] for item in listed]
    argument = json.dumps([str(store.root.parent), signed_job.fps, pairs])

    done = subprocess.run(
        [sys.executable, "-c", script, argument], capture_output=True, text=True, check=True
    )

    assert json.loads(done.stdout) == [item["sha256"] for item in listed]
