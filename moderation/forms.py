"""Forms of the moderation pages: a moderator's decisions and a teacher's appeal."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.utils.translation import gettext_lazy as _

from moderation.models import ReasonCode, ReportReason, SceneDecisionKind
from moderation.services import SceneVerdict

REASON_CHOICES = [("", _("Choose a reason")), *ReasonCode.choices]


class AppealForm(forms.Form):
    note = forms.CharField(
        label=_("Why should the decision change?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
    )


class RejectVersionForm(forms.Form):
    reason_code = forms.ChoiceField(label=_("Reason"), choices=REASON_CHOICES)
    note = forms.CharField(
        label=_("Note for the teacher"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def verdicts_from_post(post, scene_ids: Iterable[int]) -> dict[int, SceneVerdict]:
    """The per-scene fields of the review form: decision-<id>, reason-<id>, note-<id>."""
    verdicts = {}
    for scene_id in scene_ids:
        decision = post.get(f"decision-{scene_id}", SceneDecisionKind.APPROVE)
        verdicts[scene_id] = SceneVerdict(
            decision=decision,
            reason_code=post.get(f"reason-{scene_id}", ""),
            note=post.get(f"note-{scene_id}", "")[:2000],
        )
    return verdicts


class ReportForm(forms.Form):
    """A student's report on a lesson they watch."""

    reason = forms.ChoiceField(label=_("What is wrong?"), choices=ReportReason.choices)
    note = forms.CharField(
        label=_("Tell us more (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TakedownForm(forms.Form):
    reason_code = forms.ChoiceField(label=_("Reason"), choices=REASON_CHOICES)
    note = forms.CharField(
        label=_("Note for the teacher"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
