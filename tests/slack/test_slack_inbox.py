"""The inbox that holds acknowledged Slack events until the core has them (two replicas, one database)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from adapters.slack.inbox import MAX_ATTEMPTS, Inbox
from bot.store import open_database
from bot.store.leases import as_database
from testing.clock import ManualClock

BODY = {"type": "event_callback", "event_id": "Ev1", "team_id": "T1", "event": {"type": "message", "text": "hi"}}


def replicas(tmp_path: Path, first: str = "host-a:1:aa") -> tuple[Inbox, Inbox, ManualClock]:
    clock = ManualClock()
    a = Inbox(as_database(open_database(tmp_path / "agora.db")), first, clock)
    b = Inbox(as_database(open_database(tmp_path / "agora.db")), "host-b:2:bb", clock)
    a.create()
    b.create()
    return a, b, clock


def test_a_row_left_behind_is_taken_over_once_after_it_went_stale(tmp_path: Path) -> None:
    a, b, clock = replicas(tmp_path)
    a.keep("Ev1", "T1", BODY)
    a.keep("Ev1", "T1", BODY)  # Slack's redelivery keeps the first row
    assert b.take_over(stale_after=30) == []  # a is still on it
    clock.now += 31
    (kept,) = b.take_over(stale_after=30)
    assert (kept.event_id, kept.team, kept.body, kept.attempts) == ("Ev1", "T1", BODY, 1)
    assert a.take_over(stale_after=30) == []  # b holds it now, freshly
    b.done("Ev1")
    clock.now += 31
    assert a.take_over(stale_after=30) == []


def test_an_event_that_keeps_failing_is_dropped_after_a_few_takeovers(tmp_path: Path) -> None:
    a, b, clock = replicas(tmp_path)
    a.keep("Ev1", "T1", BODY)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        clock.now += 31
        assert [k.attempts for k in (b if attempt % 2 else a).take_over(stale_after=30)] == [attempt]
    clock.now += 31
    assert b.take_over(stale_after=30) == [] and a.take_over(stale_after=30) == []


def test_rows_of_a_dead_process_on_this_host_are_taken_over_at_once(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    a, b, _ = replicas(tmp_path, first=f"{socket.gethostname()}:{int(gone.stdout)}:ab12cd")
    a.keep("Ev1", "T1", BODY)
    assert [k.event_id for k in b.take_over(stale_after=30)] == ["Ev1"]
