"""Management commands: seed_demo is idempotent; run_lectern serves and stops every child."""

import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User
from tests.conftest import REPO_ROOT, free_port, subprocess_env


def test_seed_demo_twice_reports_nothing_new(db, capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    output = capsys.readouterr().out
    assert "Demo accounts created: demo-teacher" in output
    assert "Demo data already present; nothing changed." in output
    assert User.objects.filter(username__startswith="demo-").count() == 5


@pytest.mark.services
def test_run_lectern_serves_health_and_stops_every_child_on_ctrl_c(django_db_setup):
    var_dir = Path(tempfile.mkdtemp(prefix="lectern-run-"))
    port = free_port()
    env = subprocess_env()
    env.update(LECTERN_VAR_DIR=str(var_dir), LECTERN_REDIS_PREFIX=f"lectern-run-{port}")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_lectern", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not any("Lectern is running at" in line for line in lines):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
            report = json.load(response)

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(timeout=5)

    assert report["status"] == "ok", report
    assert "Lectern stopped." in "".join(lines)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert not (var_dir / "redis.sock").exists()
