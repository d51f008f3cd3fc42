"""Learning pages: the student's player and telemetry, the teacher's gradebook and exports."""

from django.urls import path

from learning import variant_views, views

app_name = "learning"
PREVIEW = "classes/<int:classroom_id>/students/<int:student_id>/lessons/<int:lesson_id>/preview"
urlpatterns = [
    path("lessons/<int:lesson_id>/", views.player, name="player"),
    path("lessons/<int:lesson_id>/settings/", views.lesson_settings, name="lesson_settings"),
    path("events/", views.events, name="events"),
    path("classes/<int:classroom_id>/gradebook/", views.gradebook, name="gradebook"),
    path("classes/<int:classroom_id>/gradebook.csv", views.gradebook_csv, name="gradebook_csv"),
    path("classes/<int:classroom_id>/xapi.json", views.xapi_export, name="xapi"),
    path("courses/<int:course_id>/thresholds/", views.course_thresholds,
         name="course_thresholds"),
    # The signed-in student's own variant (learning/variant_views.py).
    path("lessons/<int:lesson_id>/my-video/", variant_views.variant_page, name="variant_page"),
    path("lessons/<int:lesson_id>/my-video/pre-checks/", variant_views.variant_precheck,
         name="variant_precheck"),
    path("lessons/<int:lesson_id>/my-video/status.json", variant_views.variant_status,
         name="variant_status"),
    path("lessons/<int:lesson_id>/my-video/playlist.m3u8", variant_views.variant_playlist,
         name="variant_playlist"),
    path("lessons/<int:lesson_id>/my-video/captions.vtt", variant_views.variant_captions,
         name="variant_captions"),
    path("lessons/<int:lesson_id>/my-video/<int:position>/<str:key>.ts",
         variant_views.variant_segment, name="variant_segment"),
    path("lessons/<int:lesson_id>/my-video/video.mp4", variant_views.variant_video,
         name="variant_video"),
    path("lessons/<int:lesson_id>/my-video/provenance.c2pa", variant_views.variant_provenance,
         name="variant_provenance"),
    # The class's teacher: preview as student S.
    path(f"{PREVIEW}/", variant_views.teacher_variant_page, name="teacher_variant_page"),
    path(f"{PREVIEW}/status.json", variant_views.teacher_variant_status,
         name="teacher_variant_status"),
    path(f"{PREVIEW}/playlist.m3u8", variant_views.teacher_variant_playlist,
         name="teacher_variant_playlist"),
    path(f"{PREVIEW}/captions.vtt", variant_views.teacher_variant_captions,
         name="teacher_variant_captions"),
    path(f"{PREVIEW}/<int:position>/<str:key>.ts", variant_views.teacher_variant_segment,
         name="teacher_variant_segment"),
    path(f"{PREVIEW}/video.mp4", variant_views.teacher_variant_video,
         name="teacher_variant_video"),
    path(f"{PREVIEW}/provenance.c2pa", variant_views.teacher_variant_provenance,
         name="teacher_variant_provenance"),
]  # fmt: skip
