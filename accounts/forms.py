"""Forms for signing up, joining a class, creating a class and the profile page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Classroom, User
from accounts.selectors import classroom_by_join_code
from accounts.services import normalize_join_code


class JoinCodeField(forms.CharField):
    """A class join code: case, spaces and dashes do not matter; it must name a class."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Join code"))
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", _("The short code your teacher gave you, e.g. K7P2QX."))
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocapitalize": "characters", "autocomplete": "off"})

    def clean(self, value):
        code = normalize_join_code(super().clean(value))
        if classroom_by_join_code(code) is None:
            raise ValidationError(
                _("No class has the join code %(code)s. Check it with your teacher."),
                params={"code": code},
                code="unknown_join_code",
            )
        return code


class TeacherSignUpForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "display_name", "email")
        help_texts = {"email": _("Optional; used only to reset your password.")}


class TeacherSignUpCodeForm(TeacherSignUpForm):
    """Teacher sign-up when LECTERN_TEACHER_SIGNUP is "code": the school's sign-up code first."""

    signup_code = forms.CharField(
        label=_("Teacher sign-up code"),
        max_length=200,
        help_text=_("Your school's administrator gives teachers this code."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    field_order = ["signup_code"]

    def clean_signup_code(self) -> str:
        import hmac

        code = self.cleaned_data["signup_code"].strip()
        expected = settings.LECTERN_TEACHER_SIGNUP_CODE
        if not expected or not hmac.compare_digest(code.encode(), expected.encode()):
            raise ValidationError(
                _("This sign-up code is not right. Ask your administrator for it."),
                code="wrong_signup_code",
            )
        return code


class StudentSignUpForm(UserCreationForm):
    """A student account needs a username, a password and a join code, no e-mail address."""

    join_code = JoinCodeField()

    class Meta:
        model = User
        fields = ("join_code", "username", "display_name")
        help_texts = {"display_name": _("Optional; how your teacher will see your name.")}


class JoinClassForm(forms.Form):
    join_code = JoinCodeField()


class ClassroomForm(forms.ModelForm):
    class Meta:
        model = Classroom
        fields = ("name",)
        labels = {"name": _("Class name")}


class ProfileForm(forms.ModelForm):
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("Same as my browser")), *settings.LANGUAGES],
        help_text=_("Used for the pages and as the default narration language."),
    )

    class Meta:
        model = User
        fields = ("display_name", "language", "captions_enabled", "captions_size")
        help_texts = {
            "captions_enabled": _("Show captions when a video starts."),
            "captions_size": _("How large captions are in the lesson player."),
        }
