"""C2PA provenance on published videos: sign an MP4 with a manifest saying Lectern made it with
trained algorithmic media (AI), for a named teacher; verify it; read it back for the player.

Signing is the last step before a file is served (any later byte change breaks the manifest's
hash), and a signed file is read back and refused unless its validation state is Valid or
Trusted. Offline: no timestamp authority, so the signing time is the `when` of the
`c2pa.created` action, not a trusted timestamp.

Keys: production reads a PEM private key and a PEM chain (leaf first, then its CA) from
LECTERN_C2PA_KEY_FILE and LECTERN_C2PA_CHAIN_FILE. Without them, a development chain (a CA
and an EC P-256 leaf with the digitalSignature key usage and the emailProtection extended key
usage, which c2pa requires) is made once in LECTERN_VAR_DIR/c2pa/ and reused. Viewers that
do not know the development CA report such a file Valid (intact, signer unknown), not
Trusted.

HLS: MPEG-TS cannot carry a C2PA manifest (c2pa-python 0.38.1 signs MP4 but not TS, and
binding fMP4 fragments needs a fragmented signer it does not expose), so a published render's
playlist is covered by the manifest beside it. When the MP4 is signed, its manifest also
carries an `org.lectern.hls.segments` assertion: for every position of the render's playlist,
the segment key, its frames and the SHA-256 of the exact TS bytes served there (remuxing is
deterministic). The manifest store is also written beside the video as `lesson.c2pa` (the
C2PA external-manifest form, validated against lesson.mp4), and the playlist and each TS
answer name it in a `Link: <...>; rel="c2pa-manifest"` header. A verifier checks the sidecar
against the MP4 and each TS file against its listed digest; the server does the same before
it serves a TS file of a signed render, and serves no playlist for a signed render whose
manifest lists none. A student's variant has no MP4 of its own on disk: its sidecar is made
with `set_no_embed` over the MP4 its segments remux into (the same bytes each time), lists
its own TS digests, and is served beside its playlist with that MP4, remade on request.
(Measured: a sidecar made over an unsigned MP4 validates against that MP4 only, not against
a signed copy, hence one manifest for a published render's MP4 and its playlist.)
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLAIM_GENERATOR = "Lectern"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ACCEPTED_STATES = ("Valid", "Trusted")
HLS_ASSERTION = "org.lectern.hls.segments"
SIDECAR_SUFFIX = ".c2pa"
DEV_KEY_NAME = "dev-signer.key.pem"
DEV_CHAIN_NAME = "dev-chain.pem"
DEV_CA_NAME = "dev-ca.pem"
_DEV_VALIDITY = dt.timedelta(days=3650)


class ProvenanceError(Exception):
    """The file cannot be signed or does not verify; the message says why."""


@dataclass(frozen=True)
class SigningCredentials:
    """A PEM private key and its PEM chain (leaf, then CA); `trust_anchor` is the CA to trust
    when verifying our own files (the development CA; None in production)."""

    key_pem: bytes
    chain_pem: bytes
    trust_anchor_pem: bytes | None = None


# Credentials ------------------------------------------------------------------------------


def credentials_from_files(key_file: Path, chain_file: Path) -> SigningCredentials:
    """The production key and chain; ProvenanceError naming the file that is missing."""
    for name, path in (
        ("LECTERN_C2PA_KEY_FILE", key_file),
        ("LECTERN_C2PA_CHAIN_FILE", chain_file),
    ):
        if not Path(path).is_file():
            raise ProvenanceError(f"{name} points to {path}, which is not a readable file")
    return SigningCredentials(Path(key_file).read_bytes(), Path(chain_file).read_bytes())


def development_credentials(directory: Path) -> SigningCredentials:
    """The development chain in directory, made on first use (the key readable only by us)."""
    directory = Path(directory)
    key_path, chain_path, ca_path = (
        directory / DEV_KEY_NAME,
        directory / DEV_CHAIN_NAME,
        directory / DEV_CA_NAME,
    )
    if not (key_path.is_file() and chain_path.is_file() and ca_path.is_file()):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_pem, chain_pem, ca_pem = _new_development_chain()
        # Write to temporary names and rename, so two first runs never mix halves.
        _write_atomically(key_path, key_pem, mode=0o600)
        _write_atomically(ca_path, ca_pem, mode=0o644)
        _write_atomically(chain_path, chain_pem, mode=0o644)
    return SigningCredentials(key_path.read_bytes(), chain_path.read_bytes(), ca_path.read_bytes())


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, mode)
        os.write(handle, data)
    finally:
        os.close(handle)
    os.replace(temporary, path)


def _new_development_chain() -> tuple[bytes, bytes, bytes]:
    """(leaf key PEM, chain PEM = leaf then CA, CA PEM): a CA-signed EC P-256 leaf."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Lectern development CA")
    ca = (
        _certificate(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        _certificate(_name("Lectern development signer"), ca_name, leaf_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        # c2pa refuses a leaf without an extended key usage, or with serverAuth only.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem = serialization.Encoding.PEM
    return key_pem, leaf.public_bytes(pem) + ca.public_bytes(pem), ca.public_bytes(pem)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lectern (development)"),
        ]
    )


def _certificate(subject, issuer, public_key, now: dt.datetime) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + _DEV_VALIDITY)
    )


