"""Request waits behind reports, for two versions of the bot on one kept history, interleaved.

On a shared machine the load changes from minute to minute, so "before" and "after" figures
taken an hour apart compare the load, not the code. This runs :func:`benchmarks.scale.measure_bot`
against one database that ``agora bench scale`` (or anything else) grew, alternating the bot's
code between the given source trees (each put first on ``PYTHONPATH`` of the bot process; e.g.
``git archive <commit> | tar -x -C /tmp/before``), and prints one JSON line per run with the
machine's 1-minute load average when it began. Run:
``python -m benchmarks.waits_compare --database PATH_OR_URL --code /tmp/before --code . [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.scale import measure_bot


def measure_with(code: Path, database: str) -> dict[str, Any]:
    """One run of the bot from ``code`` against ``database``."""
    workdir = Path(tempfile.mkdtemp(prefix="agora-bench-waits-"))
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(code)
    try:
        load = os.getloadavg()[0]
        figures = measure_bot(workdir, database)
        return {"code": str(code), "load1": round(load, 2), **figures}
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", required=True, help="a SQLite path or a postgresql:// URL, already grown")
    parser.add_argument("--code", action="append", type=Path, required=True, help="a source tree (repeat)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    codes = [code.resolve() for code in args.code]
    database = args.database if "://" in args.database else str(Path(args.database).resolve())
    os.chdir(tempfile.gettempdir())  # the bot runs `-m bot.cli`: the current directory must not hold a bot/
    for _ in range(args.runs):
        for code in codes:
            print(json.dumps(measure_with(code, database)), flush=True)
