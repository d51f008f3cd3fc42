"""The scene content hash moves with what a viewer perceives and with nothing else."""

import dataclasses

from PIL import Image

from synthesis.content_hash import checkpoint_json, scene_content_hash
from synthesis.storyboard import Scene, Visual, VoiceSettings

VOICE = VoiceSettings(engines=("piper", "espeak"))


def slide(**changes) -> Scene:
    scene = Scene(
        id="s1",
        visual=Visual(kind="text", title="Commits", bullets=("Save a snapshot", "Name it")),
        narration="A commit saves a snapshot of your files.",
    )
    return dataclasses.replace(scene, **changes)


def test_same_content_gives_the_same_hash():
    assert scene_content_hash(slide(), voice=VOICE) == scene_content_hash(slide(), voice=VOICE)


def test_scene_id_does_not_count():
    assert scene_content_hash(slide(id="other"), voice=VOICE) == scene_content_hash(
        slide(), voice=VOICE
    )


def test_editing_a_word_of_narration_changes_it():
    edited = slide(narration="A commit saves a snapshot of your folder.")
    assert scene_content_hash(edited, voice=VOICE) != scene_content_hash(slide(), voice=VOICE)


def test_editing_a_bullet_changes_it():
    edited = slide(visual=Visual(kind="text", title="Commits", bullets=("Save a snapshot",)))
    assert scene_content_hash(edited, voice=VOICE) != scene_content_hash(slide(), voice=VOICE)


def test_checkpoint_and_voice_count():
    base = scene_content_hash(slide(), voice=VOICE)
    question = {"prompt": "What is a commit?", "choices": [["A snapshot", True]]}
    asked = slide(checkpoint=checkpoint_json(question))
    assert scene_content_hash(asked, voice=VOICE) != base
    reordered = {"choices": [["A snapshot", True]], "prompt": "What is a commit?"}
    assert scene_content_hash(slide(checkpoint=checkpoint_json(reordered)), voice=VOICE) == (
        scene_content_hash(asked, voice=VOICE)
    )  # one canonical form
    assert scene_content_hash(slide(), voice=dataclasses.replace(VOICE, rate=1.2)) != base
    assert scene_content_hash(slide(), voice=dataclasses.replace(VOICE, voice="en-gb")) != base


def test_image_counts_by_its_bytes_not_its_path(tmp_path):
    first, renamed, other = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    Image.new("RGB", (8, 8), "red").save(first)
    Image.new("RGB", (8, 8), "red").save(renamed)
    Image.new("RGB", (8, 8), "blue").save(other)

    def with_image(path):
        return slide(visual=Visual(kind="image", image_path=str(path), alt="A diagram"))

    assert scene_content_hash(with_image(first), voice=VOICE) == scene_content_hash(
        with_image(renamed), voice=VOICE
    )
    assert scene_content_hash(with_image(first), voice=VOICE) != scene_content_hash(
        with_image(other), voice=VOICE
    )
