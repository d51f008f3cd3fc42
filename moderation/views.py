"""The moderator's workspace (queue, review page, claim, decide) and a teacher's appeal.

Every view names its role with `role_required`; the selectors then answer 404 for a
version the user may not know exists.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import role_required
from courses.models import VersionStatus
from learning.selectors import lesson_for_student
from moderation import reports, selectors, services
from moderation.audit import audit_student_data_view
from moderation.forms import (
    REASON_CHOICES,
    AppealForm,
    RejectVersionForm,
    ReportForm,
    TakedownForm,
    verdicts_from_post,
)
from moderation.models import SceneDecisionKind

moderator_required = role_required(Role.MODERATOR)


def _errors(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@moderator_required
def queue(request):
    """Moderators: what waits for review, oldest first; expired claims are back in it."""
    services.review_claims_expire()
    reported = list(selectors.reported_lessons())
    context = {
        "queue": selectors.review_queue(),
        "reported": reported,
        "reported_count": len(reported),
        "hidden_count": sum(1 for lesson in reported if lesson.held),
        "reports_to_hide": reports.reports_to_hide(),
    }
    return render(request, "moderation/queue.html", context)


@moderator_required
def review(request, version_id):
    """Moderators: the video, then every scene (slide, narration and sources, question)."""
    version = selectors.version_for_moderator(user=request.user, version_id=version_id)
    review = selectors.review_for_version(version)
    rows = selectors.review_scene_rows(version)
    now = timezone.now()
    holds_claim = bool(
        review
        and version.status == VersionStatus.IN_REVIEW
        and review.claimed_by_id == request.user.pk
        and review.claim_expires_at
        and review.claim_expires_at >= now
    )
    context = {
        "version": version,
        "lesson": version.lesson,
        "review": review,
        "rows": rows,
        "to_review": sum(1 for row in rows if row.needs_review),
        "job": selectors.review_video(version),
        "holds_claim": holds_claim,
        "claimable": version.status in services.PENDING_STATUSES and not holds_claim,
        "reason_choices": REASON_CHOICES,
        "reject_form": RejectVersionForm(),
        "events": selectors.review_events(version),
        "decision_kinds": SceneDecisionKind,
    }
    return render(request, "moderation/review.html", context)


@moderator_required
@require_POST
def claim(request, version_id):
    version = selectors.version_for_moderator(user=request.user, version_id=version_id)
    try:
        services.review_claim(version=version, moderator=request.user)
    except ValidationError as error:
        _errors(request, error)
        return redirect("moderation:queue")
    return redirect("moderation:review", version_id=version.pk)


@moderator_required
@require_POST
def release(request, version_id):
    version = selectors.version_for_moderator(user=request.user, version_id=version_id)
    try:
        services.review_release(version=version, moderator=request.user)
    except ValidationError as error:
        _errors(request, error)
    return redirect("moderation:queue")


@moderator_required
@require_POST
def decide(request, version_id):
    """Moderators: approve (and publish) or reject the claimed version, scene by scene."""
    version = selectors.version_for_moderator(user=request.user, version_id=version_id)
    reject_version = None
    if request.POST.get("action") == "reject_version":
        form = RejectVersionForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a reason for rejecting the version."))
            return redirect("moderation:review", version_id=version.pk)
        reject_version = services.SceneVerdict(
            SceneDecisionKind.REJECT, form.cleaned_data["reason_code"], form.cleaned_data["note"]
        )
    scene_ids = version.scenes.values_list("pk", flat=True)
    try:
        version = services.review_decide(
            version=version,
            moderator=request.user,
            verdicts=verdicts_from_post(request.POST, scene_ids),
            reject_version=reject_version,
        )
    except ValidationError as error:
        _errors(request, error)
        return redirect("moderation:review", version_id=version.pk)
    if version.status == VersionStatus.PUBLISHED:
        messages.success(request, _("Approved and published: students can watch it now."))
    else:
        messages.success(request, _("Rejected. The teacher sees your reasons next to the scenes."))
    return redirect("moderation:queue")


@role_required(Role.TEACHER)
@require_http_methods(["GET", "POST"])
def appeal(request, version_id):
    """The owning teacher: ask once for a rejection to be decided again by someone else."""
    version = selectors.version_for_owner(user=request.user, version_id=version_id)
    review = selectors.review_for_version(version)
    form = AppealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_appeal(version=version, teacher=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Appeal sent. Another moderator will decide."))
            return redirect("courses:version_detail", version_id=version.pk)
    context = {
        "version": version,
        "lesson": version.lesson,
        "review": review,
        "form": form,
        "notices": selectors.scene_rejection_notices(version),
        "can_appeal": bool(
            review and version.status == VersionStatus.REJECTED and review.appealed_at is None
        ),
    }
    return render(request, "moderation/appeal.html", context)


# Reports and takedown ---------------------------------------------------------------------


@role_required(Role.STUDENT)
@require_POST
def report(request, lesson_id):
    """A student who can watch the lesson reports it (404 for a lesson they cannot see)."""
    lesson = lesson_for_student(student=request.user, lesson_id=lesson_id)
    form = ReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what is wrong with the lesson."))
        return redirect("learning:player", lesson_id=lesson.pk)
    try:
        reports.report_create(student=request.user, lesson=lesson, **form.cleaned_data)
    except ValidationError as error:
        _errors(request, error)
        return redirect("home")
    messages.success(request, _("Thank you. A moderator will look at this lesson."))
    if not selectors.lesson_is_visible_to_student(student=request.user, lesson=lesson):
        return redirect("home")
    return redirect("learning:player", lesson_id=lesson.pk)


@moderator_required
@require_GET  # the page names reporters and audits that: no other method reads it
def lesson_reports(request, lesson_id):
    """Moderators: a lesson's reports (with who reported), restore or take it down."""
    lesson = selectors.lesson_for_moderator(user=request.user, lesson_id=lesson_id)
    version = selectors.published_version(lesson)
    lesson_reports = list(selectors.lesson_reports(lesson))
    if lesson_reports:  # names the students who reported
        audit_student_data_view(
            request=request,
            what="lesson reports",
            target=f"lesson #{lesson.pk}",
            students=[report.reporter for report in lesson_reports if report.reporter],
        )
    context = {
        "lesson": lesson,
        "version": version,
        "hold": selectors.lesson_hold(lesson),
        "reports": lesson_reports,
        "takedown_form": TakedownForm(),
    }
    return render(request, "moderation/lesson_reports.html", context)


@moderator_required
@require_POST
def lesson_restore(request, lesson_id):
    lesson = selectors.lesson_for_moderator(user=request.user, lesson_id=lesson_id)
    try:
        reports.lesson_restore(lesson=lesson, moderator=request.user)
    except ValidationError as error:
        _errors(request, error)
        return redirect("moderation:lesson_reports", lesson_id=lesson.pk)
    messages.success(request, _("Reports closed; students see the lesson again."))
    return redirect("moderation:queue")


@moderator_required
@require_POST
def lesson_takedown(request, lesson_id):
    """Moderators: unpublish the lesson at once (and every variant of it)."""
    lesson = selectors.lesson_for_moderator(user=request.user, lesson_id=lesson_id)
    form = TakedownForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason for taking the lesson down."))
        return redirect("moderation:lesson_reports", lesson_id=lesson.pk)
    reports.lesson_takedown(lesson=lesson, moderator=request.user, **form.cleaned_data)
    messages.success(request, _("Taken down: students no longer see the lesson."))
    return redirect("moderation:queue")
