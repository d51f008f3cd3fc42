"""Risky work in a child process: results come back, limits stop it, nothing is left running."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from synthesis.sandbox import (
    SandboxError,
    SandboxMemoryError,
    SandboxTimeout,
    SandboxWorkError,
    run_limited,
)

GiB = 2**30


# The work runs in another interpreter, which imports these by name.
def child_pid_and_folder() -> tuple[int, str]:
    return os.getpid(), os.getcwd()


def write_pid_then_sleep(pid_file: str, seconds: float) -> str:
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "woke"


def allocate(size_bytes: int) -> int:
    return len(bytearray(size_bytes))


def refuse(message: str) -> None:
    raise ValueError(message)


class Unplain:
    pass


def unplain() -> Unplain:
    return Unplain()


def test_run_limited_returns_the_childs_result():
    pid, folder = run_limited(child_pid_and_folder, timeout_s=30, memory_bytes=GiB)

    assert pid != os.getpid()
    assert folder == "/"  # relative paths resolve against nothing of ours


def test_work_past_its_time_is_killed(tmp_path):
    pid_file = tmp_path / "pid"
    started = time.monotonic()

    with pytest.raises(SandboxTimeout, match="took more than 1 s"):
        run_limited(write_pid_then_sleep, str(pid_file), 60, timeout_s=1, memory_bytes=GiB)

    assert time.monotonic() - started < 5
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_work_past_its_memory_is_stopped():
    with pytest.raises(SandboxMemoryError, match="more than 512 MB"):
        run_limited(allocate, 2 * GiB, timeout_s=30, memory_bytes=GiB // 2)


def test_the_works_own_error_comes_back_with_its_type():
    with pytest.raises(SandboxWorkError, match="bad input") as raised:
        run_limited(refuse, "bad input", timeout_s=30, memory_bytes=GiB)

    assert raised.value.error_type == "ValueError"


def test_a_result_that_is_not_plain_data_is_refused():
    # A child taken over by hostile input must not make the parent unpickle objects.
    with pytest.raises(SandboxError, match="unusable"):
        run_limited(unplain, timeout_s=30, memory_bytes=GiB)


def sandboxed_pid(_: int) -> int:
    return run_limited(os.getpid, timeout_s=30, memory_bytes=GiB)


def test_run_limited_works_in_a_celery_prefork_pool_process():
    # Celery runs tasks in daemonic billiard processes, where multiprocessing cannot start
    # children; the sandbox must work there (renders rasterise SVGs in such a process).
    import billiard

    with billiard.Pool(1) as pool:
        (pid,) = pool.map(sandboxed_pid, [0])

    assert pid != os.getpid()
