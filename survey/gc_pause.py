"""The cyclic garbage collector paused while a large report is read or computed.

Reading 100,000 rows piles up a few million lists, tuples and dicts that form no reference
cycles; each collection of the oldest generation walks all of them again, and that was a fifth
of reading a spreadsheet and an eighth of computing its report. Reference counting still frees
everything as usual; only the search for cycles waits until the work is done. Nested or
concurrent pauses leave the collector as the outermost one found it."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def collector_paused() -> Iterator[None]:
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def with_collector_paused(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` run inside ``collector_paused``."""

    @functools.wraps(func)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with collector_paused():
            return func(*args, **kwargs)

    return paused
