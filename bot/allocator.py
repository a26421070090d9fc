"""Fewer malloc arenas for the long-running server: memory that levels off.

glibc gives each thread that allocates its own arena, up to 8 per core, and keeps what is freed
in each one. The server runs up to 64 listener threads (``bot.app.LISTENER_THREADS``) and the
outbox's workers, so every arena ends up holding its own freed pages: in the 10-minute soak
(``benchmarks.soak``, 33 cycles of fan-outs, answers and App Home) RSS went 83 -> 424 MiB and was
still growing 670 MiB an hour over the last half; with two arenas it went to 216 MiB and stayed
there (3 MiB an hour). Python's own small objects come from its arenas either way; this is the
rest (strings, JSON, SQLite's page cache, numpy). The same setting as ``MALLOC_ARENA_MAX=2``,
made from inside the process before its threads start, so it holds however the bot is launched.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

ARENAS = 2
M_ARENA_MAX = -8  # malloc.h


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` (``mallopt(M_ARENA_MAX)``); call it before the
    process starts threads. Leaves an explicit ``MALLOC_ARENA_MAX`` alone (glibc read it at
    start-up). False where it does not apply (not glibc, or the setting was refused)."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = getattr(libc, "mallopt", None)
        if mallopt is None or not hasattr(libc, "gnu_get_libc_version"):
            return False  # musl and others: their own allocators
        return bool(mallopt(M_ARENA_MAX, arenas))
    except OSError:  # pragma: no cover - no C library to load
        log.debug("could not load the C library to cap malloc arenas")
        return False
