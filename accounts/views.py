"""Sign-in, sign-up, joining a class, classes, profile, language and each role's home page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from accounts import selectors, services
from accounts.forms import (
    ClassroomForm,
    JoinClassForm,
    ProfileForm,
    StudentSignUpForm,
    TeacherSignUpCodeForm,
    TeacherSignUpForm,
)
from accounts.models import Role
from accounts.permissions import role_required
from moderation.audit import audit_student_data_view
from moderation.selectors import review_queue as review_queue_selector


class SignInView(LoginView):
    """Anyone may sign in; a signed-in user is sent home."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
def home(request):
    """Signed-in users: the home page of their role."""
    user = request.user
    if user.is_teacher:
        from courses.quotas import teacher_storage_use

        context = {
            "courses": selectors.courses_for_teacher(user),
            "classrooms": selectors.classrooms_for_teacher(user),
            "storage": teacher_storage_use(user),
        }
        return render(request, "accounts/home_teacher.html", context)
    if user.is_moderator:
        return render(
            request, "accounts/home_moderator.html", {"queue": review_queue_selector()[:10]}
        )
    return render(
        request,
        "accounts/home_student.html",
        {"classrooms": selectors.classrooms_for_student(user)},
    )


def teacher_sign_up(request):
    """Anyone (LECTERN_TEACHER_SIGNUP "open"), whoever has the sign-up code ("code"), or
    nobody ("closed": staff create teachers in the admin): a teacher account, signed in."""
    if request.user.is_authenticated:
        return redirect("home")
    mode = settings.LECTERN_TEACHER_SIGNUP
    if mode == "closed" or (mode == "code" and not settings.LECTERN_TEACHER_SIGNUP_CODE):
        return render(request, "accounts/signup_teacher.html", {"closed": True}, status=403)
    form_class = TeacherSignUpCodeForm if mode == "code" else TeacherSignUpForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.teacher_sign_up(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                display_name=form.cleaned_data["display_name"],
                email=form.cleaned_data["email"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to Lectern! Start by creating a class."))
            return redirect("home")
    return render(request, "accounts/signup_teacher.html", {"form": form})


def join_class(request):
    """Anyone signed out: create a student account in a class. Students: join another class.

    Teachers and moderators have no classes to join (403).
    """
    user = request.user
    if user.is_authenticated and not user.is_student:
        raise PermissionDenied
    if user.is_authenticated:
        form = JoinClassForm(request.POST or None)
    else:
        form = StudentSignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["join_code"]
        try:
            if user.is_authenticated:
                classroom = services.classroom_join(student=user, join_code=code)
            else:
                user = services.student_sign_up(
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                    join_code=code,
                    display_name=form.cleaned_data["display_name"],
                )
                classroom = user.classrooms.get()
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("You joined %(name)s.") % {"name": classroom.name})
            return redirect("home")
    return render(request, "accounts/join_class.html", {"form": form})


@role_required(Role.TEACHER)
@require_http_methods(["GET", "POST"])  # any other method would show (and audit) the roster
def classes(request):
    """Teachers: their classes with join codes and students, and a form for a new class."""
    form = ClassroomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            classroom = services.classroom_create(
                teacher=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Class %(name)s created. Students join it with the code %(code)s.")
                % {"name": classroom.name, "code": classroom.join_code},
            )
            return redirect("accounts:classes")
    classrooms = list(selectors.classrooms_for_teacher(request.user))
    students = [student for classroom in classrooms for student in classroom.students.all()]
    if students:  # the roster names children: a view of student data
        audit_student_data_view(
            request=request, what="class roster", target="classes", students=students
        )
    context = {"form": form, "classrooms": classrooms}
    return render(request, "accounts/classes.html", context)


@login_required
def profile(request):
    """Signed-in users: display name, language and captions preferences (on, size)."""
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = services.user_preferences_update(
            user=request.user,
            display_name=form.cleaned_data["display_name"],
            language=form.cleaned_data["language"],
            captions_enabled=form.cleaned_data["captions_enabled"],
            captions_size=form.cleaned_data["captions_size"],
        )
        response = redirect("accounts:profile")
        if user.language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.language,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            )
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        messages.success(request, _("Your preferences are saved."))
        return response
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_POST
def caption_size(request):
    """Signed-in users: the player's caption-size selector saves the profile preference (204)."""
    try:
        services.user_caption_size_set(
            user=request.user, captions_size=request.POST.get("captions_size", "")
        )
    except ValidationError as error:
        return HttpResponseBadRequest(" ".join(error.messages))
    return HttpResponse(status=204)


@require_POST
def language_switch(request):
    """Anyone: Django's set_language; a signed-in user's choice is also kept as a preference."""
    response = set_language(request)
    language = request.POST.get("language", "")
    languages = {code for code, _name in settings.LANGUAGES}
    if request.user.is_authenticated and language in languages:
        services.user_language_set(user=request.user, language=language)
    return response


@role_required(Role.MODERATOR)
def review_queue(request):
    """Moderators: the old address of the review queue, now the moderation workspace."""
    return redirect("moderation:queue")
