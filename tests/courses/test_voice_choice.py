"""The teacher's narration voice: offered per language, stored with the version, previewed,
used by the render and part of its segment keys."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from courses import services
from courses.forms import RenderForm
from courses.models import RenderJob, RenderStatus, Scene, VersionStatus
from courses.narration import SAMPLE_SENTENCES, narration_preview_wav, voice_sample_sentence
from courses.rendering import render_settings_for
from courses.storyboards import storyboard_from_version
from courses.voices import version_voice_settings, voice_settings
from synthesis.render import render
from synthesis.speech import ENGINES
from synthesis.speech.kokoro_engine import VOICES as KOKORO_VOICES
from tests.courses.conftest import finished_render

ESPEAK = "espeak:en-us"


@pytest.fixture
def site(settings, tmp_path):
    """Every engine in the site's order, one order for both languages, caches in tmp."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["piper", "kokoro", "espeak", "gtts"]
    settings.LECTERN_TTS_LANGUAGE_ENGINES = {}
    settings.LECTERN_DEVICE = "cpu"
    return settings


@pytest.fixture
def every_engine_works(monkeypatch):
    """Pretend every engine is installed and online: listing voices speaks nothing."""
    for engine in ENGINES.values():
        monkeypatch.setattr(engine, "unavailable_reason", lambda: None)


@pytest.fixture
def zh_version(course, alice):
    lesson = services.lesson_create(course=course, title="植物", created_by=alice, language="zh")
    version = lesson.versions.get()
    Scene.objects.create(
        version=version, position=0, kind="text", title="光", language="zh",
        narration="植物需要光。它们也需要水。",
    )  # fmt: skip
    return version


def offered(version) -> dict[str, str]:
    choices = RenderForm(version=version).fields["voice"].choices
    return {str(key): str(label) for key, label in choices}


def render_post(client, version, **fields):
    data = {"size": "tiny", "quality": "draft", **fields}
    return client.post(reverse("courses:version_render", args=[version.pk]), data)


def page_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# Which voices are offered ---------------------------------------------------------------


def test_english_version_offers_piper_and_espeak_and_no_chinese_voice(
    site, every_engine_works, version
):
    choices = offered(version)
    assert list(choices)[0] == "" and "Automatic" in choices[""]
    assert choices["piper:en_US-joe-medium"] == "Piper – en_US-joe-medium"
    assert choices[ESPEAK] == "eSpeak NG – en-us"
    assert not any(key.startswith("kokoro:") for key in choices)


def test_chinese_version_offers_kokoro_voices_and_no_piper(site, every_engine_works, zh_version):
    choices = offered(zh_version)
    assert {f"kokoro:{name}" for name in KOKORO_VOICES} <= set(choices)
    assert not any(key.startswith(("piper:", "espeak:")) for key in choices)


def test_online_voices_are_marked(site, every_engine_works, version):
    assert offered(version)["gtts:en"].endswith("(needs internet)")


def test_engines_that_cannot_run_here_are_not_offered(site, version, monkeypatch):
    monkeypatch.setattr(ENGINES["piper"], "unavailable_reason", lambda: "piper is not installed")
    assert not any(key.startswith("piper:") for key in offered(version))


def test_the_site_order_for_a_language_orders_the_voices(site, every_engine_works, version):
    site.LECTERN_TTS_LANGUAGE_ENGINES = {"en": ["espeak", "piper"]}
    assert [key for key in offered(version) if key] == [ESPEAK, "piper:en_US-joe-medium"]


def test_render_panel_shows_the_voice_select_and_preview_button(
    client, alice, site, every_engine_works, version
):
    client.force_login(alice)
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert 'name="voice"' in page and f'value="{ESPEAK}"' in page
    assert 'name="rate"' in page and 'min="0.75"' in page and 'max="1.5"' in page
    assert reverse("courses:version_voice_preview", args=[version.pk]) in page


# Storing the choice -----------------------------------------------------------------------


def test_render_stores_the_voice_and_the_job_renders_with_it(
    client, alice, site, version, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=False):
        response = render_post(client, version, voice=ESPEAK, rate="1.2")
    assert response.status_code == 302
    version.refresh_from_db()
    assert (version.voice_engine, version.voice_name) == ("espeak", "en-us")
    assert version.voice_rate == 1.2
    voice = render_settings_for(RenderJob.objects.get()).voice
    assert voice.engines_for("en")[0] == "espeak"
    assert (voice.voice, voice.rate) == ("en-us", 1.2)


def test_automatic_returns_to_the_site_default(client, alice, site, version):
    services.lesson_version_voice_set(
        version=version, user=alice, engine="espeak", voice="en-us", rate=1.2
    )
    client.force_login(alice)
    render_post(client, version, voice="", rate="1")
    version.refresh_from_db()
    assert (version.voice_engine, version.voice_name, version.voice_rate) == ("", "", 1.0)
    assert version_voice_settings(version) == voice_settings(language="en")


