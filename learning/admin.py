"""Admin: staff see each course's learner model (choice, scores) and edit its thresholds."""

from django.contrib import admin

from learning.models import CourseLearnerModel, Mastery


@admin.register(CourseLearnerModel)
class CourseLearnerModelAdmin(admin.ModelAdmin):
    list_display = ("course", "chosen", "answers", "fitted_at", "mastery_threshold")
    readonly_fields = ("chosen", "scores", "answers", "fitted_at")
    search_fields = ("course__title", "course__slug")


@admin.register(Mastery)
class MasteryAdmin(admin.ModelAdmin):
    list_display = ("student", "concept", "p_known", "updated_at")
    readonly_fields = ("student", "concept", "p_known", "answers", "updated_at")
    search_fields = ("student__username", "concept__slug")
