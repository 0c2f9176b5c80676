"""CPython's cyclic garbage collector, kept off the hot paths (issue #18).

Reference counting frees almost everything these processes drop; the cyclic collector is only for cycles. But each
of its full collections walks every object alive, and a service holds about 150 000 from start-up alone (FastAPI's
routes, pydantic's schemas, the contracts). Measured in an enrolment process at 100 requests/s: a full collection
took 180-215 ms, every few seconds, and every request in flight waited for it: that was the p99. Two remedies:

- `freeze_startup_objects()`, once a process is built: what start-up made lives as long as the process, so the
  collector stops walking it (the same process's full collections then took 4-19 ms).
- `paused()` around work that makes many objects which live a little while and then all go: a projection's batch,
  a matching round. A collection in the middle would only walk them, find nothing to free and promote them, to be
  walked again by the next one.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_pauses = 0  # pauses in progress: overlapping batches in one event loop, rounds of several programs in threads
_lock = threading.Lock()
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block. Overlapping pauses nest: it is back on when the last one ends, and stays off
    if it was off before the first. Cycles made meanwhile are collected after that."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


def freeze_startup_objects() -> None:
    """Collect once, then move every object alive into the collector's permanent generation, which it never walks.
    For the end of a process's start-up: what it built by then is never garbage."""
    gc.collect()
    gc.freeze()
