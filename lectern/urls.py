"""Project URLs: each app brings its own urls module."""

from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from lectern import health, ops

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("courses/", include("courses.urls")),
    path("moderation/", include("moderation.urls")),
    path("learn/", include("learning.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", health.healthz, name="healthz"),
    path("ops/", ops.operations, name="operations"),
    path("admin/", admin.site.urls),
]
# MEDIA_ROOT is never served as a folder, not even with DEBUG: it holds drafts' images
# and renders, which views hand out only after checking access (courses.views).
