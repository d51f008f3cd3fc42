"""Account pages: sign-in and out, sign-up, joining a class, classes, profile, language."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.teacher_sign_up, name="signup"),
    path("join/", views.join_class, name="join"),
    path("classes/", views.classes, name="classes"),
    path("profile/", views.profile, name="profile"),
    path("profile/caption-size/", views.caption_size, name="caption_size"),
    path("language/", views.language_switch, name="language"),
    path("review/", views.review_queue, name="review_queue"),
]
