"""Log records that say which request or job they belong to, as text or as JSON lines.

`RequestIdFilter` (on the console handler) stamps every record with `request_id` and
`job_id` from the current context ("-" when there is none); `lectern.request_id` sets the
first for each web request and `bind_job` the second while a worker runs a task.
LECTERN_LOG_FORMAT=json selects `JsonFormatter`: one JSON object a line, for log collectors.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
job_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("job_id", default="-")
# A worker's pool process runs one task at a time, and threads it starts (the render's
# heartbeat, the speech pool) begin with an empty context: they fall back to this.
_process_job_id = "-"

TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [request=%(request_id)s job=%(job_id)s] %(message)s"
)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` and `job_id` to every record that passes (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "job_id"):
            job_id = job_id_var.get()
            record.job_id = job_id if job_id != "-" else _process_job_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the ids, and
    the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "job_id": getattr(record, "job_id", "-"),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def start_job(job_id: object) -> tuple[contextvars.Token, str]:
    """From now on every log line of this process names `job_id` (e.g. "render-42");
    hand the result to end_job when the job ends."""
    global _process_job_id
    previous, _process_job_id = _process_job_id, str(job_id)
    return job_id_var.set(str(job_id)), previous


def end_job(started: tuple[contextvars.Token, str]) -> None:
    global _process_job_id
    token, _process_job_id = started
    job_id_var.reset(token)


@contextmanager
def bind_job(job_id: object) -> Iterator[None]:
    """Within the block, every log line of this process names `job_id`."""
    started = start_job(job_id)
    try:
        yield
    finally:
        end_job(started)


def logging_config(*, level: str, log_format: str) -> dict:
    """The LOGGING setting: the console handler with the ids, as text or JSON."""
    formatter = (
        {"()": "lectern.logging.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"ids": {"()": "lectern.logging.RequestIdFilter"}},
        "formatters": {"lectern": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["ids"],
                "formatter": "lectern",
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }
