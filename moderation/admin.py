"""Admin for staff: trusted teachers (grant by adding, revoke with the action or delete),
screening terms, read-only views of reviews, approvals, findings, reports and the
moderation trail, and the append-only audit log (search, filter, export as CSV)."""

import io

from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from moderation import services
from moderation.audit import audit_csv_write
from moderation.models import (
    AuditEntry,
    LessonHold,
    Report,
    Review,
    ReviewEvent,
    SceneApproval,
    ScreeningFinding,
    ScreeningTerm,
    TrustedTeacher,
)


@admin.register(TrustedTeacher)
class TrustedTeacherAdmin(admin.ModelAdmin):
    list_display = ("teacher", "granted_by", "granted_at")
    search_fields = ("teacher__username", "teacher__display_name")
    autocomplete_fields = ("teacher",)
    fields = ("teacher", "note")
    actions = ("revoke_trust",)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["note"])
            return
        trust = services.teacher_trust_grant(teacher=obj.teacher, admin=request.user, note=obj.note)
        obj.pk, obj.granted_by, obj.granted_at = trust.pk, trust.granted_by, trust.granted_at

    def delete_model(self, request, obj):
        services.teacher_trust_revoke(teacher=obj.teacher, admin=request.user)

    def delete_queryset(self, request, queryset):
        for trust in queryset.select_related("teacher"):
            services.teacher_trust_revoke(teacher=trust.teacher, admin=request.user)

    @admin.action(description=_("Revoke trust: review their lessons again"))
    def revoke_trust(self, request, queryset):
        count = sum(
            services.teacher_trust_revoke(teacher=trust.teacher, admin=request.user)
            for trust in queryset.select_related("teacher")
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d teacher is no longer trusted.",
                "%(count)d teachers are no longer trusted.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReviewEvent)
class ReviewEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor", "version", "reason_code")
    list_filter = ("action", "reason_code")
    search_fields = ("actor__username", "version__lesson__title", "content_hash")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("version", "submitted_by", "submitted_at", "claimed_by", "decided_by")


@admin.register(SceneApproval)
class SceneApprovalAdmin(ReadOnlyAdmin):
    list_display = ("content_hash", "approved_by", "approved_at", "version")
    search_fields = ("content_hash",)


@admin.register(ScreeningTerm)
class ScreeningTermAdmin(admin.ModelAdmin):
    list_display = ("term", "language", "severity", "note", "created_at")
    list_filter = ("language", "severity")
    search_fields = ("term", "note")
    fields = ("term", "language", "severity", "note")


@admin.register(ScreeningFinding)
class ScreeningFindingAdmin(ReadOnlyAdmin):
    list_display = ("version", "scene", "kind", "field", "excerpt", "severity", "created_at")
    list_filter = ("kind", "severity")


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("lesson", "reason", "reporter", "created_at", "resolved_at", "resolution")
    list_filter = ("reason", "resolution")


@admin.register(LessonHold)
class LessonHoldAdmin(ReadOnlyAdmin):
    list_display = ("lesson", "state", "version", "created_by", "created_at")
    list_filter = ("state",)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Append-only: staff search and export it; nobody adds, changes or deletes rows here."""

    list_display = ("created_at", "actor_name", "action", "detail", "target", "path")
    list_filter = ("action", "detail", ("created_at", admin.DateFieldListFilter))
    search_fields = ("actor_name", "target", "detail", "path", "note")
    date_hierarchy = "created_at"
    actions = ("export_csv",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Export the selected entries as CSV"))
    def export_csv(self, request, queryset):
        out = io.StringIO()
        audit_csv_write(queryset.order_by("created_at", "id"), out)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        return response
