"""Every request has an id: in the response, and in every log line written while it runs
(as text, or as JSON lines); a worker's log lines name their job."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from lectern.celery import task_job_id
from lectern.logging import TEXT_FORMAT, JsonFormatter, RequestIdFilter, bind_job
from lectern.request_id import HEADER, RequestIdMiddleware
from tests.conftest import REPO_ROOT


@pytest.fixture
def captured():
    """Records of the 'lectern.test' logger, formatted as text and as JSON."""
    stream_text, stream_json = io.StringIO(), io.StringIO()
    handlers = []
    for stream, formatter in (
        (stream_text, logging.Formatter(TEXT_FORMAT)),
        (stream_json, JsonFormatter()),
    ):
        handler = logging.StreamHandler(stream)
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(formatter)
        handlers.append(handler)
    logger = logging.getLogger("lectern.test")
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, stream_text, stream_json
    for handler in handlers:
        logger.removeHandler(handler)


def logging_view(logger):
    def view(request):
        logger.info("inside the view")
        return HttpResponse("ok")

    return view


def test_each_request_gets_a_new_id_in_the_response_and_its_log_lines(captured):
    logger, text, as_json = captured
    middleware = RequestIdMiddleware(logging_view(logger))

    first = middleware(RequestFactory().get("/"))
    second = middleware(RequestFactory().get("/"))

    assert first[HEADER] != second[HEADER] and len(first[HEADER]) == 32
    lines = [json.loads(line) for line in as_json.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == [first[HEADER], second[HEADER]]
    assert lines[0]["message"] == "inside the view" and lines[0]["level"] == "INFO"
    assert f"[request={first[HEADER]} job=-] inside the view" in text.getvalue()


def test_a_proxys_request_id_is_kept_and_a_forged_one_replaced(captured):
    logger, _text, _json = captured
    middleware = RequestIdMiddleware(logging_view(logger))

    kept = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="a1b2c3-proxy"))
    forged = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="x\n2026 ERROR fake line"))

    assert kept[HEADER] == "a1b2c3-proxy"
    assert "\n" not in forged[HEADER] and len(forged[HEADER]) == 32


def test_log_lines_outside_a_request_say_so(captured):
    logger, text, _json = captured
    logger.info("no request here")
    assert "[request=- job=-] no request here" in text.getvalue()


def test_log_lines_of_a_job_name_it_also_from_its_threads(captured):
    import threading

    logger, _text, as_json = captured
    with bind_job("render-42"):
        logger.info("rendering")
        thread = threading.Thread(target=lambda: logger.info("heartbeat"))  # empty context
        thread.start()
        thread.join()
    logger.info("after")

    lines = [json.loads(line) for line in as_json.getvalue().splitlines()]
    assert [line["job_id"] for line in lines] == ["render-42", "render-42", "-"]


def test_json_lines_carry_the_traceback(captured):
    logger, _text, as_json = captured
    try:
        raise ValueError("broken")
    except ValueError:
        logger.exception("it failed")
    line = json.loads(as_json.getvalue())
    assert line["message"] == "it failed" and "ValueError: broken" in line["exception"]


def test_task_job_ids_name_the_render_job_or_import():
    assert task_job_id("courses.tasks.render_lesson_version", "t1", (42,)) == "render-42"
    assert task_job_id("courses.tasks.import_lesson_file", "t2", ("abc",)) == "import-abc"
    assert task_job_id("lectern.tasks.ping", "t3", ()) == "task-t3"


def test_the_site_answers_with_a_request_id(client, db):
    response = client.get("/healthz")
    assert len(response[HEADER]) == 32


def test_lectern_log_format_json_makes_a_process_log_json_lines():
    script = "import django, logging; django.setup(); logging.getLogger('x').warning('hello')"
    env = {**os.environ, "LECTERN_LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "lectern.settings"}

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )

    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert (line["message"], line["level"], line["request_id"]) == ("hello", "WARNING", "-")
