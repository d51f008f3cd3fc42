"""Draft checkpoint questions generated from a lesson's own scenes."""

from __future__ import annotations

from courses import services
from courses.checkpoints import BLANK, draft_checkpoints, key_terms
from courses.models import Checkpoint, Scene


def add_scene(version, position, **fields) -> Scene:
    return Scene.objects.create(version=version, position=position, **fields)


def test_key_terms_prefer_emphasis_then_concepts_then_repeated_words(version):
    scene = add_scene(
        version, 3, kind="text", narration="A **commit** saves a snapshot. Snapshot after snapshot."
    )
    scene.concepts.set(services.concepts_for_names(course=version.lesson.course, names=["history"]))
    assert key_terms(scene)[:3] == ["commit", "history", "snapshot"]


def test_chinese_key_terms_come_from_repeated_words(version):
    scene = add_scene(
        version, 3, kind="text", language="zh",
        narration="独热编码是一个向量。独热编码的分量和类别一样多。",
    )  # fmt: skip
    assert "独热编码" in key_terms(scene)


def test_cloze_blanks_a_key_term_and_offers_terms_of_other_scenes(version):
    scenes = [
        add_scene(version, 3, kind="text", narration="A **commit** records a snapshot of files."),
        add_scene(version, 4, kind="text", narration="A **branch** is a line of work."),
        add_scene(version, 5, kind="text", narration="A **merge** joins two lines of work."),
    ]
    drafts = draft_checkpoints(scenes)
    draft = drafts[scenes[0].pk]
    assert draft.prompt == f"Fill in the blank: A {BLANK} records a snapshot of files."
    assert sorted(draft.choices) == [("branch", False), ("commit", True), ("merge", False)]
    assert "Scene 1 says" in draft.explanation


def test_list_scene_gets_a_which_of_these_question_with_several_answers(version):
    scenes = [
        add_scene(version, 3, kind="text", title="Git commands", body="init\nadd\ncommit\nlog"),
        add_scene(version, 4, kind="text", title="Shapes", body="circle\nsquare\ntriangle"),
    ]
    draft = draft_checkpoints(scenes)[scenes[0].pk]
    assert draft.prompt.startswith("Which of these are listed in “Git commands”?")
    correct = {text for text, is_correct in draft.choices if is_correct}
    wrong = {text for text, is_correct in draft.choices if not is_correct}
    assert len(correct) == 2 and correct <= {"init", "add", "commit", "log"}
    assert wrong <= {"circle", "square", "triangle"} and len(wrong) == 2


def test_generated_drafts_are_stored_unaccepted_and_never_replace_a_question(version, alice):
    scenes = [
        add_scene(version, 3, kind="text", narration="A **commit** records a snapshot of files."),
        add_scene(version, 4, kind="text", narration="A **branch** is a line of work."),
        add_scene(version, 5, kind="text", narration="A **merge** joins two lines of work."),
    ]
    services.checkpoint_save(
        scene=scenes[1], user=alice, prompt="Mine", explanation="",
        choices=[("a", True), ("b", False)], concept_names=[],
    )  # fmt: skip
    changed, created = services.checkpoint_drafts_generate(version=version, user=alice)
    generated = Checkpoint.objects.filter(generated=True)
    assert changed.pk == version.pk and created == generated.count()
    assert {scenes[0].pk, scenes[2].pk} <= set(generated.values_list("scene", flat=True))
    assert Checkpoint.objects.get(scene=scenes[1]).prompt == "Mine"
    assert not generated.filter(accepted=True).exists()


def test_title_cards_and_headings_get_no_cloze_question(version):
    scenes = [
        add_scene(version, 3, kind="title", title="Commits", narration="All about **commits**."),
        add_scene(version, 4, kind="text", narration="Solution: **Paper** writing."),
        add_scene(version, 5, kind="text", narration="A **branch** is a line of work."),
        add_scene(version, 6, kind="text", narration="A **merge** joins two lines of work."),
    ]
    drafts = draft_checkpoints(scenes)
    assert scenes[0].pk not in drafts and scenes[1].pk not in drafts
    assert scenes[2].pk in drafts


def test_chinese_words_are_told_from_fragments(version):
    first = "我们需要一个有多个输出的模型。每个输出对应于它自己的仿射函数（affine function）。"
    second = "我们选择具有最大概率的标签。模型的输出可以视为概率。选择具体的类别。"
    scenes = [
        add_scene(version, 3, kind="text", language="zh", narration=first),
        add_scene(version, 4, kind="text", language="zh", narration=second),
    ]
    from courses.checkpoints import _ChineseVocabulary

    vocabulary = _ChineseVocabulary(scenes)
    assert vocabulary.is_word("仿射函数")  # glossed in English
    assert vocabulary.is_word("输出")  # repeated in varied company
    assert not vocabulary.is_word("择具")  # a fragment: always preceded by 选
