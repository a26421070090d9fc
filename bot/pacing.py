"""Pacing for fan-out: send at the rate Slack allows instead of hammering and retrying.

A token bucket per key (e.g. "chat.postMessage" for a workspace): ``wait()`` blocks until a
token is free. Slack allows chat.postMessage about one message per second per channel with
a workspace-wide cap of several hundred a minute; every DM is its own channel, so the
workspace cap is the one that binds during a fan-out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate_per_second
        self.burst = burst
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def wait(self) -> float:
        """Take one token, sleeping until one is available; returns the time slept."""
        slept = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return slept
                delay = (1 - self._tokens) / self.rate
            self._sleep(delay)
            slept += delay


class Pacer:
    """One bucket per key, created on first use with the default rate."""

    def __init__(self, rate_per_second: float = 4.0, burst: int = 20):
        self.rate = rate_per_second
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
        return bucket.wait()
