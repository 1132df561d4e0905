"""The relay tags messages in a worker thread: the loop stays free, the order and the tags stay the same."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bot.app import Agora
from bot.testing import CollectingAdapter
from testing.translator import MarkingTranslator
from tests.core.conftest import BOSTON, GDL, Harness, demo_config

QUESTIONS = (
    (BOSTON, "How do you staff overnight homeless shelters in winter?"),
    (GDL, "¿Cómo financian los albergues para personas en situación de calle?"),
)


class GatedEmbedder:
    """Embeds only once the test opens the gate, and notes which thread asked."""

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.threads: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.threads.append(threading.current_thread().name)
        self.entered.set()
        assert self.gate.wait(20), "the test never opened the gate"
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors

    def warm(self) -> None:
        return None


async def until(check: Callable[[], bool], what: str, deadline: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not check():
        assert loop.time() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_tagging_waits_in_a_worker_thread_and_messages_keep_their_order(tmp_path: Path) -> None:
    embedder = GatedEmbedder()
    adapter = CollectingAdapter("fake")
    app = Agora(
        demo_config(tmp_path / "agora.db"),
        adapters={"fake": adapter},
        translator=MarkingTranslator(),
        embedder=embedder,
    )
    await app.start()
    h = Harness(app, adapter, MarkingTranslator())
    try:
        first = asyncio.create_task(h.command(QUESTIONS[0][0], "/ask " + QUESTIONS[0][1]))
        # The embedder is blocked; were it on the loop, this coroutine could not run to see it.
        await until(embedder.entered.is_set, "the relay to start embedding")
        second = asyncio.create_task(h.command(QUESTIONS[1][0], "/ask " + QUESTIONS[1][1]))
        await until(lambda: app.relay.queued == 2, "the second question to wait for its turn")
        assert app.store.message(1) is None and app.store.message(2) is None  # nothing stored while tagging
        embedder.gate.set()
        await first
        await second
        stored = [app.store.message(i) for i in (1, 2)]
        assert [m.channel if m else None for m in stored] == [QUESTIONS[0][0], QUESTIONS[1][0]]
        assert "MainThread" not in embedder.threads
        assert embedder.threads[0].startswith("agora-tagging")
        for message, (_, text) in zip(stored, QUESTIONS, strict=True):
            assert message is not None
            assert message.topics == app.topic_tagger.tag(text, message.lang, network="demo").topics
    finally:
        embedder.gate.set()
        await app.stop(grace=1)