@pytest.mark.parametrize("choice", ["kokoro:jm_kumo", "piper:en_GB-nobody", "nonsense"])
def test_a_voice_not_offered_for_the_language_is_refused(client, alice, site, version, choice):
    client.force_login(alice)
    response = render_post(client, version, voice=choice, rate="1")
    assert any("Voice" in message for message in page_messages(response))
    version.refresh_from_db()
    assert (version.voice_engine, version.voice_name) == ("", "")
    assert not RenderJob.objects.exists()


@pytest.mark.parametrize("rate", ["0.7", "1.55", "1.03", "fast"])
def test_a_rate_out_of_bounds_is_refused(client, alice, site, version, rate):
    client.force_login(alice)
    response = render_post(client, version, voice=ESPEAK, rate=rate)
    assert any("Speaking rate" in message for message in page_messages(response))
    version.refresh_from_db()
    assert (version.voice_engine, version.voice_rate) == ("", 1.0)
    assert not RenderJob.objects.exists()


@pytest.mark.parametrize("rate", [0.75, 1.5])
def test_the_rate_bounds_themselves_are_allowed(client, alice, site, version, rate):
    client.force_login(alice)
    render_post(client, version, voice=ESPEAK, rate=str(rate))
    version.refresh_from_db()
    assert version.voice_rate == rate and RenderJob.objects.count() == 1


def test_try_again_without_voice_fields_keeps_the_voice(client, alice, site, version):
    services.lesson_version_voice_set(
        version=version, user=alice, engine="espeak", voice="en-us", rate=1.3
    )
    client.force_login(alice)
    render_post(client, version)  # the "Try again" form sends size and quality only
    version.refresh_from_db()
    assert (version.voice_engine, version.voice_rate) == ("espeak", 1.3)
    assert RenderJob.objects.count() == 1


def test_service_refuses_other_teachers(site, version, bob):
    with pytest.raises(PermissionDenied):
        services.lesson_version_voice_set(
            version=version, user=bob, engine="espeak", voice="en-us", rate=1.0
        )


def test_service_refuses_an_engine_without_a_voice(site, version, alice):
    with pytest.raises(ValidationError):
        services.lesson_version_voice_set(
            version=version, user=alice, engine="espeak", voice="", rate=1.0
        )


def test_a_submitted_version_keeps_its_voice(site, version, alice):
    version.status = VersionStatus.SUBMITTED
    version.save()
    with pytest.raises(ValidationError, match="keeps its voice"):
        services.lesson_version_voice_set(
            version=version, user=alice, engine="espeak", voice="en-us", rate=1.0
        )
    # Rendering it again with the voice it has is not a change.
    services.lesson_version_voice_set(version=version, user=alice, engine="", voice="", rate=1.0)
    assert RenderForm(version=version).fields["voice"].disabled


def test_the_voice_does_not_change_under_a_running_render(site, version, alice):
    RenderJob.objects.create(version=version, requested_by=alice, status=RenderStatus.RUNNING)
    with pytest.raises(ValidationError, match="being rendered"):
        services.lesson_version_voice_set(
            version=version, user=alice, engine="espeak", voice="en-us", rate=1.0
        )
    version.refresh_from_db()
    assert version.voice_engine == ""


def test_a_rendered_draft_may_change_its_voice(site, version, alice):
    finished_render(version, alice)
    services.lesson_version_voice_set(
        version=version, user=alice, engine="espeak", voice="en-us", rate=1.1
    )
    version.refresh_from_db()
    assert (version.voice_engine, version.voice_rate) == ("espeak", 1.1)


def test_a_forked_draft_keeps_the_voice(site, version, alice):
    services.lesson_version_voice_set(
        version=version, user=alice, engine="espeak", voice="en-us", rate=1.25
    )
    fork, _copies = services.lesson_version_fork(version=version, user=alice)
    assert (fork.voice_engine, fork.voice_name, fork.voice_rate) == ("espeak", "en-us", 1.25)


def test_render_panel_names_the_voice_of_the_latest_video(client, alice, site, version):
    job = finished_render(version, alice, output_dir="renders/1")
    job.manifest = {
        "settings": {"voice": {"voice": None, "rate": 1.25}},
        "scenes": [
            {"sentences": [{"engine": "espeak", "voice": "en-us"}]},
            {"sentences": [{"engine": "espeak", "voice": "en-us"}, {"engine": "piper",
                            "voice": "en_US-joe-medium"}]},
        ],
    }  # fmt: skip
    job.save()
    client.force_login(alice)
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert "narrated by eSpeak NG – en-us, Piper – en_US-joe-medium at rate 1.25" in page


# Previewing a voice ---------------------------------------------------------------------