def _key_usage(*, digital_signature: bool = False, key_cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


# Signing and reading ----------------------------------------------------------------------


def manifest_definition(
    *, author: str, title: str, when: dt.datetime, hls_segments: Sequence[dict] = ()
) -> dict:
    """The manifest Lectern signs: created by Lectern as trained algorithmic media, by author;
    with hls_segments ({position, key, frames, sha256} of each TS file), the playlist's too."""
    definition = {
        "claim_generator_info": [{"name": CLAIM_GENERATOR}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": {"name": CLAIM_GENERATOR},
                            "when": when.astimezone(dt.UTC)
                            .replace(microsecond=0)
                            .isoformat()
                            .replace("+00:00", "Z"),
                        }
                    ]
                },
            },
            {
                "label": "stds.schema-org.CreativeWork",
                "data": {
                    "@context": "https://schema.org",
                    "@type": "CreativeWork",
                    "author": [{"@type": "Person", "name": author}],
                },
            },
        ],
    }
    if hls_segments:
        definition["assertions"].append(
            {"label": HLS_ASSERTION, "data": {"alg": "sha256", "segments": list(hls_segments)}}
        )
    return definition


def sign_video(
    source: Path,
    destination: Path,
    *,
    credentials: SigningCredentials,
    author: str,
    title: str,
    when: dt.datetime | None = None,
    hls_segments: Sequence[dict] = (),
) -> dict:
    """Sign source into destination (may be the same path, replaced atomically) and write the
    manifest store beside it (sidecar_path); returns the provenance read back from the signed
    file. ProvenanceError if it does not verify."""
    source, destination = Path(source), Path(destination)
    definition = manifest_definition(
        author=author, title=title, when=when or dt.datetime.now(dt.UTC), hls_segments=hls_segments
    )
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.stem}.", suffix=".mp4"
    )
    os.close(handle)
    try:
        try:
            signer = _signer(credentials)
            with (
                c2pa.Builder(definition) as builder,
                open(source, "rb") as unsigned,
                open(temporary, "w+b") as signed,
            ):
                manifest_store = builder.sign(signer, "video/mp4", unsigned, signed)
        except c2pa.C2paError as error:
            raise ProvenanceError(f"{source.name}: cannot be signed ({error})") from error
        trust = credentials.trust_anchor_pem
        provenance = read_provenance(Path(temporary), trust_anchor_pem=trust)
        sidecar = read_provenance(Path(temporary), trust_anchor_pem=trust, sidecar=manifest_store)
        for checked in (provenance, sidecar):
            if checked["validation_state"] not in ACCEPTED_STATES:
                raise ProvenanceError(
                    f"{source.name}: the signed file does not verify "
                    f"({checked['validation_state']}: {', '.join(checked['problems'])})"
                )
        # The sidecar first: a served signed video always has its manifest beside it.
        _write_atomically(sidecar_path(destination), manifest_store, mode=0o644)
        os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return provenance


def sign_sidecar(
    video: Path,
    *,
    credentials: SigningCredentials,
    author: str,
    title: str,
    hls_segments: Sequence[dict] = (),
) -> bytes:
    """A manifest store for video, kept beside it rather than in it (the file is unchanged,
    so a file remade byte for byte on request still matches); checked against the video
    before it is returned. ProvenanceError if it cannot be made or does not verify."""
    definition = manifest_definition(
        author=author, title=title, when=dt.datetime.now(dt.UTC), hls_segments=hls_segments
    )
    try:
        with c2pa.Builder(definition) as builder, open(video, "rb") as source:
            builder.set_no_embed()
            manifest_store = builder.sign(_signer(credentials), "video/mp4", source, io.BytesIO())
    except c2pa.C2paError as error:
        raise ProvenanceError(f"{Path(video).name}: cannot be signed ({error})") from error
    checked = read_provenance(
        video, trust_anchor_pem=credentials.trust_anchor_pem, sidecar=manifest_store
    )
    if checked["validation_state"] not in ACCEPTED_STATES:
        raise ProvenanceError(
            f"{Path(video).name}: its manifest does not verify "
            f"({checked['validation_state']}: {', '.join(checked['problems'])})"
        )
    return manifest_store


