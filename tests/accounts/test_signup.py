"""Teacher sign-up follows LECTERN_TEACHER_SIGNUP: open, by the school's code, or closed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User

FORM = {
    "username": "newteacher",
    "display_name": "New Teacher",
    "email": "",
    "password1": "a-long-pass-phrase-42",
    "password2": "a-long-pass-phrase-42",
}


def test_open_sign_up_creates_a_teacher(client, db, settings):
    settings.LECTERN_TEACHER_SIGNUP = "open"

    response = client.post(reverse("accounts:signup"), FORM)

    assert response.status_code == 302
    assert User.objects.get(username="newteacher").is_teacher


def test_code_sign_up_needs_the_right_code(client, db, settings):
    settings.LECTERN_TEACHER_SIGNUP = "code"
    settings.LECTERN_TEACHER_SIGNUP_CODE = "maple-42"

    page = client.get(reverse("accounts:signup")).content.decode()
    wrong = client.post(reverse("accounts:signup"), {**FORM, "signup_code": "oak-1"})
    assert "Teacher sign-up code" in page
    assert wrong.status_code == 200
    assert "This sign-up code is not right." in wrong.content.decode()
    assert not User.objects.filter(username="newteacher").exists()

    right = client.post(reverse("accounts:signup"), {**FORM, "signup_code": "maple-42"})
    assert right.status_code == 302
    assert User.objects.get(username="newteacher").is_teacher


@pytest.mark.parametrize("mode,code", [("closed", "maple-42"), ("code", "")])
def test_closed_sign_up_creates_nobody(client, db, settings, mode, code):
    settings.LECTERN_TEACHER_SIGNUP = mode
    settings.LECTERN_TEACHER_SIGNUP_CODE = code

    response = client.post(reverse("accounts:signup"), {**FORM, "signup_code": ""})

    assert response.status_code == 403
    assert "created by your school's administrator" in response.content.decode().replace(
        "&#x27;", "'"
    )
    assert not User.objects.filter(username="newteacher").exists()
