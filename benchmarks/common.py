"""What every benchmark shares: the result table, repeats and medians, process probes
(/proc CPU time and RSS), loopback ports, and the two servers measured (``icp-bot run
--http`` and the bare bolt app of the floor) started as child processes."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SECRET = "benchmark-signing-secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the table ---------------------------------------------------------------------------


@dataclass
class Row:
    """One line of a benchmark's table: ICP Align's figure beside its floor's.

    ``lower_is_better`` says how the ratio reads; ``passed`` is the target's verdict
    (None where the row has no target of its own)."""

    what: str
    value: float | None
    floor: float | None
    unit: str
    target: str
    passed: bool | None
    note: str = ""
    lower_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.floor is None or self.floor == 0:
            return None
        return self.value / self.floor


@dataclass
class Table:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headers: tuple[str, str] = ("ICP Align", "floor")  # the two columns compared

    def add(self, *args, **kwargs) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def render(self) -> str:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        lines = [f"### {self.title}", "",
                 f"| what | {self.headers[0]} | {self.headers[1]} | ratio | target | pass |",
                 "| --- | --- | --- | --- | --- | --- |"]
        for r in self.rows:
            verdict = {True: "pass", False: "FAIL", None: "-"}[r.passed]
            ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
            lines.append(f"| {r.what} | {fmt(r.value, r.unit)} | {fmt(r.floor, r.unit)} | {ratio} "
                         f"| {r.target} | {verdict} |")
        notes = [f"- {r.what}: {r.note}" for r in self.rows if r.note] + [f"- {n}" for n in self.notes]
        notes.append(f"- load average (1, 5, 15 min) when the table was printed: {load}")
        lines += [""] + notes
        return "\n".join(lines) + "\n"


def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit in ("", "count"):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    if unit == "s" and value < 1:
        return f"{value:.3f} s"
    if unit in ("/s", "MiB", "s"):
        return f"{value:,.1f} {unit}".replace(" /s", "/s")
    if unit == "ms":
        return f"{value:.2f} ms"
    return f"{value:g} {unit}"


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(present) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), nearest-rank; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--repeat", type=int, default=3, help="runs per figure; the table shows medians (default 3)")
    p.add_argument("--database-url", default=None,
                   help="PostgreSQL URL (an existing database; tables are created) instead of a fresh SQLite file")
    p.add_argument("--quick", action="store_true", help="tiny sizes, one run: a smoke test, not a measurement")
    return p


def machine() -> str:
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.strip()
    return (f"nproc: {os.cpu_count()}; python {sys.version.split()[0]}; {sys.platform}\n"
            f"free -h:\n{mem}")


# -- processes ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` now (VmRSS), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def settle_cpu(pid: int, quiet: float = 0.005, interval: float = 0.1, limit: float = 10.0) -> float:
    """CPU seconds of ``pid`` once it has gone quiet (less than ``quiet`` s of CPU in an
    ``interval``), so that work done after the last ack (listeners still running) counts."""
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = cpu_seconds(pid)
        if now - last < quiet:
            return now
        last = now
    return last


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    """Until the server on ``port`` listens and is ready: ``icp-bot run --http`` listens before
    its database is migrated and its listeners wired (bot.startup), and holds requests until
    then, so a signed url_verification (answered by bolt itself) returns once it is ready."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {HOST}:{port} after {timeout} s") from None
            time.sleep(0.01)
    from tests.fakeslack import sign

    body = json.dumps({"type": "url_verification", "token": "t", "challenge": "ready"})
    request = urllib.request.Request(f"http://{HOST}:{port}/slack/events", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json", **sign(SECRET, body)})
    with urllib.request.urlopen(request, timeout=max(1.0, deadline - time.monotonic())) as answer:  # noqa: S310
        if answer.status != 200:
            raise RuntimeError(f"the server on {port} answered {answer.status} when ready")


def icp_bot_command() -> list[str]:
    """``icp-bot`` as installed next to this interpreter, else ``python -m bot.cli``."""
    script = Path(sys.executable).with_name("icp-bot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def bot_env(api_url: str, database_url: str, token: str = "xoxb-test") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "ICP_"))}
    env.update(SLACK_BOT_TOKEN=token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api_url,
               DATABASE_URL=database_url, ICP_LOG_LEVEL="WARNING",
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    return env


def byte_compile_project() -> None:
    """Byte-compile the project's packages, as ``pip install`` does: with PYTHONDONTWRITEBYTECODE
    set (as in some shells and containers) an editable install would otherwise compile every
    module it imports from source on each start, which a deployed bot or CLI does not pay."""
    import compileall

    for package in ("bot", "storage", "survey", "benchmarks"):
        compileall.compile_dir(ROOT / package, quiet=1)


def start_icp_bot(port: int, api_url: str, database_url: str, workdir: Path,
                  extra: Sequence[str] = ()) -> subprocess.Popen:
    """``icp-bot run --http`` on 127.0.0.1:``port`` (run in ``workdir``, so no stray .env is read)."""
    log = open(workdir / f"icp-bot-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([*icp_bot_command(), "run", "--http", "--host", HOST, "--port", str(port), *extra],
                            env=bot_env(api_url, database_url), cwd=workdir, stdout=log, stderr=log)


def start_bare_app(port: int, api_url: str, workdir: Path) -> subprocess.Popen:
    """The floor: a bare bolt app under the same uvicorn and threaded handler (``benchmarks._bare_app``)."""
    log = open(workdir / f"bare-{port}.log", "wb")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "benchmarks._bare_app", "--port", str(port)],
                            env=bot_env(api_url, "sqlite://"), cwd=workdir, stdout=log, stderr=log)


def stop(*procs: subprocess.Popen, timeout: float = 10.0, graceful: bool = True) -> None:
    """SIGINT (uvicorn's graceful stop; SIGKILL when not ``graceful``: quick runs) to each of
    ``procs`` at once, then SIGKILL to those still running after ``timeout``. Only the
    processes given, by their own pid."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT if graceful else signal.SIGKILL)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def log_tail(workdir: Path, pattern: str = "*.log", lines: int = 20) -> str:
    out = []
    for path in sorted(workdir.glob(pattern)):
        text = path.read_text(errors="replace").splitlines()[-lines:]
        if text:
            out.append(f"--- {path.name}\n" + "\n".join(text))
    return "\n".join(out)
