"""/healthz reports every part and answers 503 when a required part is down."""

import pytest
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.services


def test_healthz_reports_every_part_and_answers_200_when_all_work(client, db):
    response = client.get(reverse("healthz"))

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


def test_healthz_answers_503_when_the_broker_is_down(client, db, tmp_path):
    with override_settings(CELERY_BROKER_URL=f"redis+socket://{tmp_path / 'no-redis.sock'}"):
        response = client.get(reverse("healthz"))

    report = response.json()
    assert response.status_code == 503
    assert report["status"] == "unavailable"
    assert report["checks"]["broker"]["ok"] is False
    assert "error" in report["checks"]["broker"]
    assert report["checks"]["database"]["ok"] is True


def test_healthz_answers_503_when_no_offline_voice_works(client, db, monkeypatch):
    import synthesis.speech

    monkeypatch.setattr(
        synthesis.speech, "engine_status", lambda: {"piper": "not installed", "gtts": "ok"}
    )

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["checks"]["tts"]["ok"] is False


def test_healthz_answers_503_when_a_language_has_no_offline_voice(client, db, monkeypatch):
    import synthesis.speech

    monkeypatch.setattr(
        synthesis.speech,
        "engine_status",
        lambda: {"piper": "ok", "espeak": "ok", "kokoro": "misaki[zh] is not installed"},
    )

    report = client.get(reverse("healthz")).json()

    assert report["checks"]["tts"]["ok"] is False
    assert report["checks"]["tts"]["offline_voices"] == {"en": ["piper", "espeak"], "zh": []}
    assert "no offline TTS engine speaks zh" in report["checks"]["tts"]["error"]
