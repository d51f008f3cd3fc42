"""Automatic screening: listed terms, personal data and images, stored at submit, counted in
the queue, highlighted in place on the review page, and holding back a trusted teacher."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from courses.models import VersionStatus
from moderation import services
from moderation.models import FindingKind, ScreeningFinding, ScreeningTerm
from moderation.screening import (
    TermRule,
    highlighted,
    id_card_checksum_ok,
    image_problem,
    personal_data_findings,
    term_findings,
)
from tests.moderation.conftest import render_and_submit

# A made-up ID number with a correct check character (weights 7 9 10 5 8 4 2 1 6 3 ...).
VALID_ID = "11010519491231002X"


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.excerpt) for f in personal_data_findings(text)]


def test_id_card_checksum():
    assert id_card_checksum_ok(VALID_ID)
    assert not id_card_checksum_ok("110105194912310021")  # wrong check character
    assert not id_card_checksum_ok("1101051949123100")


def test_personal_data_is_found_with_offsets():
    text = f"Call 13812345678 or mail li.wei@school.cn; ID {VALID_ID}."
    found = personal_data_findings(text)
    assert [(f.kind, f.excerpt) for f in found] == [
        (FindingKind.PHONE, "13812345678"),
        (FindingKind.EMAIL, "li.wei@school.cn"),
        (FindingKind.ID_CARD, VALID_ID),
    ]
    assert all(text[f.start : f.end] == f.excerpt for f in found)


@pytest.mark.parametrize(
    "text",
    [
        "+44 20 7946 0958",
        "(555) 123-4567",
        "+86 138 1234 5678",
        "138-1234-5678",
        "电话13912345678。",
    ],
)
def test_phone_numbers_in_common_forms_are_found(text):
    assert [kind for kind, _ in kinds(text)] == [FindingKind.PHONE]


@pytest.mark.parametrize(
    "text",
    [
        "In 1990-2000 the population grew.",
        "Version 3.11.2 and 192.168.100.200",
        "110105194912310021",  # 18 digits, wrong checksum: not an ID
        "12345678901",  # 11 digits but not 1[3-9]
        "write to you@example.com",  # reserved example domain
        "2024-01-15",
    ],
)
def test_numbers_that_are_not_personal_data_pass(text):
    assert kinds(text) == []


def test_english_terms_match_whole_words_case_insensitively():
    rules = [TermRule("damn", "en", "medium")]
    assert [f.excerpt for f in term_findings("Damn! damnation, DAMN.", rules)] == ["Damn", "DAMN"]
    assert [f.excerpt for f in term_findings("这是damn的", rules)] == ["damn"]


def test_chinese_terms_match_as_substrings():
    rules = [TermRule("笨蛋", "zh", "high"), TermRule("傻", "any", "low")]
    found = term_findings("你这个笨蛋，真傻。", rules)
    assert [(f.excerpt, f.start, f.end) for f in found] == [("笨蛋", 3, 5), ("傻", 7, 8)]


def test_highlighting_escapes_the_text_and_marks_each_span():
    text = "<b>bad</b> & worse"
    html = highlighted(text, [(3, 6), (11, 12)])
    assert html == (
        '&lt;b&gt;<mark class="finding">bad</mark>&lt;/b&gt; '
        '<mark class="finding">&amp;</mark> worse'
    )


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(out, format="PNG")
    return out.getvalue()


def test_images_that_decode_pass_and_broken_ones_are_findings(tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(png_bytes())
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(png_bytes()[:60])
    polyglot = tmp_path / "page.png"
    polyglot.write_bytes(b"<html><script>alert(1)</script></html>")
    assert image_problem(good) == ""
    assert "cut.png" in image_problem(truncated)
    assert image_problem(polyglot)


@pytest.fixture
def flagged(version):
    """Narration with a phone number and a listed term, an e-mail on a slide, a broken image."""
    ScreeningTerm.objects.create(term="stupid", language="en", severity="high")
    scene = version.scenes.get(position=1)
    scene.narration = "Version control keeps history. Call 13812345678 if you are stupid."
    scene.body = "Keep history\nMail <li@school.cn>"
    scene.save()
    third = version.scenes.get(position=2)
    third.image = SimpleUploadedFile("broken.png", png_bytes()[:60])
    third.image_alt = "A diagram"
    third.save()
    return version


def test_submit_stores_findings_per_scene(flagged, alice):
    version = render_and_submit(flagged, alice)
    found = {(f.scene.position, f.kind, f.field, f.excerpt) for f in ScreeningFinding.objects.all()}
    assert (1, "phone", "narration", "13812345678") in found
    assert (1, "term", "narration", "stupid") in found
    assert (1, "email", "body", "li@school.cn") in found
    assert any(kind == "image" and position == 2 for position, kind, _, _ in found)
    finding = ScreeningFinding.objects.get(kind="phone")
    scene = version.scenes.get(position=1)
    assert scene.narration[finding.start : finding.end] == "13812345678"


def test_queue_counts_and_review_page_marks_findings_in_place(client, flagged, alice, mo):
    version = render_and_submit(flagged, alice)
    client.force_login(mo)
    queue = client.get(reverse("moderation:queue")).content.decode()
    assert "4 findings" in queue
    page = client.get(reverse("moderation:review", args=[version.pk])).content.decode()
    assert '<mark class="finding">13812345678</mark>' in page
    assert '<mark class="finding">stupid</mark>' in page
    # The slide text is escaped around the mark: the teacher's "<" is not markup.
    assert 'Mail &lt;<mark class="finding">li@school.cn</mark>&gt;' in page
    assert "broken.png" in page


def test_a_trusted_teachers_version_with_findings_waits_for_a_moderator(flagged, alice, staff):
    services.teacher_trust_grant(teacher=alice, admin=staff)
    version = render_and_submit(flagged, alice)
    assert version.status == VersionStatus.SUBMITTED


def test_a_trusted_teachers_clean_version_is_published(version, alice, staff):
    services.teacher_trust_grant(teacher=alice, admin=staff)
    version = render_and_submit(version, alice)
    assert ScreeningFinding.objects.count() == 0
    assert version.status == VersionStatus.PUBLISHED
    # Its scenes count as approved by her, so personalized variants of it are allowed.
    from moderation.models import SceneApproval

    hashes = set(version.scenes.values_list("content_hash", flat=True))
    approvals = SceneApproval.objects.filter(content_hash__in=hashes)
    assert {a.content_hash for a in approvals} == hashes and "" not in hashes
    assert {a.approved_by for a in approvals} == {alice}


@pytest.fixture
def staff(db):
    from tests.conftest import make_user

    return make_user("root", "teacher", is_staff=True)


def test_resubmitting_replaces_old_findings(flagged, alice):
    version = render_and_submit(flagged, alice)
    before = ScreeningFinding.objects.filter(version=version).count()
    services.review_open(version=version, user=alice)
    assert ScreeningFinding.objects.filter(version=version).count() == before
