"""Real and malformed gateway payloads through the fake gateway into the real discord.py client.

The corpus lives in ``tests/payloads/discord/gateway/`` (each entry names its
source). Every payload is dispatched between two ordinary messages; the test
checks what reached the core against the entry's expectations, and that the
gateway connection was never lost (one IDENTIFY for the whole corpus).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.events import IncomingMessage, MessageDeleted
from bot.richtext import Link, to_plain
from tests.discord.conftest import Sink, World

CORPUS = Path(__file__).resolve().parents[1] / "payloads" / "discord" / "gateway"
BARE_ID = re.compile(r"\d{15,}")


def corpus() -> list[dict[str, Any]]:
    entries = []
    for file in sorted(CORPUS.glob("*.json")):
        for entry in json.loads(file.read_text(encoding="utf-8"))["payloads"]:
            entries.append({**entry, "file": file.name})
    return entries


def fill(value: Any, ids: dict[str, Any]) -> Any:
    """Replace ``{placeholders}``: a whole-string ``{x_user}`` becomes that user object."""
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("_user}"):
            return ids[value[1:-1]]
        for key, replacement in ids.items():
            if not key.endswith("_user"):
                value = value.replace("{" + key + "}", str(replacement))
    return value


def placeholders(world: World, before: str, role: int, robot: int) -> dict[str, Any]:
    """What a corpus entry's ``{placeholders}`` stand for: fresh ids, the world's, the message before."""
    fake = world.fake
    return {
        "id": fake.next_id(),
        "id2": fake.next_id(),
        "id3": fake.next_id(),
        "thread": fake.next_id(),
        "prev": before,
        "guild": world.guild,
        "channel": world.boston,
        "other_channel": world.lima,
        "ana": world.ana,
        "bob": world.bob,
        "role": role,
        "ana_user": fake.users[world.ana],
        "bob_user": fake.users[world.bob],
        "bot_user": fake.users[robot],
    }


def problems(
    entry: dict[str, Any], got: list[IncomingMessage], logged: bool, deleted: list[str] | None = None
) -> list[str]:
    expect = entry["expect"]
    if deleted is not None and sorted(deleted) != sorted(expect.get("deletes", [])):
        return [f"deletes {deleted}"]
    if not expect["relayed"]:
        out = [f"reached the core: {to_plain(got[0].text)!r}"] if got else []
        if expect.get("logged") and not logged:
            out.append("was not logged")
        return out
    if len(got) != 1:
        return [f"expected one message in the core, got {len(got)}"]
    (event,) = got
    text = to_plain(event.text)
    out = [f"text lacks {want!r}: {text!r}" for want in expect.get("text_has", []) if want not in text]
    out += [f"text has {bad!r}: {text!r}" for bad in expect.get("text_lacks", []) if bad in text]
    if expect.get("no_bare_ids") and BARE_ID.search(text):
        out.append(f"bare id in {text!r}")
    if "author" in expect and event.author.name != expect["author"]:
        out.append(f"author {event.author.name!r}")
    if event.author.is_bot != expect.get("is_bot", False):
        out.append(f"is_bot {event.author.is_bot}")
    if "attachments" in expect and [a.name for a in event.attachments] != expect["attachments"]:
        out.append(f"attachments {event.attachments}")
    links = [s.url for s in event.text if isinstance(s, Link)]
    out += [f"no link {url}" for url in expect.get("links", []) if url not in links]
    if "thread_id" in expect and event.thread_id != expect["thread_id"]:
        out.append(f"thread_id {event.thread_id}")
    return out


async def test_every_payload_in_the_corpus(
    world: World, connect: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    fake = world.fake
    role = fake.add_role(world.guild, "staff")
    robot = fake.add_user("Robot", bot=True)
    adapter, sink = await connect(sink=Sink())
    assert isinstance(adapter, DiscordAdapter)
    entries = corpus()
    results: dict[str, list[str]] = {}
    for n, entry in enumerate(entries):
        before = await fake.user_message(world.boston, world.ana, f"before {n}")
        count = len(sink.events)
        ids = placeholders(world, before["id"], role, robot)
        data = fill(entry["data"], ids)
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="adapters.discord.guard"):
            await fake.dispatch(entry["event"], data)
            await fake.user_message(world.boston, world.ana, f"after {n}")
            await _wait_for_text(sink, f"after {n}")
        logged = any(entry["event"] in r.getMessage() and r.exc_info for r in caplog.records)
        got = [
            e
            for e in sink.events[count:]
            if isinstance(e, IncomingMessage) and e.id == str(data.get("id")) and e.id != before["id"]
        ]
        deleted = [e.id for e in sink.events[count:] if isinstance(e, MessageDeleted)]
        results[f"{entry['file']}: {entry['name']}"] = problems(fill(entry, ids), got, logged, deleted)
    bad = {name: why for name, why in results.items() if why}
    fine = len(results) - len(bad)
    print(f"\n{len(results)} payload shapes: {fine} fine, {len(bad)} not")
    assert not bad, json.dumps(bad, indent=1, ensure_ascii=False)
    assert len(fake.identifies) == 1 and fake.resumes == 0  # the connection never ended
    assert len(results) >= 70


async def _wait_for_text(sink: Sink, text: str) -> None:
    def seen() -> bool:
        return any(isinstance(e, IncomingMessage) and to_plain(e.text) == text for e in sink.events)

    while not seen():
        await sink.wait(len(sink.events) + 1)