def _signer(credentials: SigningCredentials) -> c2pa.Signer:
    return c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(
            c2pa.C2paSigningAlg.ES256, credentials.chain_pem, credentials.key_pem, None
        )
    )


def sidecar_path(video: Path) -> Path:
    """Where the manifest store of a signed video is written beside it."""
    return Path(video).with_suffix(SIDECAR_SUFFIX)


def read_provenance(
    path: Path, *, trust_anchor_pem: bytes | None = None, sidecar: bytes | None = None
) -> dict:
    """What the file's own C2PA manifest (or, given, a sidecar manifest store checked against
    the file) says: who produced it, when, whether it is AI-generated, the HLS segments it
    covers, and its validation state (Trusted, Valid, Invalid or None when there is no
    manifest). Never raises for a damaged or unsigned file."""
    result = {
        "validation_state": None,
        "claim_generator": "",
        "author": "",
        "created_at": "",
        "ai_generated": False,
        "signed_by": "",
        "hls_segments": [],
        "problems": [],
    }
    context = None
    if trust_anchor_pem:
        context = c2pa.Context.from_dict({"trust": {"trust_anchors": trust_anchor_pem.decode()}})
    try:
        if sidecar is None:
            with c2pa.Reader(str(path), context=context) as reader:
                state = reader.get_validation_state()
                store = json.loads(reader.json())
        else:
            with (
                open(path, "rb") as stream,
                c2pa.Reader("video/mp4", stream, manifest_data=sidecar, context=context) as reader,
            ):
                state = reader.get_validation_state()
                store = json.loads(reader.json())
    except (c2pa.C2paError, OSError) as error:
        result["problems"] = [str(error)]
        return result
    manifest = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    result["validation_state"] = str(state) if state else None
    result["claim_generator"] = ", ".join(
        info.get("name", "") for info in manifest.get("claim_generator_info", [])
    )
    result["signed_by"] = manifest.get("signature_info", {}).get("common_name", "")
    for assertion in manifest.get("assertions", []):
        label, data = assertion.get("label", ""), assertion.get("data", {})
        if label.startswith("c2pa.actions"):
            for action in data.get("actions", []):
                if action.get("action") == "c2pa.created":
                    result["created_at"] = action.get("when", "")
                    source = action.get("digitalSourceType", "")
                    result["ai_generated"] = source.endswith("/trainedAlgorithmicMedia")
        elif label == "stds.schema-org.CreativeWork":
            result["author"] = ", ".join(a.get("name", "") for a in data.get("author", []))
        elif label == HLS_ASSERTION and data.get("alg") == "sha256":
            result["hls_segments"] = list(data.get("segments", []))
    # Untrusted signers are expected for development chains; only real failures count.
    result["problems"] = [
        status.get("code", "")
        for status in store.get("validation_status", [])
        if status.get("code") != "signingCredential.untrusted"
    ]
    return result


@functools.lru_cache(maxsize=256)
def _read_provenance_of(path: str, mtime_ns: int, size: int) -> dict:
    return read_provenance(Path(path))


def file_provenance(path: Path) -> dict:
    """read_provenance for a page view: reading validates the file's hash, so the answer is
    kept for as long as the file (its path, change time and size) stays the same."""
    try:
        stat = path.stat()
    except OSError:
        return {"validation_state": None, "problems": ["missing"]}
    return dict(_read_provenance_of(str(path), stat.st_mtime_ns, stat.st_size))


def configured_credentials() -> SigningCredentials:
    """The production key and chain when LECTERN_C2PA_KEY_FILE/LECTERN_C2PA_CHAIN_FILE are
    set, else the development chain in LECTERN_VAR_DIR/c2pa/."""
    from django.conf import settings

    key_file = getattr(settings, "LECTERN_C2PA_KEY_FILE", "")
    chain_file = getattr(settings, "LECTERN_C2PA_CHAIN_FILE", "")
    if key_file or chain_file:
        if not (key_file and chain_file):
            raise ProvenanceError(
                "set both LECTERN_C2PA_KEY_FILE and LECTERN_C2PA_CHAIN_FILE, or neither"
            )
        return credentials_from_files(Path(key_file), Path(chain_file))
    return development_credentials(Path(settings.VAR_DIR) / "c2pa")
