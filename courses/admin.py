"""Admin for staff: courses, lessons and their versions, render jobs, pending imports."""

from django.contrib import admin

from courses.models import (
    Checkpoint,
    Choice,
    Concept,
    Course,
    Lesson,
    LessonVersion,
    PendingImport,
    RenderJob,
    Scene,
)


class LessonInline(admin.TabularInline):
    model = Lesson
    fields = ["title", "position"]
    extra = 0
    show_change_link = True


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "owner", "language", "created_at"]
    list_filter = ["language"]
    search_fields = ["title", "slug", "owner__username"]
    inlines = [LessonInline]


@admin.register(Concept)
class ConceptAdmin(admin.ModelAdmin):
    list_display = ["name", "course"]
    search_fields = ["name", "course__title"]


class VersionInline(admin.TabularInline):
    model = LessonVersion
    fields = ["number", "status", "status_reason", "created_by", "created_at"]
    readonly_fields = ["number", "created_by", "created_at"]
    extra = 0
    show_change_link = True


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "position", "created_at"]
    search_fields = ["title", "course__title"]
    inlines = [VersionInline]


class SceneInline(admin.StackedInline):
    model = Scene
    fields = ["position", "kind", "title", "narration", "language", "role"]
    extra = 0
    show_change_link = True


@admin.register(LessonVersion)
class LessonVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["lesson__title"]
    inlines = [SceneInline]


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["__str__", "scene", "generated", "accepted"]
    list_filter = ["generated", "accepted"]
    inlines = [ChoiceInline]


@admin.register(Scene)
class SceneAdmin(admin.ModelAdmin):
    list_display = ["__str__", "version", "position", "kind", "role"]
    list_filter = ["kind", "role", "language"]
    # Shown, never replaced here: the admin would store an upload as it came (a polyglot, a
    # bomb), while the scene editor and the import re-encode it (services.image_reencoded).
    readonly_fields = ["image"]


@admin.register(RenderJob)
class RenderJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "version", "status", "percent", "requested_by", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["manifest", "warnings", "output_dir"]


@admin.register(PendingImport)
class PendingImportAdmin(admin.ModelAdmin):
    list_display = ["source_name", "kind", "owner", "course", "created_at"]
