"""The server caps glibc's malloc arenas before its threads start (bot.allocator)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# 16 threads each allocate; glibc's malloc_info lists one <heap> per arena in use
PROBE = r"""
import ctypes, sys, tempfile, threading
from bot.allocator import limit_malloc_arenas
if sys.argv[1] == "run":  # icp-bot run, stopped by its first check (after the cap, before any thread)
    import argparse
    from bot.commands.run import run
    print(run(argparse.Namespace(oauth=False, http=True, housekeeping_interval=0)) == 2)
else:
    print(limit_malloc_arenas() if sys.argv[1] == "cap" else "-")
ready, done = threading.Barrier(17), threading.Event()
def work():
    kept = [bytearray(256) for _ in range(2000)]
    ready.wait(); done.wait()
threads = [threading.Thread(target=work) for _ in range(16)]
for t in threads: t.start()
ready.wait()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
path = tempfile.mktemp()
fp = ctypes.c_void_p(libc.fopen(path.encode(), b"w"))
libc.malloc_info(0, fp); libc.fclose(fp)
done.set()
print(open(path).read().count("<heap nr="))
"""


def _arenas(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                         env=env, timeout=60).stdout.split()
    return out[0], int(out[1])


def _glibc() -> bool:
    import ctypes

    return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc only")
def test_the_cap_keeps_threads_to_two_arenas_where_they_would_get_many():
    import os

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    _, uncapped = _arenas("none", env)
    capped_said, capped = _arenas("cap", env)
    assert uncapped > 2  # without it each thread gets its own (up to 8 a core)
    assert capped_said == "True" and capped <= 2


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc only")
def test_an_explicit_malloc_arena_max_is_left_to_glibc():
    import os

    env = {**os.environ, "MALLOC_ARENA_MAX": "4"}
    said, arenas = _arenas("cap", env)
    assert said == "False" and 2 < arenas <= 4


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc only")
def test_icp_bot_run_caps_the_arenas_before_anything_else():
    import os

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    stopped, arenas = _arenas("run", env)
    assert stopped == "True" and arenas <= 2
