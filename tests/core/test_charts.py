"""The hot-topics chart is drawn in a child process of its own (bot.charts), byte for byte as in this one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.charts import BarChart, ChartProcess, draw
from bot.errors import AgoraError
from tests.core.conftest import BOSTON, RECIFE, Harness

ROOT = Path(__file__).resolve().parents[2]
CHART = BarChart(
    title="Hot topics, last 30 days",
    axis="messages",
    current_label="this period",
    previous_label="previous period",
    empty_text="Nothing yet",
    names=("Climate", "Homelessness", "AI"),
    current=(2, 5, 9),
    previous=(3, 0, 4),
)


@pytest.fixture
def charts() -> Iterator[ChartProcess]:
    process = ChartProcess()
    yield process
    process.close()


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_a_chart_drawn_in_the_child_is_the_one_drawn_here(charts: ChartProcess) -> None:
    assert charts.pid is None  # started on the first chart
    empty = BarChart("t", "x", "a", "b", "Nothing yet", (), (), ())
    assert charts(CHART) == draw(CHART)
    child = charts.pid
    assert child is not None and child != os.getpid()
    assert charts(empty) == draw(empty)
    assert charts.pid == child  # kept for the next chart
    charts.close()
    assert charts.pid is None and not running(child)


def test_a_child_that_died_is_replaced(charts: ChartProcess) -> None:
    first = charts(CHART)
    child = charts.pid
    assert child is not None
    os.kill(child, signal.SIGKILL)
    assert charts(CHART) == first
    assert charts.pid not in (None, child)


def test_a_chart_the_child_cannot_draw_is_an_error_and_the_child_stays(charts: ChartProcess) -> None:
    broken = BarChart("t", "x", "a", "b", "none", ("one", "two"), (1, 2, 3), (1, 2))  # three counts, two names
    with pytest.raises(AgoraError, match="could not draw"):
        charts(broken)
    child = charts.pid
    assert child is not None
    assert charts(CHART) == draw(CHART)
    assert charts.pid == child


async def test_the_bots_topics_report_draws_in_the_child(make_harness: Callable[..., Any]) -> None:
    h: Harness = await make_harness()
    await h.command(RECIFE, "/ask Como lidar com a população em situação de rua no inverno?")
    await h.drain()
    assert h.agora.charts.pid is None
    reply = await h.command(BOSTON, "/agora topics 30")
    assert reply.image is not None and reply.image[:8] == b"\x89PNG\r\n\x1a\n"
    child = h.agora.charts.pid
    assert child is not None  # drawn by the chart process the bot started
    await h.agora.stop(grace=1)
    assert not running(child)  # and stopped with the bot


def test_without_matplotlib_no_child_starts_and_the_extra_is_named() -> None:
    script = "import sys\nsys.modules['matplotlib'] = None\n" + textwrap.dedent(
        """
        from bot.charts import BarChart, ChartProcess
        from bot.errors import MissingExtra
        charts = ChartProcess()
        try:
            charts(BarChart("t", "x", "a", "b", "none", (), (), ()))
        except MissingExtra as exc:
            print("MISSING", exc.extra, charts.pid, exc)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    out = done.stdout + done.stderr
    assert "MISSING charts None " in out and "pip install 'agora[charts]'" in out, out
