"""Draft checkpoint questions generated from a lesson's own scenes, and their review."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from courses import services
from courses.checkpoints import BLANK, draft_checkpoints, key_terms, lesson_key_terms
from courses.models import Checkpoint, Scene, VersionStatus
from synthesis.markdown import import_lesson_folder
from tests.corpus import LESSONS, corpus_lesson
from tests.courses.conftest import finished_render


def add_scene(version, position, **fields) -> Scene:
    return Scene.objects.create(version=version, position=position, **fields)


def add_term_scenes(version) -> list[Scene]:
    """Three scenes after the fixture's three, each defining one emphasised term."""
    return [
        add_scene(version, 3, kind="text", narration="A **commit** records a snapshot of files."),
        add_scene(version, 4, kind="text", narration="A **branch** is a line of work."),
        add_scene(version, 5, kind="text", narration="A **merge** joins two lines of work."),
    ]


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


def test_a_bullet_list_gets_no_question_about_its_lines(version):
    scenes = [
        add_scene(version, 3, kind="text", title="Git commands", body="init\nadd\ncommit\nlog"),
        add_scene(version, 4, kind="text", title="Shapes", body="circle\nsquare\ntriangle"),
    ]
    assert draft_checkpoints(scenes) == {}


def test_a_term_is_blanked_only_where_it_stands_whole(version):
    scenes = [
        add_scene(version, 3, kind="text", narration=(
            "Version control keeps every version of a file. "
            "Each version has a number you can go back to."
        )),
        add_scene(version, 4, kind="text", narration="A **branch** is a line of work."),
        add_scene(version, 5, kind="text", narration="A **merge** joins two lines of work."),
        add_scene(version, 6, kind="text", narration="Git **commits** are saved snapshots."),
    ]  # fmt: skip
    scenes[0].concepts.set(
        services.concepts_for_names(course=version.lesson.course, names=["version control"])
    )
    drafts = draft_checkpoints(scenes)
    first = drafts[scenes[0].pk]
    answer = next(text for text, correct in first.choices if correct)
    # "version" of "Version control" and "every version" (said twice) are not blanked.
    assert first.prompt == f"Fill in the blank: {BLANK} keeps every version of a file."
    assert answer == "version control"
    assert all(BLANK + "s" not in draft.prompt for draft in drafts.values())


@dataclass
class CorpusScene:
    """A corpus scene with the fields the drafter reads from a `courses.models.Scene`."""

    pk: int
    kind: str
    title: str
    body: str
    narration: str
    language: str
    concept_names: tuple[str, ...] = ()
    concepts: object = field(init=False)

    def __post_init__(self):
        names = [type("Concept", (), {"name": name})() for name in self.concept_names]
        self.concepts = type("Concepts", (), {"all": staticmethod(lambda: names)})()


def corpus_scenes(name: str) -> list[CorpusScene]:
    storyboard = import_lesson_folder(corpus_lesson(name))
    return [
        CorpusScene(
            pk=number,
            kind=scene.visual.kind,
            title=scene.visual.title,
            body="\n".join(scene.visual.bullets) or scene.visual.subtitle,
            narration=scene.narration,
            language=scene.language,
            concept_names=tuple(scene.concepts),
        )  # fmt: skip
        for number, scene in enumerate(storyboard.scenes, start=1)
    ]


@pytest.mark.parametrize("name", LESSONS)
def test_corpus_drafts_ask_about_key_terms_with_other_scenes_terms_as_wrong_answers(name):
    scenes = corpus_scenes(name)
    terms = {pk: {term.lower() for term in found} for pk, found in lesson_key_terms(scenes).items()}
    drafts = draft_checkpoints(scenes)

    assert len(drafts) >= len(scenes) // 3, "most scenes should get a question"
    for pk, draft in drafts.items():
        answers = [text for text, correct in draft.choices if correct]
        wrong = [text.lower() for text, correct in draft.choices if not correct]
        assert len(answers) == 1 and answers[0].lower() in terms[pk], draft
        assert draft.prompt.count(BLANK) == 1
        others = set().union(*(found for other, found in terms.items() if other != pk))
        assert len(wrong) >= 2 and all(text in others for text in wrong), draft
        assert answers[0].lower() not in wrong
        assert not set(wrong) & terms[pk], "a term of this scene could fill the blank too"


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


