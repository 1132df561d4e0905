"""Socket Mode that acknowledges events before any work.

Slack waits three seconds for the acknowledgement of an envelope, then
retries it. Bolt's own handler acknowledges only after its middleware chain
(authorization, self-event filter, listener matching) has run; on a busy
process that can come late, and for an event no listener matched it never
comes at all. An Events API acknowledgement carries no payload, so this
handler sends it the moment the envelope arrives and dispatches afterwards;
slash commands and shortcuts keep Bolt's path, whose listeners call ``ack()``
first thing. Retries that still happen are harmless: events are deduplicated
by id in the database. Because an acknowledged event is never re-sent, the
handler hands each one to ``keep`` first (the adapter's inbox, inbox.py), so
another replica can finish it if this one dies before the core has it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

log = logging.getLogger(__name__)


class AckFirstSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's aiohttp Socket Mode handler, with Events API envelopes kept, then acknowledged on arrival."""

    keep: Callable[[dict[str, Any]], None] | None = None

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        if req.type != "events_api":
            await super().handle(client, req)  # type: ignore[arg-type]
            return
        if self.keep is not None:
            try:
                self.keep(req.payload)
            except Exception:  # the event still goes through, as it did before it was kept
                log.exception("slack: could not keep event %s in the inbox", req.payload.get("event_id"))
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
        await run_async_bolt_app(self.app, req)  # its response would be a second ack: dropped
