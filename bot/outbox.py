"""Delivery: one worker per destination channel, in order, at the platform's pace.

Rows are committed before anything is sent. A worker takes its channel's
oldest unfinished row; rows behind it wait, so copies arrive in order. Throttling
(429 + Retry-After) and outages reschedule only that channel's row; every other
channel keeps flowing. Permanent refusals are parked with their reason.

Exactly once: a part is marked ``sending`` before the platform call and
recorded right after it. A row found ``sending`` at start-up, or retried after
an error that may have hidden a success, first asks the adapter whether a post
with the part's nonce already exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import TypeVar

from bot.compose import Composer, Target
from bot.config import OutboxConfig
from bot.errors import DeliveryError
from bot.events import ChannelRef, MessageRef
from bot.ports import Adapter, FileTransfer
from bot.store import CANCELLED, DELETE, DONE, EDIT, PARKED, PENDING, SEND, SENDING, OutboxRow, Store

log = logging.getLogger(__name__)
IDLE_EXIT = 30.0
T = TypeVar("T")


class Outbox:
    """Runs the per-channel delivery workers."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Adapter],
        composer: Composer,
        policy: OutboxConfig,
        clock: Callable[[], float] = time.time,
        on_parked: Callable[[OutboxRow], None] | None = None,
    ) -> None:
        self.store = store
        self.on_parked = on_parked
        self.adapters = adapters
        self.composer = composer
        self.policy = policy
        self.clock = clock
        self._workers: dict[ChannelRef, asyncio.Task[None]] = {}
        self._wakeups: dict[ChannelRef, asyncio.Event] = {}
        self._last_post: dict[ChannelRef, float] = {}
        self._stopping = False

    def start(self) -> None:
        """Resume every channel that has unfinished rows (after a restart too)."""
        for ref in self.store.channels_with_work():
            self.wake(ref)

    def wake(self, ref: ChannelRef) -> None:
        """Tell a channel's worker there is work, starting it if needed."""
        if self._stopping:
            return
        if ref.platform not in self.adapters:
            return
        event = self._wakeups.setdefault(ref, asyncio.Event())
        event.set()
        task = self._workers.get(ref)
        if task is None or task.done():
            self._workers[ref] = asyncio.create_task(self._run(ref), name=f"outbox {ref}")

    async def stop(self, grace: float = 5.0) -> None:
        """Let in-flight posts finish for up to ``grace`` seconds; pending rows stay for next time."""
        self._stopping = True
        for event in self._wakeups.values():
            event.set()
        tasks = [t for t in self._workers.values() if not t.done()]
        if tasks:
            _, still = await asyncio.wait(tasks, timeout=grace)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
        self._workers.clear()

    async def drain(self, timeout: float = 30.0) -> bool:
        """Wait until no deliverable row is left (tests and benchmarks)."""
        deadline = self.clock() + timeout
        while self.clock() < deadline:
            counts = self.store.delivery_counts()
            if not counts.get(PENDING) and not counts.get(SENDING):
                return True
            await asyncio.sleep(0.02)
        return False

    async def _run(self, ref: ChannelRef) -> None:
        adapter = self.adapters[ref.platform]
        event = self._wakeups[ref]
        while not self._stopping:
            row = self.store.next_delivery(ref)
            if row is None:
                event.clear()
                try:
                    await asyncio.wait_for(event.wait(), IDLE_EXIT)
                except TimeoutError:
                    if self.store.next_delivery(ref) is None:
                        self._workers.pop(ref, None)
                        return
                continue
            wait = row.next_at - self.clock()
            if wait > 0:
                event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), wait)
                continue
            await self._deliver(row, adapter)

    async def _paced(self, ref: ChannelRef, adapter: Adapter, call: Callable[[], Awaitable[T]]) -> T:
        """One platform call, starting ``adapter.pace`` seconds after the previous one in
        this channel ended, so the platform never sees two posts closer than its rate."""
        last = self._last_post.get(ref)
        if last is not None:
            wait = last + adapter.pace - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
        try:
            return await call()
        finally:
            self._last_post[ref] = self.clock()

    async def _deliver(self, row: OutboxRow, adapter: Adapter) -> None:
        try:
            if row.op == SEND:
                state = await self._send(row, adapter)
            elif row.op == EDIT:
                state = await self._edit(row, adapter)
            elif row.op == DELETE:
                state = await self._delete(row, adapter)
            else:
                state = PARKED
                log.error("outbox row %s has unknown op %r", row.id, row.op)
            self.store.set_delivery(row.id, state)
        except DeliveryError as exc:
            self._failed(row, exc)
        except Exception as exc:  # a bug must not kill the channel's worker; retry then park
            log.exception("outbox row %s (%s to %s) failed unexpectedly", row.id, row.op, row.channel)
            self._failed(row, DeliveryError(f"internal error: {exc!r}", retriable=True))

    def _failed(self, row: OutboxRow, exc: DeliveryError) -> None:
        attempts = row.attempts + 1
        if not exc.retriable or attempts >= self.policy.max_attempts:
            log.warning(
                "parked %s of copy %s to %s after %d attempts: %s",
                row.op,
                row.copy_id,
                row.channel,
                attempts,
                exc.reason,
            )
            self.store.set_delivery(row.id, PARKED, error=exc.reason, attempts=attempts)
            if self.on_parked is not None:
                self.on_parked(replace(row, state=PARKED, last_error=exc.reason, attempts=attempts))
            return
        backoff = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** (attempts - 1))
        delay = max(exc.retry_after or 0.0, backoff * (0.75 + random.random() / 2))
        if exc.uncertain:  # give a post that may still land the time to land before looking for it
            delay = max(delay, self.policy.settle)
        log.info("retrying %s to %s in %.1fs (attempt %d): %s", row.op, row.channel, delay, attempts, exc.reason)
        self.store.set_delivery(row.id, PENDING, error=exc.reason, next_at=self.clock() + delay, attempts=attempts)

    def _target(self, adapter: Adapter, channel: ChannelRef) -> Target:
        limit = adapter.upload_limit(channel) if isinstance(adapter, FileTransfer) else 0
        return Target(adapter.max_text, adapter.render, limit)

    async def _send(self, row: OutboxRow, adapter: Adapter) -> str:
        copy = self.store.copy(row.copy_id)
        if copy is None:
            return CANCELLED
        posts = await self.composer.posts(copy, self._target(adapter, row.channel))
        if posts is None:
            return CANCELLED
        uncertain = row.state == SENDING or row.attempts > 0
        thread_of_first: str | None = copy.thread_id
        for part, post in enumerate(posts):
            if part < len(copy.platform_ids):
                continue
            if part > 0 and post.starts_thread:
                post = replace(post, starts_thread=False)
            ref = await adapter.find_sent(post) if uncertain else None
            if ref is not None:
                log.info(
                    "copy %s part %d was already in %s (sent before a crash or a lost answer)",
                    copy.id,
                    part,
                    row.channel,
                )
            else:
                self.store.set_delivery(row.id, SENDING)
                ref = await self._paced(row.channel, adapter, partial(adapter.send, post))
            self.store.record_post(copy.id, row.channel, part, ref.id, ref.thread_id or thread_of_first)
            if part == 0:
                thread_of_first = ref.thread_id or ref.id
        return DONE

    async def _edit(self, row: OutboxRow, adapter: Adapter) -> str:
        copy = self.store.copy(row.copy_id)
        if copy is None or not copy.platform_ids:
            return CANCELLED  # never posted: the pending send will carry the new text
        posts = await self.composer.posts(copy, self._target(adapter, row.channel))
        if posts is None:
            return CANCELLED
        for part, post in enumerate(posts):
            if part < len(copy.platform_ids):
                target = MessageRef(row.channel, copy.platform_ids[part], post.thread_id)
                await self._paced(row.channel, adapter, partial(adapter.edit, target, post))
            else:
                thread = copy.thread_id if posts[0].starts_thread else post.thread_id
                extra = replace(post, starts_thread=False, thread_id=thread, nonce=f"{post.nonce}-e{row.id}")
                ref = await self._paced(row.channel, adapter, partial(adapter.send, extra))
                self.store.record_post(copy.id, row.channel, part, ref.id, copy.thread_id)
        for part in range(len(posts), len(copy.platform_ids)):
            surplus = MessageRef(row.channel, copy.platform_ids[part], copy.thread_id)
            await self._paced(row.channel, adapter, partial(adapter.delete, surplus))
        if len(copy.platform_ids) > len(posts):
            self.store.forget_posts(copy.id, len(posts))
        return DONE

    async def _delete(self, row: OutboxRow, adapter: Adapter) -> str:
        copy = self.store.copy(row.copy_id)
        if copy is None:
            return CANCELLED
        thread = None if copy.thread_id in copy.platform_ids else copy.thread_id
        for platform_id in copy.platform_ids:
            await self._paced(
                row.channel, adapter, partial(adapter.delete, MessageRef(row.channel, platform_id, thread))
            )
        return DONE
