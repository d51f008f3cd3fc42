"""The render process keeps big buffers in their own mappings (glibc)."""

import ctypes
import ctypes.util

import numpy as np
import pytest

from synthesis.memory import return_large_buffers_to_the_os


@pytest.mark.skipif(ctypes.util.find_library("c") is None, reason="no C library found")
def test_a_freed_big_buffer_is_returned_to_the_os():
    import psutil

    assert return_large_buffers_to_the_os() is True
    process = psutil.Process()
    # Freeing an mmapped 30 MB buffer would raise glibc's default threshold above the
    # 6 MB buffers made next (an RGB batch is 8 MB), which would then stay in the heap.
    np.ones(30_000_000, dtype=np.uint8)
    before = process.memory_info().rss
    buffers = [np.ones(6_000_000, dtype=np.uint8) for _ in range(10)]
    newest = buffers[-1]  # kept, so a heap could not shrink from its top either
    del buffers

    # Only the kept buffer remains (60 MB would remain without the setting).
    assert process.memory_info().rss - before < 15_000_000
    assert newest.size == 6_000_000
