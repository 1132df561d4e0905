"""Topic tagging off the event loop.

Tagging a message embeds it (2-5 ms of numpy on a busy machine, and up to a
couple of seconds for the first message if the embedder is still loading), which
on the loop would hold up every other relay, Slack acknowledgement and Discord
heartbeat. So the relay hands each message to one worker thread and awaits the
result. One thread is enough (tagging is CPU-bound and the machine has two
cores) and keeps the jobs in the order they were submitted; the relay itself
keeps messages in arrival order around the await.

The network's corrections are read from the store on the loop first
(:meth:`TopicTagger.prepare`): the store's connection belongs to the loop's thread.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from bot.tagging import Tagging, TopicTagger
from bot.topic_model import Matrix


class TaggingThread:
    """Runs one :class:`TopicTagger`'s work in a worker thread of its own."""

    def __init__(self, tagger: TopicTagger) -> None:
        self.tagger = tagger
        self._executor: ThreadPoolExecutor | None = None  # started on first use, again after a close

    def _thread(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agora-tagging")
        return self._executor

    async def tag(self, text: str, lang: str, *, network: str | None = None, thread: Sequence[str] = ()) -> Tagging:
        """The same result as ``tagger.tag(...)``, computed off the loop."""
        self.tagger.prepare(network)
        work = functools.partial(self.tagger.tag, text, lang, network=network, thread=tuple(thread))
        return await asyncio.get_running_loop().run_in_executor(self._thread(), work)

    async def embed(self, text: str) -> Matrix | None:
        """``tagger.embed(text)``, off the loop."""
        return await asyncio.get_running_loop().run_in_executor(self._thread(), self.tagger.embed, text)

    def close(self) -> None:
        """Finish the job under way and stop the thread (blocks: call it from a thread, or at exit)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
