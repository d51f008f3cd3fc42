"""Production settings (LECTERN_DEBUG=0), read in a fresh interpreter per environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

NAMES = [
    "SECURE_PROXY_SSL_HEADER",
    "LANGUAGE_COOKIE_SECURE",
    "LANGUAGE_COOKIE_HTTPONLY",
    "LANGUAGE_COOKIE_SAMESITE",
    "LECTERN_TEACHER_SIGNUP",
]


def production_settings(**env: str) -> dict:
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {NAMES!r}}}))"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lectern.settings",
        "LECTERN_DEBUG": "0",
        "LECTERN_SECRET_KEY": "x" * 50,
        **env,
    }
    environment.pop("LECTERN_TEACHER_SIGNUP", None)
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=environment, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_forwarded_proto_is_trusted_only_behind_a_declared_proxy():
    assert production_settings()["SECURE_PROXY_SSL_HEADER"] is None
    trusted = production_settings(LECTERN_TRUST_PROXY="1")["SECURE_PROXY_SSL_HEADER"]
    assert trusted == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_language_cookie_is_secure_http_only_and_lax_in_production():
    values = production_settings()
    assert values["LANGUAGE_COOKIE_SECURE"] is True
    assert values["LANGUAGE_COOKIE_HTTPONLY"] is True
    assert values["LANGUAGE_COOKIE_SAMESITE"] == "Lax"


def test_teacher_sign_up_needs_a_code_in_production_by_default():
    assert production_settings()["LECTERN_TEACHER_SIGNUP"] == "code"
    assert production_settings(LECTERN_TEACHER_SIGNUP="closed")["LECTERN_TEACHER_SIGNUP"] == (
        "closed"
    )
