"""The hot-topics chart, drawn in a child process so that drawing it never holds up the event loop.

matplotlib is pure-Python work for the most part: a chart takes a few hundred
milliseconds of CPU during which its thread holds the GIL. In the reads thread
that still starved the event loop (it gets the GIL back only every switch
interval, at each of the many points a request releases it), so a request
arriving during a report waited tens of milliseconds. :class:`ChartProcess`
draws in one child process of its own (``python -m bot.charts``), started on
the first chart (importing matplotlib there, not in the bot) and kept for the
next: the bot's threads only wait on its pipe. A plain child process rather than
multiprocessing, whose spawn re-imports the parent's ``__main__``. :class:`BarChart`
is plain data already in the reader's language, so it crosses as JSON.

The pipe carries frames: a 4-byte big-endian length, then the payload; a request is
the chart as JSON, an answer one byte (``P`` a PNG follows, ``E`` an error message)
then a frame.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import json
import logging
import os
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.errors import AgoraError
from bot.extras import import_extra, missing_extra

log = logging.getLogger(__name__)
CHART = "the hot-topics chart"


@dataclass(frozen=True, slots=True)
class BarChart:
    """A chart of this period's counts against the previous period's, one pair of bars per name."""

    title: str
    axis: str
    current_label: str
    previous_label: str
    empty_text: str  # shown instead of a legend when there is nothing to draw
    names: tuple[str, ...]  # bottom to top
    current: tuple[int, ...]
    previous: tuple[int, ...]


def draw(chart: BarChart) -> bytes:
    """The chart as a PNG (matplotlib's headless backend; the ``charts`` extra)."""
    import_extra("matplotlib", CHART).use("Agg")  # headless: set before pyplot is first imported
    plt = import_extra("matplotlib.pyplot", CHART)
    integer_ticks = import_extra("matplotlib.ticker", CHART).MaxNLocator(integer=True)

    fig, ax = plt.subplots(figsize=(8, 0.5 * max(len(chart.names), 2) + 1.5), dpi=100)
    try:
        ys = range(len(chart.names))
        ax.barh([y + 0.2 for y in ys], list(chart.current), height=0.4, color="#2a6f97", label=chart.current_label)
        ax.barh([y - 0.2 for y in ys], list(chart.previous), height=0.4, color="#a9c6d9", label=chart.previous_label)
        ax.set_yticks(list(ys), list(chart.names))
        ax.set_xlabel(chart.axis)
        ax.xaxis.set_major_locator(integer_ticks)
        ax.set_title(chart.title)
        if chart.names:
            ax.legend(loc="lower right")
        else:
            ax.text(0.5, 0.5, chart.empty_text, ha="center", transform=ax.transAxes)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return buf.getvalue()


def write_frame(out: IO[bytes], payload: bytes) -> None:
    out.write(struct.pack(">I", len(payload)) + payload)
    out.flush()


def read_frame(source: IO[bytes]) -> bytes:
    """One frame's payload; EOFError when the other side has gone."""
    head = source.read(4)
    if len(head) < 4:
        raise EOFError("the chart process closed its pipe")
    (size,) = struct.unpack(">I", head)
    payload = source.read(size)
    if len(payload) < size:
        raise EOFError("the chart process closed its pipe")
    return payload


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The child: draw each chart asked for until the parent closes the pipe."""
    while True:
        try:
            chart = BarChart(**json.loads(read_frame(requests)))
        except EOFError:
            return
        try:
            png = draw(chart)
        except Exception as exc:  # the parent raises it; the child stays for the next chart
            answers.write(b"E")
            write_frame(answers, f"{type(exc).__name__}: {exc}".encode())
        else:
            answers.write(b"P")
            write_frame(answers, png)


class ChartProcess:
    """Draws charts in one child process, started on the first chart and kept until :meth:`close`.

    Callable like :func:`draw`, from any thread (charts queue behind each other). A child that
    died is replaced once per chart. Without matplotlib it raises MissingExtra before starting
    anything, as :func:`draw` would.
    """

    def __init__(self) -> None:
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The child's process id while one runs (for operators and tests)."""
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def __call__(self, chart: BarChart) -> bytes:
        if importlib.util.find_spec("matplotlib") is None:
            extra = missing_extra(ModuleNotFoundError("no matplotlib", name="matplotlib"), CHART)
            assert extra is not None
            raise extra
        request = json.dumps(dataclasses.asdict(chart)).encode()
        with self._lock:
            try:
                kind, payload = self._ask(request)
            except (EOFError, OSError):
                log.warning("the chart process died; starting another")
                self._stop_child()
                kind, payload = self._ask(request)
        if kind != b"P":
            raise AgoraError(f"the chart process could not draw the chart: {payload.decode(errors='replace')}")
        return payload

    def _ask(self, request: bytes) -> tuple[bytes, bytes]:
        child = self._running()
        assert child.stdin is not None and child.stdout is not None
        write_frame(child.stdin, request)
        kind = child.stdout.read(1)
        if not kind:
            raise EOFError("the chart process closed its pipe")
        return kind, read_frame(child.stdout)

    def _running(self) -> subprocess.Popen[bytes]:
        if self._closed:
            raise AgoraError("the chart process is closed")
        if self._child is not None and self._child.poll() is not None:
            self._stop_child()  # it died between charts: reap it and close its pipes
        if self._child is None:
            # Run from the directory holding this bot package, so that the child imports the same one.
            self._child = subprocess.Popen(
                [sys.executable, "-m", "bot.charts"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=Path(__file__).resolve().parents[1],
            )
        return self._child

    def _stop_child(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None and child.stdout is not None
        with contextlib.suppress(OSError):
            child.stdin.close()  # the child's serve() returns at the end of its input
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        child.stdout.close()

    def close(self) -> None:
        """Stop the child (waits for a chart under way)."""
        with self._lock:
            self._closed = True
            self._stop_child()


if __name__ == "__main__":
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print (a library's warning) goes to stderr, not into the answers
    serve(sys.stdin.buffer, answers)
