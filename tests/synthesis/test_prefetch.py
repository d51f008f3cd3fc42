"""prefetched(): items in order from a background thread, errors raised, producer stopped."""

import threading
import time

import pytest

from synthesis.prefetch import prefetched


def test_it_yields_every_item_in_order():
    assert list(prefetched(iter(range(50)), depth=2)) == list(range(50))


def test_it_produces_on_another_thread():
    def producer_threads():
        for _ in range(3):
            yield threading.current_thread().name

    names = list(prefetched(producer_threads()))

    assert names == ["prefetch"] * 3


def test_it_raises_the_producers_error_after_the_items_before_it():
    def failing():
        yield 1
        yield 2
        raise ValueError("frame 3 is broken")

    received = []
    with pytest.raises(ValueError, match="frame 3 is broken"):
        for item in prefetched(failing()):
            received.append(item)

    assert received == [1, 2]


def test_it_stops_the_producer_when_the_consumer_stops_early():
    produced = []
    finished = threading.Event()

    def endless():
        try:
            count = 0
            while True:
                produced.append(count)
                yield count
                count += 1
        finally:
            finished.set()

    items = prefetched(endless(), depth=1)
    assert next(items) == 0
    items.close()

    assert finished.wait(timeout=5), "the producer generator was not closed"
    count_after_close = len(produced)
    time.sleep(0.3)
    assert len(produced) == count_after_close
    # At most one item ahead of the one consumed, plus the one being produced.
    assert count_after_close <= 3


def test_it_stays_at_most_depth_items_ahead():
    produced = []

    def counting():
        for number in range(100):
            produced.append(number)
            yield number

    items = prefetched(counting(), depth=2)
    assert next(items) == 0
    time.sleep(0.3)  # let the producer run as far ahead as it may

    # Item 0 consumed, items 1-2 queued, item 3 made and waiting for room.
    assert len(produced) <= 4
    items.close()
