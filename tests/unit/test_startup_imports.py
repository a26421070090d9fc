"""What `icp-bot run` imports before it can ack: not the numeric stack nor Alembic.

numpy and scipy (pulled in by survey's report modules) are most of the bot's start-up time and
a third of its idle memory; the listeners import them where a report is built, not at start-up.
Alembic is only imported when the database is behind (``Database.upgrade_if_behind``)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "scipy", "matplotlib", "krippendorff", "kmodes", "alembic", "cryptography")


def test_the_server_path_imports_no_numeric_stack_and_no_alembic():
    code = ("import json, sys; import bot.app, bot.server, bot.housekeeping, bot.scheduler, bot.cli; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []
