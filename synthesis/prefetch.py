"""Run an iterator on a background thread, a few items ahead of its consumer.

A scene's frames are composed by OpenCV (which releases the GIL while it warps) and
encoded by x264 (which runs in its own threads), so composing the next batch while the
encoder works on this one keeps a second core busy even when only one scene is rendered
(measured on a 20 s moving 720p scene: 15.4 s -> 10.4 s wall, the same CPU time).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

Item = TypeVar("Item")
_DONE = object()
# How often a blocked producer looks whether the consumer has gone away.
_POLL_S = 0.1


def prefetched(items: Iterator[Item], *, depth: int = 1) -> Iterator[Item]:
    """Yield what items yields, produced on a thread that stays at most depth items ahead.

    An exception in the producer is raised here, at the item where it happened. When the
    consumer stops early (it raised, or closed this generator), the producer stops at its
    next item, so nothing keeps running or holding memory after a failed or cancelled job.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def offer(item: object) -> bool:
        while not stopped.is_set():
            try:
                ready.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(_Failure(exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's finally blocks run here, on its own thread
        offer(_DONE)

    producer = threading.Thread(target=produce, name="prefetch", daemon=True)
    producer.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stopped.set()
        producer.join()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
