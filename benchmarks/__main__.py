"""``python -m benchmarks``: every benchmark in turn (``--quick`` for a smoke run), then the
machine they ran on. Options other than --quick, --repeat and --database-url are each
benchmark's own: run it alone to pass them."""

from __future__ import annotations

import argparse
import os

from benchmarks import fanout, replicas, report, startup, survey_steps, workspaces
from benchmarks.common import machine

BENCHMARKS = {"survey_steps": survey_steps, "fanout": fanout, "report": report, "startup": startup,
              "replicas": replicas, "workspaces": workspaces}  # these two say so and skip without PostgreSQL


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeat", type=int, default=None)
    p.add_argument("--database-url", default=None)
    p.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    args = p.parse_args(argv)
    forwarded = (["--quick"] if args.quick else []) + (["--repeat", str(args.repeat)] if args.repeat else [])
    for name in args.only.split(","):
        module = BENCHMARKS[name]
        extra = ["--database-url", args.database_url] if args.database_url and name != "report" else []
        module.main(forwarded + extra)
    print(machine())
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