def preview_url(version, **query) -> str:
    url = reverse("courses:version_voice_preview", args=[version.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def wav_bytes(response) -> bytes:
    return b"".join(response.streaming_content)


def test_preview_speaks_the_first_sentence_in_the_chosen_voice_and_rate(
    client, alice, site, version
):
    client.force_login(alice)
    normal = client.get(preview_url(version, voice=ESPEAK, rate="1"))
    assert normal.status_code == 200 and normal["Content-Type"] == "audio/wav"
    audio = wav_bytes(normal)
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    expected = narration_preview_wav(
        narration="Version control keeps the history of a project.",
        language="en",
        voice=voice_settings(language="en", engine="espeak", voice="en-us", rate=1.0),
    )
    assert audio == expected.read_bytes()
    faster = wav_bytes(client.get(preview_url(version, voice=ESPEAK, rate="1.5")))
    assert faster[:4] == b"RIFF" and len(faster) < len(audio)


def test_preview_is_cached_per_voice_and_rate(site, alice, version):
    sentence = voice_sample_sentence(version)
    one = voice_settings(language="en", engine="espeak", voice="en-us", rate=1.0)
    other = voice_settings(language="en", engine="espeak", voice="en-us", rate=1.2)
    first = narration_preview_wav(narration=sentence, language="en", voice=one)
    assert narration_preview_wav(narration=sentence, language="en", voice=one) == first
    assert narration_preview_wav(narration=sentence, language="en", voice=other) != first


def test_preview_refuses_a_voice_of_another_language(client, alice, site, version):
    client.force_login(alice)
    response = client.get(preview_url(version, voice="kokoro:jm_kumo"))
    assert response.status_code == 400 and response.json()["error"]


def test_preview_says_why_when_no_engine_speaks_the_language(client, alice, site, zh_version):
    site.LECTERN_TTS_ENGINES = ["espeak"]  # espeak no longer speaks Chinese
    client.force_login(alice)
    response = client.get(preview_url(zh_version))
    assert response.status_code == 503
    assert "No speech engine could speak" in response.json()["error"]


def test_preview_sentence_falls_back_to_a_sample_in_the_language(site, alice, course):
    lesson = services.lesson_create(course=course, title="空", created_by=alice, language="zh")
    version = lesson.versions.get()
    Scene.objects.create(version=version, position=0, kind="title", language="en",
                         narration="An English aside.")  # fmt: skip
    assert voice_sample_sentence(version) == SAMPLE_SENTENCES["zh"]


def test_other_teachers_and_students_cannot_preview(client, site, version, bob, sam):
    for user, status in ((bob, 404), (sam, 403)):
        client.force_login(user)
        assert client.get(preview_url(version)).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in_from_the_preview(client, site, version):
    response = client.get(preview_url(version))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_preview_accepts_get_only(client, alice, site, version):
    client.force_login(alice)
    assert client.post(preview_url(version)).status_code == 405


def test_scene_narration_preview_speaks_in_the_versions_voice(client, alice, site, version):
    site.LECTERN_TTS_ENGINES = ["espeak"]  # the site's default voice: espeak at rate 1
    services.lesson_version_voice_set(
        version=version, user=alice, engine="espeak", voice="en-us", rate=1.4
    )
    scene = version.scenes.get(position=2)
    client.force_login(alice)
    response = client.get(reverse("courses:scene_narration_preview", args=[scene.pk]))
    expected = narration_preview_wav(
        narration=scene.narration, language="en", voice=version_voice_settings(version)
    )
    assert wav_bytes(response) == expected.read_bytes()
    default = narration_preview_wav(narration=scene.narration, language="en")
    assert len(default.read_bytes()) > len(expected.read_bytes())  # rate 1.4 is shorter


# The voice in the render ------------------------------------------------------------------


def test_segment_keys_change_with_the_voice_and_only_with_it(site, alice, course, tmp_path):
    lesson = services.lesson_create(course=course, title="One", created_by=alice)
    version = lesson.versions.get()
    Scene.objects.create(version=version, position=0, kind="title", title="One",
                         narration="Plants need light.")  # fmt: skip

    def segments(rate: float, name: str) -> list[str]:
        services.lesson_version_voice_set(
            version=version, user=alice, engine="espeak", voice="en-us", rate=rate
        )
        job = RenderJob.objects.create(
            version=version, requested_by=alice, width_px=256, height_px=144, fps=10,
            quality="draft", status=RenderStatus.SUCCEEDED,
        )  # fmt: skip
        result = render(
            storyboard_from_version(version),
            tmp_path / name / "lesson.mp4",
            settings=render_settings_for(job),
            cache_dir=site.LECTERN_CACHE_DIR,
        )
        assert result.manifest_data["settings"]["voice"]["rate"] == rate
        return result.manifest_data["segments"]

    normal = segments(1.0, "a")
    assert segments(1.0, "b") == normal
    assert segments(1.2, "c")[2] != normal[2]  # the first scene (after the opening label)
