"""The scene content hash: what a viewer sees and hears in a scene, and nothing else.

Moderation approves scenes by this hash, so it must not move when nothing perceptible
changes (another video size, a new renderer version, the image file renamed) and must
move when anything perceptible does (a word of narration, a bullet, a pixel of the image,
the checkpoint question, the voice). Render settings and segment keys are kept out of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from synthesis.storyboard import Scene, VoiceSettings

# Bump only when the meaning of the hash changes (every approval is then asked again).
CONTENT_HASH_VERSION = 1


def scene_content_hash(scene: Scene, *, voice: VoiceSettings) -> str:
    """Hex SHA-256 over the scene's narration, visual, image bytes, checkpoint and voice.

    The checkpoint is the scene's question as canonical JSON (checkpoint_json), or none.
    The image counts by its bytes, not its path.
    """
    checkpoint = json.loads(scene.checkpoint) if scene.checkpoint else None
    visual = asdict(scene.visual)
    image_path = visual.pop("image_path")
    visual["image_sha256"] = _file_sha256(Path(image_path)) if image_path else None
    language = scene.language
    payload = {
        "version": CONTENT_HASH_VERSION,
        "narration": scene.narration.strip(),
        "language": language,
        "visual": visual,
        "checkpoint": checkpoint,
        "voice": {
            "engines": list(voice.engines_for(language.split("-")[0].lower())),
            "voice": voice.voice,
            "rate": round(voice.rate, 3),
        },
    }
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return None  # a missing image is what the viewer gets: the text fallback
    return digest.hexdigest()


def checkpoint_json(checkpoint: dict | None) -> str:
    """A question as plain data (prompt, [choice, is it right] pairs, explanation) in the
    one canonical form a Scene carries; "" for none."""
    if checkpoint is None:
        return ""
    return json.dumps(checkpoint, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
