"""Staff manage users (appointing moderators) and classes in the Django admin."""

import pytest
from django.urls import reverse

from accounts.models import Classroom, Role
from tests.conftest import make_user


@pytest.fixture
def admin_client(client, db):
    client.force_login(make_user("root", Role.STUDENT, is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "url_name",
    ["admin:accounts_user_changelist", "admin:accounts_classroom_changelist"],
)
def test_staff_open_account_admin_pages(admin_client, url_name):
    assert admin_client.get(reverse(url_name)).status_code == 200


def test_staff_appoint_a_moderator_in_the_admin(admin_client, sam):
    url = reverse("admin:accounts_user_change", args=[sam.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if value is not None and key not in {"groups", "user_permissions", "password"}
    }
    data.update(role=Role.MODERATOR, date_joined_0="2026-01-01", date_joined_1="00:00:00")

    response = admin_client.post(url, data)

    sam.refresh_from_db()
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert sam.role == Role.MODERATOR


def test_classroom_admin_shows_join_code_and_members(admin_client, alice, sam):
    classroom = Classroom.objects.create(teacher=alice, name="7B", join_code="K7P2QX")
    classroom.students.add(sam)

    body = admin_client.get(reverse("admin:accounts_classroom_change", args=[classroom.pk]))

    assert "K7P2QX" in body.content.decode()
    assert "sam" in body.content.decode()


def test_non_staff_are_sent_to_the_admin_sign_in(client, alice):
    client.force_login(alice)
    assert client.get(reverse("admin:index")).status_code == 302