# Review before submitting -----------------------------------------------------------


def test_submit_is_refused_while_a_generated_question_is_unreviewed(version, alice):
    add_term_scenes(version)
    _version, created = services.checkpoint_drafts_generate(version=version, user=alice)
    finished_render(version, alice, output_dir="renders/1")

    with pytest.raises(ValidationError) as refused:
        services.lesson_version_submit(version=version, user=alice)

    message = refused.value.messages[0]
    assert created == 4  # the fixture's "Why version control" scene gets one too
    assert "4 generated questions have not been reviewed (scenes 2, 4, 5, 6)" in message
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT


@pytest.mark.parametrize("review", ["accept", "edit", "delete"])
def test_submit_is_allowed_once_each_generated_question_is_reviewed(version, alice, review):
    add_term_scenes(version)
    services.checkpoint_drafts_generate(version=version, user=alice)
    for checkpoint in Checkpoint.objects.filter(scene__version=version, accepted=False):
        scene = checkpoint.scene
        if review == "accept":
            services.checkpoint_accept(scene=scene, user=alice)
        elif review == "edit":
            services.checkpoint_save(
                scene=scene, user=alice, prompt="Mine?", explanation="",
                choices=[("a", True), ("b", False)], concept_names=[],
            )  # fmt: skip
        else:
            services.checkpoint_delete(scene=scene, user=alice)
    finished_render(version, alice, output_dir="renders/1")

    services.lesson_version_submit(version=version, user=alice)

    version.refresh_from_db()
    assert version.status in (VersionStatus.SUBMITTED, VersionStatus.PUBLISHED)


def test_version_page_disables_submit_and_says_why(client, alice, version):
    add_term_scenes(version)
    services.checkpoint_drafts_generate(version=version, user=alice)
    finished_render(version, alice, output_dir="renders/1")
    client.force_login(alice)

    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()

    assert "4 generated questions are not reviewed yet (scenes 2, 4, 5, 6)" in page
    assert 'id="submit-button" disabled' in page


def test_generating_on_a_submitted_version_makes_a_new_draft_and_says_so(client, alice, version):
    add_term_scenes(version)
    finished_render(version, alice, output_dir="renders/1")
    services.lesson_version_submit(version=version, user=alice)
    client.force_login(alice)
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert "Draft questions in a new version" in page

    response = client.post(reverse("courses:checkpoints_generate", args=[version.pk]), follow=True)

    fork = version.lesson.versions.get(number=2)
    assert response.redirect_chain[-1][0] == reverse("courses:version_detail", args=[fork.pk])
    text = response.content.decode()
    assert "Version 1 was already rendered or submitted" in text and "version 2" in text
    assert "4 draft questions added; review each" in text
    assert not Checkpoint.objects.filter(scene__version=version).exists()
    assert Checkpoint.objects.filter(scene__version=fork, generated=True).count() == 4


def test_generating_nothing_forks_nothing(client, alice, version):
    finished_render(version, alice, output_dir="renders/1")
    client.force_login(alice)
    client.post(reverse("courses:checkpoints_generate", args=[version.pk]))
    assert version.lesson.versions.count() == 1


@pytest.mark.parametrize("url_name", ["checkpoints_generate", "version_submit"])
def test_generate_and_submit_are_refused_to_others(client, bob, sam, alice, version, url_name):
    add_term_scenes(version)
    finished_render(version, alice, output_dir="renders/1")
    url = reverse(f"courses:{url_name}", args=[version.pk])
    client.force_login(bob)
    assert client.post(url).status_code == 404
    client.force_login(sam)
    assert client.post(url).status_code == 403  # the studio refuses students by role
    assert not Checkpoint.objects.exists()
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT and version.lesson.versions.count() == 1
