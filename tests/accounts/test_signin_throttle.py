"""Sign-in rate limit: a (username, address) pair is locked after 5 failures for 15 minutes,
and nobody else on the same address is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

CLASSROOM_IP = "10.0.0.7"


def sign_in(client, username: str, password: str, ip: str = CLASSROOM_IP):
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def fail(client, username: str, times: int, ip: str = CLASSROOM_IP) -> list[int]:
    """Sign in with a wrong password `times` times; the status codes of the answers."""
    return [sign_in(client, username, "wrong", ip).status_code for _ in range(times)]


def signed_in_as(client) -> str | None:
    response = client.get(reverse("home"))
    user = response.wsgi_request.user
    return user.username if user.is_authenticated else None


@pytest.mark.django_db
def test_five_failures_lock_the_name_from_that_address(client, sam):
    assert fail(client, "sam", 5) == [200, 200, 200, 200, 429]  # the form again, then locked

    response = sign_in(client, "sam", "pw-sam")

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_four_failures_do_not_lock(client, sam):
    assert fail(client, "sam", 4) == [200] * 4

    assert sign_in(client, "sam", "pw-sam").status_code == 302
    assert signed_in_as(client) == "sam"


@pytest.mark.django_db
def test_another_name_from_the_same_address_still_signs_in(client, sam, alice):
    fail(client, "sam", 6)

    response = sign_in(client, "alice", "pw-alice")

    assert response.status_code == 302
    assert signed_in_as(client) == "alice"


@pytest.mark.django_db
def test_the_same_name_from_another_address_still_signs_in(client, sam):
    fail(client, "sam", 6)

    assert sign_in(client, "sam", "pw-sam", ip="10.0.0.99").status_code == 302


@pytest.mark.django_db
def test_the_lock_lifts_after_the_cool_off(client, sam):
    fail(client, "sam", 5)
    assert sign_in(client, "sam", "pw-sam").status_code == 429

    attempt = AccessAttempt.objects.get(username="sam", ip_address=CLASSROOM_IP)
    attempt.attempt_time -= timedelta(minutes=16)
    attempt.save()

    assert sign_in(client, "sam", "pw-sam").status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_resets_the_count(client, sam):
    fail(client, "sam", 4)
    assert sign_in(client, "sam", "pw-sam").status_code == 302
    client.logout()

    fail(client, "sam", 4)

    assert sign_in(client, "sam", "pw-sam").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("trust_proxy", [True, False])
def test_behind_a_trusted_proxy_the_forwarded_address_counts(client, sam, settings, trust_proxy):
    settings.LECTERN_TRUST_PROXY = trust_proxy
    proxy = "192.168.1.1"
    for _ in range(5):
        client.post(
            reverse("accounts:login"),
            {"username": "sam", "password": "wrong"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {CLASSROOM_IP}",
        )

    from_elsewhere = client.post(
        reverse("accounts:login"),
        {"username": "sam", "password": "pw-sam"},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="10.9.9.9",
    )

    assert AccessAttempt.objects.get().ip_address == (CLASSROOM_IP if trust_proxy else proxy)
    assert from_elsewhere.status_code == (302 if trust_proxy else 429)
