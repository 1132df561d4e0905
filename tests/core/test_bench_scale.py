"""``benchmarks.scale --keep``: a grown history is kept, reused and grown on, on SQLite and in a kept cluster."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import pytest

from benchmarks.scale import KeptHistory, grow
from bot.store import open_database
from bot.store.sql import scalar
from testing.postgres import Cluster, kept_cluster


def messages(target: Path | str) -> int:
    db = open_database(target)
    try:
        return int(scalar(db, "select count(*) from messages"))
    finally:
        db.close()


def test_a_kept_sqlite_history_is_reused_and_grown_on_from_where_it_stopped(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        first = KeptHistory.open(tmp_path, "sqlite", stack)
        assert first.have == 0
        grow(first.target, first.end, first.have, 30, first.rng)
        first.grown_to(30)
    with contextlib.ExitStack() as stack:
        again = KeptHistory.open(tmp_path, "sqlite", stack)
        assert (again.target, again.have, again.end) == (first.target, 30, first.end)
        assert again.rng.getstate() == first.rng.getstate()  # grows on as one run would have
        grow(again.target, again.end, again.have, 50, again.rng)
        assert messages(again.target) == 50


@pytest.mark.postgres
def test_a_kept_cluster_is_started_again_with_its_databases(postgres_cluster: Cluster) -> None:
    root = Path(tempfile.mkdtemp(prefix="agora-pg-kept-", dir="/tmp"))  # the server's user must reach it
    try:
        with kept_cluster(root) as cluster:
            url = cluster.create_database(prefix="kept")
            db = open_database(url)
            db.execute("insert into networks (name, join_code) values ('demo', 'X')")
            db.close()
        with kept_cluster(root) as cluster:
            db = open_database(cluster.url(url.rsplit("/", 1)[1]))
            assert scalar(db, "select name from networks") == "demo"
            db.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
