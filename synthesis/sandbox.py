"""Run one risky step in a child process with a wall-clock limit and a memory limit.

Rasterising a hostile SVG or drawing a hostile PDF page can take minutes or gigabytes, and
resvg aborts the whole process when an allocation fails. `run_limited` runs such a step in
a fresh Python child: it is killed when it passes its time, an address-space rlimit stops
it before it takes the machine's memory, and the caller gets a `SandboxError` to turn into
a message. Work and results travel through pipes, so a killed child leaves no files.

A fresh interpreter (`python -m synthesis.sandbox`), not multiprocessing: forking a
threaded process (daphne, the render's prefetch threads) can leave the child stuck on a
lock another thread held, and a Celery prefork worker's daemonic billiard process can
start no multiprocessing child at all (tried: "daemonic processes are not allowed to have
children", then billiard refuses to pickle its authkey). The price is the child's start:
about 0.05 s with `-S` and a work module that imports only what it needs (0.3 s for one
that imports Pillow), measured on the 2-core development machine.
"""

from __future__ import annotations

import ctypes
import io
import os
import pickle
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from synthesis.errors import SynthesisError

Result = TypeVar("Result")

_PR_SET_PDEATHSIG = 1
_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_STDERR_TAIL_CHARS = 400


class SandboxError(SynthesisError):
    """The child process could not finish its work within its limits."""


class SandboxTimeout(SandboxError):
    """The work took longer than its wall-clock limit; the child was killed."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"took more than {timeout_s:g} s")
        self.timeout_s = timeout_s


class SandboxMemoryError(SandboxError):
    """The work needed more memory than its limit (or crashed, as resvg does when out of it)."""

    def __init__(self, memory_bytes: int, detail: str) -> None:
        super().__init__(f"needed more than {memory_bytes / 2**20:.0f} MB of memory ({detail})")
        self.memory_bytes = memory_bytes


class SandboxWorkError(SandboxError):
    """The work itself raised; error_type names its exception class, message its text."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def run_limited(
    func: Callable[..., Result],
    *args: Any,
    timeout_s: float,
    memory_bytes: int,
    **kwargs: Any,
) -> Result:
    """func(*args, **kwargs) in a child process, and its result.

    func must be a module-level function (the child imports its module: keep it lean), its
    arguments must pickle, and its result must be plain data (bytes, str, numbers, lists,
    tuples, dicts): the parent refuses any other type, so a child that hostile input took
    over cannot run code here. timeout_s counts
    from the child's start. Raises SandboxTimeout, SandboxMemoryError (the address space
    would pass memory_bytes), or SandboxWorkError for an exception func raised.
    """
    request = io.BytesIO()
    pickle.dump((func, args, kwargs), request)
    cpu_s = int(2 * timeout_s) + 5
    child = subprocess.Popen(
        # -S: no site module (0.1 s here); the child gets our sys.path through PYTHONPATH.
        [sys.executable, "-S", "-m", __name__, str(memory_bytes), str(cpu_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd="/",  # nothing the work does may resolve a relative path against our folder
        env={**os.environ, "PYTHONPATH": os.pathsep.join([_PROJECT_ROOT, *sys.path])},
    )
    try:
        answer, errors = child.communicate(request.getvalue(), timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise SandboxTimeout(timeout_s) from None
    finally:
        # Also on KeyboardInterrupt or a cancelled task: never leave the child running.
        if child.poll() is None:
            child.kill()
            child.communicate()
    return _result(answer, errors, child.returncode, memory_bytes)


def _result(answer: bytes, errors: bytes, returncode: int, memory_bytes: int) -> Any:
    if returncode == 0 and answer:
        try:
            status, *values = _PlainUnpickler(io.BytesIO(answer)).load()
        except (pickle.UnpicklingError, EOFError, ValueError) as error:
            raise SandboxError(f"the child process sent an unusable answer ({error})") from error
        if status == "ok":
            return values[0]
        if status == "memory":
            raise SandboxMemoryError(memory_bytes, "out of memory")
        raise SandboxWorkError(*values)
    stderr = errors.decode("utf-8", "replace")
    if returncode < 0:
        detail = f"stopped by {signal.Signals(-returncode).name}"
    else:
        detail = f"exit code {returncode}"
    if returncode == -signal.SIGXCPU:
        raise SandboxError(f"used too much processor time ({detail})")
    if returncode == -signal.SIGABRT or "memory allocation" in stderr or "MemoryError" in stderr:
        raise SandboxMemoryError(memory_bytes, detail)
    raise SandboxError(f"the child process failed ({detail}): {stderr[-_STDERR_TAIL_CHARS:]}")


class _PlainUnpickler(pickle.Unpickler):
    """Loads only built-in data; any class or function in the stream is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"the child process sent a {module}.{name}")


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: RLIMIT_CPU still ends a forgotten child


def _child_main() -> None:
    memory_bytes, cpu_s = (int(value) for value in sys.argv[1:3])
    _die_with_parent()
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # A backstop for when the caller dies without killing this child.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not reach the pipe
    try:
        func, args, kwargs = pickle.load(sys.stdin.buffer)
        answer: tuple = ("ok", func(*args, **kwargs))
    except MemoryError:
        answer = ("memory",)
    except Exception as error:  # noqa: BLE001 - passed to the caller as SandboxWorkError
        answer = ("error", type(error).__name__, str(error))
    try:
        data = pickle.dumps(answer)
    except MemoryError:
        data = pickle.dumps(("memory",))
    except Exception as error:  # noqa: BLE001 - a result that is not plain data
        data = pickle.dumps(("error", type(error).__name__, f"unusable result: {error}"))
    answers.write(data)
    answers.close()


if __name__ == "__main__":
    _child_main()
