"""Teacher studio URLs, under /courses/."""

from django.urls import path

from courses import views

app_name = "courses"
urlpatterns = [
    path("", views.course_list, name="course_list"),
    path("new/", views.course_create, name="course_create"),
    path("imports/<uuid:pending_id>/", views.import_review, name="import_review"),
    path("imports/<uuid:pending_id>/status/", views.import_status, name="import_status"),
    path("imports/<uuid:pending_id>/discard/", views.import_discard, name="import_discard"),
    path("imports/<uuid:pending_id>/images/<int:index>/", views.import_image, name="import_image"),
    path("lessons/<int:lesson_id>/", views.lesson_detail, name="lesson_detail"),
    path("lessons/<int:lesson_id>/edit/", views.lesson_edit, name="lesson_edit"),
    path("lessons/<int:lesson_id>/delete/", views.lesson_delete, name="lesson_delete"),
    path("versions/<int:version_id>/", views.version_detail, name="version_detail"),
    path("versions/<int:version_id>/scenes/", views.scene_add, name="scene_add"),
    path(
        "versions/<int:version_id>/checkpoints/generate/",
        views.checkpoints_generate,
        name="checkpoints_generate",
    ),
    path("versions/<int:version_id>/render/", views.version_render, name="version_render"),
    path(
        "versions/<int:version_id>/voice-preview.wav",
        views.version_voice_preview,
        name="version_voice_preview",
    ),
    path("versions/<int:version_id>/submit/", views.version_submit, name="version_submit"),
    path("scenes/<int:scene_id>/", views.scene_edit, name="scene_edit"),
    path("scenes/<int:scene_id>/move/", views.scene_move, name="scene_move"),
    path("scenes/<int:scene_id>/duplicate/", views.scene_duplicate, name="scene_duplicate"),
    path("scenes/<int:scene_id>/delete/", views.scene_delete, name="scene_delete"),
    path("scenes/<int:scene_id>/image/", views.scene_image, name="scene_image"),
    path(
        "scenes/<int:scene_id>/narration.wav",
        views.scene_narration_preview,
        name="scene_narration_preview",
    ),
    path("scenes/<int:scene_id>/checkpoint/", views.checkpoint_edit, name="checkpoint_edit"),
    path(
        "scenes/<int:scene_id>/checkpoint/accept/",
        views.checkpoint_accept,
        name="checkpoint_accept",
    ),
    path(
        "scenes/<int:scene_id>/checkpoint/delete/",
        views.checkpoint_delete,
        name="checkpoint_delete",
    ),
    path("render-jobs/<int:job_id>/status/", views.render_job_status, name="render_job_status"),
    path("render-jobs/<int:job_id>/cancel/", views.render_job_cancel, name="render_job_cancel"),
    path("render-jobs/<int:job_id>/preview/", views.render_job_preview, name="render_job_preview"),
    path(
        "render-jobs/<int:job_id>/files/<slug:name>", views.render_job_file, name="render_job_file"
    ),
    path(
        "render-jobs/<int:job_id>/hls/index.m3u8",
        views.render_job_playlist,
        name="render_job_playlist",
    ),
    path(
        "render-jobs/<int:job_id>/hls/<int:position>/<slug:key>.ts",
        views.render_job_segment,
        name="render_job_segment",
    ),
    # Course pages last: a course slug could otherwise shadow the fixed paths above.
    path("<str:slug>/", views.course_detail, name="course_detail"),
    path("<str:slug>/edit/", views.course_edit, name="course_edit"),
    path("<str:slug>/delete/", views.course_delete, name="course_delete"),
    path("<str:slug>/classes/", views.course_classrooms, name="course_classrooms"),
    path("<str:slug>/lessons/", views.lesson_create, name="lesson_create"),
    path("<str:slug>/import/", views.lesson_import, name="lesson_import"),
]
