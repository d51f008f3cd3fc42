"""/healthz reports every part and answers 503 when a required part is down; only staff and
holders of the health token see the parts, anyone else up or down."""

import pytest
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.services


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(staff)
    return client


def test_healthz_reports_every_part_and_answers_200_when_all_work(staff_client, db):
    response = staff_client.get(reverse("healthz"))

    report = response.json()
    assert response.status_code == 200, report
    assert report["status"] == "ok"
    checks = report["checks"]
    assert set(checks) == {"database", "broker", "channel_layer", "ffmpeg", "tts", "torch"}
    assert all(checks[name]["ok"] for name in ("database", "broker", "channel_layer", "ffmpeg"))
    assert checks["ffmpeg"]["version"].startswith("ffmpeg version")
    assert any(state == "ok" for state in checks["tts"]["engines"].values())
    assert checks["torch"]["required"] is False
    assert isinstance(checks["torch"]["cuda_available"], bool)


def test_healthz_answers_503_when_the_broker_is_down(staff_client, db, tmp_path):
    with override_settings(CELERY_BROKER_URL=f"redis+socket://{tmp_path / 'no-redis.sock'}"):
        response = staff_client.get(reverse("healthz"))

    report = response.json()
    assert response.status_code == 503
    assert report["status"] == "unavailable"
    assert report["checks"]["broker"]["ok"] is False
    assert "error" in report["checks"]["broker"]
    assert report["checks"]["database"]["ok"] is True


def test_healthz_answers_503_when_no_offline_voice_works(staff_client, db, monkeypatch):
    import synthesis.speech

    monkeypatch.setattr(
        synthesis.speech, "engine_status", lambda: {"piper": "not installed", "gtts": "ok"}
    )

    response = staff_client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["checks"]["tts"]["ok"] is False


def test_healthz_answers_503_when_a_language_has_no_offline_voice(staff_client, db, monkeypatch):
    import synthesis.speech

    monkeypatch.setattr(
        synthesis.speech,
        "engine_status",
        lambda: {"piper": "ok", "espeak": "ok", "kokoro": "misaki[zh] is not installed"},
    )

    report = staff_client.get(reverse("healthz")).json()

    assert report["checks"]["tts"]["ok"] is False
    assert report["checks"]["tts"]["offline_voices"] == {"en": ["piper", "espeak"], "zh": []}
    assert "no offline TTS engine speaks zh" in report["checks"]["tts"]["error"]


def test_healthz_tells_anonymous_callers_only_up_or_down(client, db):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "version" not in response.content.decode()


def test_healthz_tells_anonymous_callers_when_it_is_down(client, db, tmp_path):
    with override_settings(CELERY_BROKER_URL=f"redis+socket://{tmp_path / 'no-redis.sock'}"):
        response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_healthz_gives_the_report_to_a_request_with_the_token(client, db):
    with override_settings(LECTERN_HEALTH_TOKEN="s3cret-token"):
        with_token = client.get(reverse("healthz"), HTTP_X_LECTERN_HEALTH_TOKEN="s3cret-token")
        wrong = client.get(reverse("healthz"), HTTP_X_LECTERN_HEALTH_TOKEN="guess")
    with override_settings(LECTERN_HEALTH_TOKEN=""):
        empty = client.get(reverse("healthz"), HTTP_X_LECTERN_HEALTH_TOKEN="")

    assert "checks" in with_token.json()
    assert wrong.json() == {"status": "ok"}
    assert empty.json() == {"status": "ok"}


def test_healthz_hides_the_report_from_a_signed_in_teacher(client, db, alice):
    client.force_login(alice)

    assert client.get(reverse("healthz")).json() == {"status": "ok"}
