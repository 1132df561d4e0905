"""Classify every corpus payload as fine, wrong or fatal for the Discord adapter of a source tree.

Each payload gets a fresh fake Discord and adapter: an ordinary message, the payload, then another
ordinary message. "fatal": that last message never arrived (the gateway connection was lost);
"wrong": it arrived but the payload's message did not reach the core as the entry expects.
To compare with an older commit, unpack it beside this tree and copy the corpus and test helpers
into it (``tests/discord/test_payloads.py``, ``testing/discord_server.py``, this directory)::

    python tests/payloads/discord/gateway/measure.py <source tree>
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else ".")


from adapters.discord import create
from bot.events import IncomingMessage
from bot.richtext import to_plain
from bot.store import open_database
from testing.discord_server import FakeDiscord
from tests.discord.conftest import Sink, World, context, table
from tests.discord.test_payloads import corpus, fill, placeholders, problems


async def arrived(sink: Sink, text: str, timeout: float = 3.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if any(isinstance(e, IncomingMessage) and to_plain(e.text) == text for e in sink.events):
            return True
        await asyncio.sleep(0.02)
    return False


async def one(entry: dict[str, Any]) -> tuple[str, list[str]]:
    fake = await FakeDiscord().start()
    try:
        guild = fake.add_guild("Network")
        world = World(
            fake,
            guild,
            fake.add_channel(guild, "boston"),
            fake.add_channel(guild, "lima"),
            fake.add_channel(guild, "lobby"),
            fake.add_user("Ana"),
            fake.add_user("Bob"),
        )
        role = fake.add_role(guild, "staff")
        robot = fake.add_user("Robot", bot=True)
        adapter = create(table(world), context(world, open_database(":memory:")))
        sink = Sink()
        await adapter.start(sink)
        try:
            before = await fake.user_message(world.boston, world.ana, "before")
            if not await arrived(sink, "before"):
                return "fatal", ["the adapter never relayed"]
            ids = placeholders(world, before["id"], role, robot)
            data = fill(entry["data"], ids)
            count = len(sink.events)
            await fake.dispatch(entry["event"], data)
            await fake.user_message(world.boston, world.ana, "after")
            if not await arrived(sink, "after"):
                return "fatal", ["the next message never arrived (connection lost)"]
            got = [e for e in sink.events[count:] if isinstance(e, IncomingMessage) and e.id == str(data.get("id"))]
            why = problems(fill(entry, ids), got, logged=True)
            return ("wrong" if why else "fine"), why
        finally:
            await adapter.stop()
    finally:
        await fake.stop()


async def main() -> None:
    logging.disable(logging.CRITICAL)
    counts = {"fine": 0, "wrong": 0, "fatal": 0}
    detail: dict[str, list[str]] = {}
    for entry in corpus():
        verdict, why = await one(entry)
        counts[verdict] += 1
        if verdict != "fine":
            detail[f"{entry['file']}: {entry['name']}"] = [verdict, *why]
    print(json.dumps({"shapes": sum(counts.values()), **counts}))
    print(json.dumps(detail, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
