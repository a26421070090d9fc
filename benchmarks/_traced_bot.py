"""Diagnostic only (the soak's ``--trace DIR``): ``icp-bot`` with ``tracemalloc``, started by the
first SIGUSR1 (tracing the imports makes start-up take minutes) and writing a snapshot on each, so memory that grows under traffic can be told apart from a heap that
stays flat while glibc's arenas or Python's own pools hold on to freed memory.

``python -m benchmarks._traced_bot DIR run --http ...``: the arguments after DIR are
``icp-bot``'s. On SIGUSR1 (the first one starts tracing: its snapshot holds only what the
writer itself allocated, so what a later snapshot holds is what traffic left alive), ``DIR/snap-N.pickle`` (a ``tracemalloc.Snapshot``) and
``DIR/snap-N.json`` (Python heap traced, glibc's ``mallinfo2``, SQLite's memory, RSS by kind, pools, threads,
live objects by type)
are written, N counting from 0, the JSON last (the soak waits for it). Never used by the bot
itself: nothing in ``bot/`` imports it, and tracing slows every allocation down.
"""

from __future__ import annotations

import ctypes
import gc
import json
import signal
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

FRAMES = 12


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def mallinfo() -> dict[str, int] | None:
    """glibc's view of its heap (bytes): ``arena`` obtained with sbrk/arenas, ``hblkhd`` in
    mmapped blocks, ``uordblks`` in use, ``fordblks`` free but kept. None off glibc (< 2.33)."""
    try:
        fn = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    info = fn()
    return {name: int(getattr(info, name)) for name, _ in _MallInfo2._fields_}


def sqlite_memory() -> int | None:
    """Bytes SQLite holds (its page caches above all; malloc'd by C, so never traced)."""
    try:
        fn = ctypes.CDLL("libsqlite3.so.0").sqlite3_memory_used
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_int64
    return int(fn())


def proc_status() -> dict[str, int]:
    """RSS split as the kernel counts it (kB): anonymous memory, mapped files, shared memory."""
    with open("/proc/self/status") as f:
        return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f)
                if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem")}


def pools() -> list[dict[str, int]]:
    """Every SQLAlchemy pool's connections (each SQLite connection has its own page cache)."""
    from sqlalchemy.pool import QueuePool

    return [{"size": p.size(), "checkedin": p.checkedin(), "overflow": p.overflow()}
            for p in gc.get_objects() if isinstance(p, QueuePool)]


def write(out: Path, index: int) -> None:
    snapshot = tracemalloc.take_snapshot()
    snapshot.dump(str(out / f"snap-{index}.pickle"))
    traced, peak = tracemalloc.get_traced_memory()
    types = Counter(type(o).__qualname__ for o in gc.get_objects())
    facts = {"index": index, "time": time.time(), "traced": traced, "peak": peak,
             "tracemalloc_overhead": tracemalloc.get_tracemalloc_memory(), "mallinfo": mallinfo(),
             "sqlite_memory": sqlite_memory(), "status": proc_status(), "pools": pools(),
             "threads": sorted(t.name for t in threading.enumerate()), "gc_objects": sum(types.values()),
             "types": dict(types.most_common(60))}
    part = out / f"snap-{index}.json.part"
    part.write_text(json.dumps(facts, indent=1))
    part.rename(out / f"snap-{index}.json")


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    asked = threading.Semaphore(0)

    def writer() -> None:  # off the signal handler: the event loop keeps acking meanwhile
        index = 0
        while True:
            asked.acquire()
            if not tracemalloc.is_tracing():
                tracemalloc.start(FRAMES)
            write(out, index)
            index += 1

    threading.Thread(target=writer, name="traced-bot-writer", daemon=True).start()
    signal.signal(signal.SIGUSR1, lambda *_: asked.release())
    from bot.cli import main as icp_bot

    return icp_bot(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
