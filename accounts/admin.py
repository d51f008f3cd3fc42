"""Admin for staff: users (appointing moderators happens here; exporting or deleting a
student's data with the actions), classes and memberships."""

import tempfile
import zipfile
from pathlib import Path

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Classroom, Membership, User
from moderation.audit import audit_record
from moderation.models import AuditAction
from moderation.privacy import student_data_export, student_delete, student_for_privacy


@admin.register(User)
class LecternUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "role", "is_staff", "is_active", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("username", "display_name", "email")
    fieldsets = (
        *UserAdmin.fieldsets,
        (
            _("Lectern"),
            {"fields": ("role", "display_name", "language", "captions_enabled", "captions_size")},
        ),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        (_("Lectern"), {"fields": ("role", "display_name")}),
    )
    actions = ("export_student_data", "delete_students")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        user = User.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if user is not None and user.is_student:
            audit_record(
                actor=request.user,
                action=AuditAction.VIEW_STUDENT_DATA,
                detail="admin_user",
                target=f"student #{user.pk}",
                subject_ids=[user.pk],
                request=request,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _students(self, request, queryset) -> list[User] | None:
        try:
            return [student_for_privacy(user.username) for user in queryset]
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return None

    @admin.action(description=_("Export the selected students' data (zip)"))
    def export_student_data(self, request, queryset):
        students = self._students(request, queryset)
        if not students:
            return None
        with tempfile.TemporaryDirectory() as folder:
            bundle = Path(folder) / "students.zip"
            with zipfile.ZipFile(bundle, "w") as archive:
                for student in students:
                    one = student_data_export(
                        user=student, out=Path(folder) / f"{student.pk}.zip", actor=request.user
                    )
                    archive.write(one, f"student-{student.pk}-{student.username}.zip")
            response = HttpResponse(bundle.read_bytes(), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="student-data.zip"'
        return response

    @admin.action(description=_("Delete the selected students and their data"))
    def delete_students(self, request, queryset):
        students = self._students(request, queryset)
        if not students:
            return None
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "moderation/admin_delete_students.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Delete students and their data"),
                    "students": students,
                    "action": "delete_students",
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                },
            )
        for student in students:
            student_delete(user=student, actor=request.user)
        self.message_user(
            request,
            ngettext(
                "%(count)d student and their data deleted.",
                "%(count)d students and their data deleted.",
                len(students),
            )
            % {"count": len(students)},
            messages.SUCCESS,
        )
        return None


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("student",)


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("name", "teacher", "join_code", "created_at")
    search_fields = ("name", "join_code", "teacher__username")
    autocomplete_fields = ("teacher",)
    filter_horizontal = ("courses",)
    inlines = (MembershipInline,)
