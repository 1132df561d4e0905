"""Delivery: one worker per destination channel, in order, at the platform's pace.

Rows are committed before anything is sent. A worker takes its channel's
oldest unfinished row; rows behind it wait, so copies arrive in order. Throttling
(429 + Retry-After) and outages reschedule only that channel's row; every other
channel keeps flowing. Permanent refusals are parked with their reason.

Several processes may share the database: a worker delivers only while its
process holds the channel's lease, and claims each row before posting it
(:mod:`bot.store.claims`), so two processes never send the same delivery and a
dead process's channels are taken over when its leases lapse. A supervisor
restarts workers and finds rows other processes added. Where the database
announces other processes' new rows as they commit (:mod:`bot.store.wakeups`,
PostgreSQL), the worker holding the channel is woken at once; elsewhere, and
while that announcement channel is down, idle workers look every ``poll_seconds``.

Exactly once: a part is claimed (``sending``) before the platform call and
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
from bot.store.claims import Claims, process_owner
from bot.store.wakeups import Wakeups

log = logging.getLogger(__name__)
IDLE_EXIT = 30.0
EVENT_KEEP = 7 * 86400  # platforms redeliver for minutes and catch-up reads a day; a week is ample
PRUNE_EVERY = 3600.0
T = TypeVar("T")


class LostClaim(Exception):
    """Another process holds this channel or row now: leave the row to it."""


class Outbox:
    """Runs the per-channel delivery workers and the supervisor that keeps them running."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Adapter],
        composer: Composer,
        policy: OutboxConfig,
        clock: Callable[[], float] = time.time,
        on_parked: Callable[[OutboxRow], None] | None = None,
        owner: str | None = None,
        wakeups: Wakeups | None = None,
    ) -> None:
        self.store = store
        self.wakeups = wakeups
        self.on_parked = on_parked
        self.on_delivered: Callable[[OutboxRow, str], None] = lambda _row, _state: None  # metrics
        self.adapters = adapters
        self.composer = composer
        self.policy = policy
        self.clock = clock
        self.claims = Claims(store.db, owner or process_owner(), clock)
        self._workers: dict[ChannelRef, asyncio.Task[None]] = {}
        self._wakeups: dict[ChannelRef, asyncio.Event] = {}
        self._last_post: dict[ChannelRef, float] = {}
        self._held_until: dict[ChannelRef, float] = {}
        self._other_until: dict[ChannelRef, float] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        """Resume every channel that has unfinished rows (after a restart too) and supervise."""
        for owner in self.claims.expire_dead_local_owners():
            log.info("took over the deliveries of %s, which is no longer running", owner)
        for ref in self.store.channels_with_work():
            self.wake(ref)
        self._supervisor = asyncio.create_task(self._supervise(), name="outbox supervisor")
        if self.wakeups is not None:
            listening = self.wakeups.run(self._woken_elsewhere, self._released_elsewhere, self._wake_all)
            self._listener = asyncio.create_task(listening, name="outbox wake-ups")

    def _woken_elsewhere(self, ref: ChannelRef) -> None:
        """Another process queued work for ``ref``: wake the worker here, unless another process's lease,
        live when last seen, holds the channel (that process was told too: waking here would only ask
        the database for a lease it would refuse)."""
        if ref not in self._held_until and self._other_until.get(ref, 0.0) > self.clock():
            return
        self.wake(ref)

    def _released_elsewhere(self, ref: ChannelRef) -> None:
        """Another process gave up ``ref``'s lease while it has work: try to take it over now."""
        self._other_until.pop(ref, None)
        self.wake(ref)

    def _wake_all(self) -> None:
        """Wake every channel with unfinished rows (after wake-ups from other processes may have been missed),
        as if each had been announced: a missed notice does not change who holds a channel."""
        try:
            for ref in self.store.channels_with_work():
                self._woken_elsewhere(ref)
        except Exception as exc:  # the supervisor's next round finds them
            log.warning("outbox: could not look for channels with work: %r", exc)

    def wake(self, ref: ChannelRef) -> None:
        """Tell a channel's worker there is work, starting it if needed."""
        if self._stopping or ref.platform not in self.adapters:
            return
        self._wakeups.setdefault(ref, asyncio.Event()).set()
        self._ensure_worker(ref)

    def _ensure_worker(self, ref: ChannelRef) -> None:
        if self._stopping or ref.platform not in self.adapters:
            return
        self._wakeups.setdefault(ref, asyncio.Event())
        task = self._workers.get(ref)
        if task is None or task.done():
            task = asyncio.create_task(self._run(ref), name=f"outbox {ref}")
            task.add_done_callback(partial(self._ended, ref))
            self._workers[ref] = task

    def _ended(self, ref: ChannelRef, task: asyncio.Task[None]) -> None:
        """A worker ended: forget it; if it died, say so (the supervisor starts a new one)."""
        if self._workers.get(ref) is task:
            del self._workers[ref]
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox worker for %s died; the supervisor restarts it", ref, exc_info=task.exception())

    async def stop(self, grace: float = 5.0) -> None:
        """Let in-flight posts finish for up to ``grace`` seconds; pending rows stay for next time."""
        self._stopping = True
        for task in (self._supervisor, self._listener):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._supervisor = self._listener = None
        for event in self._wakeups.values():
            event.set()
        tasks = [t for t in self._workers.values() if not t.done()]
        if tasks:
            _, still = await asyncio.wait(tasks, timeout=grace)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
        self._workers.clear()

    def _pause(self, failures: int) -> float:
        """Back-off after the store or a worker step failed (disk full, database locked)."""
        base = min(self.policy.backoff_max, self.policy.backoff_base * 2.0 ** min(failures - 1, 20))
        return base * (0.75 + random.random() / 2)

    async def _supervise(self) -> None:
        """Every ``poll_seconds``: a worker for every channel with unfinished rows (rows other
        processes added without a wake-up, workers that died); now and then, forget event keys nobody
        redelivers."""
        failures = 0
        pruned_at = 0.0
        while not self._stopping:
            try:
                for owner in self.claims.expire_dead_local_owners():
                    log.info("took over the deliveries of %s, which is no longer running", owner)
                for ref in self.store.channels_with_work():
                    self._ensure_worker(ref)
                if self.clock() - pruned_at > PRUNE_EVERY:
                    removed = self.store.prune_events(self.clock() - EVENT_KEEP)
                    pruned_at = self.clock()
                    if removed:
                        log.info("forgot %d event keys older than %d days", removed, EVENT_KEEP // 86400)
                failures = 0
                await asyncio.sleep(self.policy.poll_seconds)
            except Exception:
                failures += 1
                delay = self._pause(failures)
                log.exception("outbox supervisor: cannot read the outbox (attempt %d), again in %.1fs", failures, delay)
                await asyncio.sleep(delay)

    async def _run(self, ref: ChannelRef) -> None:
        """Deliver a channel's rows in order while this process holds the channel's lease.

        Nothing ends the loop but stopping, idleness or another process holding
        the channel: any exception (the store's included) is logged, backed off
        and retried, and the row is read again from the database.
        """
        adapter = self.adapters[ref.platform]
        event = self._wakeups[ref]
        failures = 0
        idle_since: float | None = None
        try:
            while not self._stopping:
                try:
                    if not self._hold(ref):
                        if self.store.next_delivery(ref) is None:
                            return  # the holder has it all in hand
                        until = self._other_until.get(ref, 0.0) - self.clock()
                        await self._wait(event, max(self.policy.poll_seconds, min(until + 0.05, IDLE_EXIT)))
                        continue
                    row = self.store.next_delivery(ref)
                    if row is None:
                        idle_since = idle_since or self.clock()
                        if self.clock() - idle_since >= IDLE_EXIT:
                            return
                        await self._wait(event, self.policy.poll_seconds)
                        continue
                    idle_since = None
                    wait = row.next_at - self.clock()
                    if wait > 0:
                        await self._wait(event, min(wait, self.policy.poll_seconds))
                        continue
                    await self._deliver(row, adapter)
                    failures = 0
                except Exception as exc:
                    failures += 1
                    delay = self._pause(failures)
                    log.error(
                        "outbox worker for %s: %s (attempt %d); retrying in %.2fs",
                        ref,
                        repr(exc)[:300],
                        failures,
                        delay,
                        exc_info=failures == 1,
                    )
                    await asyncio.sleep(delay)
        finally:
            self._release(ref)

    async def _wait(self, event: asyncio.Event, seconds: float) -> None:
        event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    def _hold(self, ref: ChannelRef) -> bool:
        """Hold (renewing when a third of it has passed) the channel's lease; False if another holds it."""
        ttl = self.policy.lease_seconds
        if self._held_until.get(ref, 0.0) - self.clock() > ttl * 2 / 3:
            return True
        lease = self.claims.hold_channel(ref, ttl)
        if not lease.held:
            self._held_until.pop(ref, None)
            self._other_until[ref] = lease.expires_at
            return False
        if ref not in self._held_until and lease.last_post_at is not None:  # pace across a hand-over
            self._last_post[ref] = max(self._last_post.get(ref, 0.0), float(lease.last_post_at))
        self._held_until[ref] = lease.expires_at
        return True

    def _release(self, ref: ChannelRef) -> None:
        if self._held_until.pop(ref, None) is None:
            return
        try:
            self.claims.release_channel(ref, self._last_post.get(ref))
        except Exception as exc:  # the lease then simply lapses
            log.warning("could not release the outbox lease of %s: %r", ref, exc)

    def _claim(self, row: OutboxRow) -> None:
        """Renew the channel lease and claim the row before a platform call."""
        if not self._hold(row.channel) or not self.claims.claim_delivery(row.id, self.policy.lease_seconds):
            raise LostClaim(f"row {row.id} of {row.channel}")

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
            self._claim(row)
        except LostClaim:
            log.info("outbox row %s (%s to %s) is another process's now", row.id, row.op, row.channel)
            self._held_until.pop(row.channel, None)
            return
        keeper = asyncio.create_task(self._keep_claim(row), name=f"outbox claim {row.id}")
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
            self.on_delivered(row, state)
        except LostClaim:
            log.warning("outbox row %s (%s to %s): lease lost mid-delivery", row.id, row.op, row.channel)
            self._held_until.pop(row.channel, None)
        except DeliveryError as exc:
            self._failed(row, exc)
        except Exception as exc:  # a bug must not kill the channel's worker; retry then park
            log.exception("outbox row %s (%s to %s) failed unexpectedly", row.id, row.op, row.channel)
            self._failed(row, DeliveryError(f"internal error: {exc!r}", retriable=True))
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep_claim(self, row: OutboxRow) -> None:
        """While a delivery is in flight, renew its channel lease and row claim every third of the lease.

        A platform call (or a webhook's creation, several calls) can outlast ``lease_seconds``; without
        this another process would take the channel over mid-call, find no post yet, and post again.
        """
        ttl = self.policy.lease_seconds
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                self._held_until.pop(row.channel, None)  # force a renewal, not the cached hold
                if not self._hold(row.channel) or not self.claims.claim_delivery(row.id, ttl):
                    log.warning("outbox row %s: its claim was taken over during a slow delivery", row.id)
                    return
            except Exception as exc:  # the database is busy: the next round tries again
                log.warning("outbox row %s: could not renew its claim: %r", row.id, exc)

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
                if part > 0:  # the first part was claimed just before; renew for each further one
                    self._claim(row)
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
