"""Loaded only by `make test-future`, which runs the suite a year ahead under libfaketime.

`make test-future` puts this folder on PYTHONPATH, so every Python process of that run
(pytest, its workers, the gunicorn and CLI subprocesses tests start) imports it at start.

Debian's libfaketime (0.9.10) must be told to leave the monotonic clock alone
(FAKETIME_DONT_FAKE_MONOTONIC=1), or every timed wait on a lock or queue hangs. Left alone
that way, it breaks Python 3.11's time.sleep, which is clock_nanosleep(CLOCK_MONOTONIC,
TIMER_ABSTIME): libfaketime shifts the absolute deadline and the kernel answers EINVAL
(libfaketime issue 426). So here sleep waits with select(), whose timeout is relative and
which libfaketime passes through. Nothing else changes.
"""

import os
import select
import time

if os.environ.get("FAKETIME") and "libfaketime" in os.environ.get("LD_PRELOAD", ""):
    _monotonic = time.monotonic

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _monotonic() + seconds
        while (left := deadline - _monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
