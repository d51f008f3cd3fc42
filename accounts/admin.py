"""Admin for staff: users (appointing moderators happens here), classes and memberships."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import Classroom, Membership, User


@admin.register(User)
class LecternUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "role", "is_staff", "is_active", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("username", "display_name", "email")
    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Lectern"), {"fields": ("role", "display_name", "language", "captions_enabled")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        (_("Lectern"), {"fields": ("role", "display_name")}),
    )


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
