"""C2PA provenance: a real tiny MP4 signed and verified, tampering detected, keys handled."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from moderation.provenance import (
    ProvenanceError,
    configured_credentials,
    development_credentials,
    read_provenance,
    sign_video,
)
from tests.synthesis.labelled_render import encode_frames
from tests.synthesis.media_checks import decoded_frame_count, top_level_boxes


@pytest.fixture(scope="module")
def credentials(tmp_path_factory):
    return development_credentials(tmp_path_factory.mktemp("c2pa"))


@pytest.fixture
def video(tmp_path) -> Path:
    frames = np.zeros((20, 72, 128, 3), np.uint8)
    frames[:, :, :, 2] = np.arange(20, dtype=np.uint8)[:, None, None] * 10
    return encode_frames(tmp_path / "lesson.mp4", frames)


def box_offset(path: Path, name: str) -> tuple[int, int]:
    """(offset, size) of the first top-level box with this name."""
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        if data[offset + 4 : offset + 8] == name.encode():
            return offset, size
        offset += size
    raise AssertionError(f"no {name} box")


def test_signed_video_verifies_and_says_who_made_it(video, tmp_path, credentials):
    signed = tmp_path / "signed.mp4"

    provenance = sign_video(video, signed, credentials=credentials, author="Ms Li", title="Git")

    assert provenance["validation_state"] == "Trusted"  # the development CA as anchor
    read_back = read_provenance(signed)
    assert read_back["validation_state"] == "Valid"  # a viewer without the anchor
    assert read_back["author"] == "Ms Li"
    assert read_back["claim_generator"] == "Lectern"
    assert read_back["ai_generated"] is True
    assert read_back["created_at"].endswith("Z")
    assert read_back["signed_by"] == "Lectern development signer"
    assert read_back["problems"] == []
    assert decoded_frame_count(signed) == decoded_frame_count(video) == 20
    assert "uuid" in top_level_boxes(signed)


def test_one_flipped_byte_in_mdat_is_invalid(video, tmp_path, credentials):
    signed = tmp_path / "signed.mp4"
    sign_video(video, signed, credentials=credentials, author="Ms Li", title="Git")
    offset, size = box_offset(signed, "mdat")
    data = bytearray(signed.read_bytes())
    data[offset + size // 2] ^= 0x01
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))

    provenance = read_provenance(tampered)

    assert provenance["validation_state"] == "Invalid"
    assert "assertion.bmffHash.mismatch" in provenance["problems"]


def test_signing_in_place_replaces_the_file_and_leaves_nothing_else(video, credentials):
    before = video.stat().st_size

    sign_video(video, video, credentials=credentials, author="Mr Wang", title="Git")

    assert read_provenance(video)["author"] == "Mr Wang"
    assert video.stat().st_size > before
    assert sorted(p.name for p in video.parent.iterdir()) == ["lesson.c2pa", "lesson.mp4"]


def test_unsigned_video_has_no_provenance(video):
    provenance = read_provenance(video)

    assert provenance["validation_state"] is None
    assert provenance["ai_generated"] is False


def test_a_file_that_is_not_a_video_cannot_be_signed(tmp_path, credentials):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x08junk" * 4)

    with pytest.raises(ProvenanceError, match="junk.mp4: cannot be signed"):
        sign_video(junk, tmp_path / "out.mp4", credentials=credentials, author="A", title="T")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.mp4"]


def test_a_key_that_does_not_match_the_chain_is_refused(video, tmp_path, credentials):
    other = development_credentials(tmp_path / "other")
    mismatched = type(credentials)(other.key_pem, credentials.chain_pem)

    with pytest.raises(ProvenanceError, match="lesson.mp4: "):
        sign_video(video, tmp_path / "out.mp4", credentials=mismatched, author="A", title="T")
    assert not (tmp_path / "out.mp4").exists()


def test_development_chain_is_made_once_and_reused(tmp_path):
    folder = tmp_path / "c2pa"

    first = development_credentials(folder)
    second = development_credentials(folder)

    assert first == second
    assert stat.S_IMODE((folder / "dev-signer.key.pem").stat().st_mode) == 0o600
    assert first.chain_pem.count(b"BEGIN CERTIFICATE") == 2  # leaf, then CA
    assert first.chain_pem.endswith(first.trust_anchor_pem)


def test_configured_credentials_default_to_the_development_chain(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.LECTERN_C2PA_KEY_FILE = settings.LECTERN_C2PA_CHAIN_FILE = ""

    credentials = configured_credentials()

    assert (tmp_path / "c2pa" / "dev-signer.key.pem").read_bytes() == credentials.key_pem


def test_production_key_files_are_used(settings, tmp_path, video, credentials):
    key, chain = tmp_path / "key.pem", tmp_path / "chain.pem"
    key.write_bytes(credentials.key_pem)
    chain.write_bytes(credentials.chain_pem)
    settings.LECTERN_C2PA_KEY_FILE, settings.LECTERN_C2PA_CHAIN_FILE = str(key), str(chain)

    production = configured_credentials()
    provenance = sign_video(video, video, credentials=production, author="A", title="T")

    assert production.trust_anchor_pem is None
    assert provenance["validation_state"] == "Valid"


def test_missing_production_files_are_a_clear_error(settings, tmp_path):
    settings.LECTERN_C2PA_KEY_FILE = str(tmp_path / "absent.key")
    settings.LECTERN_C2PA_CHAIN_FILE = str(tmp_path / "absent.pem")

    with pytest.raises(ProvenanceError, match=r"LECTERN_C2PA_KEY_FILE points to .*absent.key"):
        configured_credentials()


def test_only_one_production_setting_is_a_clear_error(settings, tmp_path):
    settings.LECTERN_C2PA_KEY_FILE = str(tmp_path / "key.pem")
    settings.LECTERN_C2PA_CHAIN_FILE = ""

    with pytest.raises(ProvenanceError, match="set both"):
        configured_credentials()
