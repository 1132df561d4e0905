"""Delivery the asker can see: where each copy of a message is, and what to do when one is stuck.

mautrix bridges send delivery status back to the sender because a relay that only
says "on its way" leaves a city guessing for days when a copy is parked (a removed
channel, a lost token, a platform refusing the post). Here the outbox's rows are
the truth; this module reads them per destination, tells the asker's channel once
when a copy is parked, and lets a manager put parked copies back in line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.events import ChannelRef
from bot.i18n import Catalog
from bot.richtext import plain
from bot.store import CANCELLED, DONE, PARKED, PENDING, SEND, SENDING, OutboxRow, Store

log = logging.getLogger(__name__)

DELIVERED, WAITING = "delivered", "waiting"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One destination of a message: its state and, when not delivered, why."""

    channel: ChannelRef
    city: str
    state: str  # delivered | waiting | parked | cancelled
    reason: str | None
    attempts: int
    next_at: float | None

    def as_json(self) -> dict[str, object]:
        return {
            "channel": str(self.channel),
            "city": self.city,
            "platform": self.channel.platform,
            "state": self.state,
            "reason": self.reason,
            "attempts": self.attempts,
            "next_at": self.next_at,
        }


def state_of(rows: list[OutboxRow]) -> tuple[str, OutboxRow | None]:
    """A copy's state from its rows: a parked row wins, then unfinished work, then the send."""
    for row in rows:
        if row.state == PARKED:
            return PARKED, row
    for row in rows:
        if row.state in (PENDING, SENDING):
            return WAITING, row
    sends = [r for r in rows if r.op == SEND]
    if sends and sends[0].state == DONE:
        return DELIVERED, None
    if sends and sends[0].state == CANCELLED:
        return CANCELLED, None
    return WAITING, None


class Deliveries:
    """Reads delivery states, announces parked copies, and retries them."""

    def __init__(self, store: Store, catalog: Catalog, wake: Callable[[ChannelRef], None]) -> None:
        self.store = store
        self.catalog = catalog
        self.wake = wake

    def of(self, message_id: int) -> list[Delivery]:
        """Every destination of a message, in the order its copies were made."""
        out: list[Delivery] = []
        for ref, rows in self.store.deliveries_of(message_id):
            state, row = state_of(rows)
            channel = self.store.channel(ref)
            out.append(
                Delivery(
                    channel=ref,
                    city=channel.city if channel else ref.channel,
                    state=state,
                    reason=row.last_error if row else None,
                    attempts=row.attempts if row else 0,
                    next_at=row.next_at if row and state == WAITING and row.next_at else None,
                )
            )
        return out

    def retry(self, message_id: int) -> int:
        """Put the message's parked copies back in line; how many there were."""
        channels = self.store.retry_parked(message_id)
        for ref in channels:
            self.wake(ref)
        return len(channels)

    def on_parked(self, row: OutboxRow) -> None:
        """The outbox parked a delivery: tell the channel the message came from, once, in its language."""
        if row.op != SEND:
            return
        copy = self.store.copy(row.copy_id)
        msg = self.store.message(copy.message_id) if copy else None
        if copy is None or msg is None or msg.kind == "notice" or copy.channel == msg.channel:
            return
        source = self.store.channel(msg.channel)
        if source is None:
            return
        target = self.store.channel(copy.channel)
        text = self.catalog.t(
            "delivery.parked_notice",
            source.lang,
            id=msg.id,
            city=target.city if target else copy.channel.channel,
            reason=(row.last_error or "?")[:200],
        )
        try:
            self.store.add_notice(source, plain(text))
        except Exception:
            log.exception("could not queue the parked-delivery notice for message %s", msg.id)
            return
        self.wake(source.ref)
