"""Discord-compatible servers (Spacebar, self-hosted) answer differently from Discord: Agora copes.

Each fault below is what issue 11 saw against Spacebar, reproduced on the fake.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.settings import Settings
from bot.errors import ConfigError
from bot.events import CommandInvoked, IncomingMessage, Reply
from bot.richtext import plain
from tests.discord.conftest import Sink, World
from tests.discord.test_adapter import outgoing, posts
from tests.discord.test_continuity import texts

Connect = Callable[..., Any]


def test_the_asset_base_follows_api_base_or_cdn_url() -> None:
    assert Settings.from_table({}).cdn_url == "https://cdn.discordapp.com"
    own = Settings.from_table({"api_base": "https://chat.city.gov/api/v9"})
    assert own.cdn_url == "https://chat.city.gov"
    cdn = Settings.from_table({"api_base": "https://chat.city.gov/api/v9", "cdn_url": "https://cdn.city.gov/"})
    assert cdn.cdn_url == "https://cdn.city.gov"
    with pytest.raises(ConfigError, match=r"adapters\.discord\.cdn_url: 'ftp://x' is not an http\(s\) URL"):
        Settings.from_table({"cdn_url": "ftp://x"})


async def test_avatars_point_at_the_configured_server(world: World, running: tuple[DiscordAdapter, Sink]) -> None:
    _, sink = running
    await world.fake.user_message(world.boston, world.ana, "hola")
    (event,) = await sink.wait(1, IncomingMessage)
    assert event.author.avatar_url.startswith(f"http://127.0.0.1:{world.fake.port}/avatars/{world.ana}/")


async def test_a_plain_404_for_a_thread_opens_the_thread_then_retries(
    world: World, running: tuple[DiscordAdapter, Sink]
) -> None:
    adapter, sink = running
    question = await world.fake.user_message(world.boston, world.ana, "A mirrored question")
    await sink.wait(1, IncomingMessage)
    await adapter.send(outgoing(world, world.boston, "warm-up", "agora-1-0"))  # the webhook exists
    world.fake.fail(r"POST /webhooks/.*", status=404, code=0)  # Spacebar: no code 10003
    ref = await adapter.send(
        outgoing(world, world.boston, "An answer", "agora-2-0", thread_id=question["id"], thread_title="Q")
    )
    assert ref.thread_id == question["id"]
    assert posts(world, world.boston)[-1]["thread_id"] == question["id"]
    assert [t["message_id"] for t in posts(world, world.boston, "thread")] == [question["id"]]


@pytest.mark.parametrize(("status", "code", "hint"), [(400, 50035, False), (403, 50001, True), (403, 0, True)])
async def test_the_scope_hint_only_for_missing_access(
    world: World, connect: Connect, caplog: pytest.LogCaptureFixture, status: int, code: int, hint: bool
) -> None:
    world.fake.fail(r"PUT /applications/\d+/guilds/\d+/commands", status=status, code=code)
    with caplog.at_level(logging.ERROR, logger="adapters.discord.adapter"):
        _, sink = await connect()
    (line,) = [r.getMessage() for r in caplog.records if "could not register" in r.getMessage()]
    assert ("applications.commands" in line) is hint
    await world.fake.user_message(world.boston, world.ana, "relaying goes on")  # without commands
    await sink.wait(1, IncomingMessage)


async def test_a_malformed_command_sync_answer_does_not_stop_relaying(
    world: World, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    world.fake.fail(r"PUT /applications/\d+/guilds/\d+/commands", status=200)  # an object, not the command list
    with caplog.at_level(logging.ERROR, logger="adapters.discord.adapter"):
        _, sink = await connect()
    assert any("could not register" in r.getMessage() for r in caplog.records)
    await world.fake.user_message(world.boston, world.ana, "still relayed")
    await sink.wait(1, IncomingMessage)


async def test_a_deferral_answered_with_an_empty_body_still_answers_the_command(
    world: World, running: tuple[DiscordAdapter, Sink], caplog: pytest.LogCaptureFixture
) -> None:
    _, sink = running
    sink.answer = lambda event: Reply(plain("listo"), ephemeral=True)
    world.fake.empty_interaction_callbacks = True  # Spacebar answers the callback with no body
    with caplog.at_level(logging.WARNING):
        interaction = await world.fake.slash(world.boston, world.ana, "agora", {}, sub="status")
        await sink.wait(1, CommandInvoked)
        await world.fake.wait_for(lambda: interaction.followups)
    assert interaction.followups[0]["content"] == "listo"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "discord" in r.name]


async def missed_while_down(world: World, connect: Connect, route: str, status: int, code: int, count: int) -> None:
    """Stop the adapter, post one message in Boston and one in Lima, and fail ``route`` for the next start."""
    adapter, _ = await connect()
    await adapter.stop()
    world.fake.invalidate_sessions()
    await world.fake.user_message(world.boston, world.ana, "missed in boston", dispatch=False)
    await world.fake.user_message(world.lima, world.bob, "missed in lima", dispatch=False)
    world.fake.fail(route, status=status, code=code, count=count)


async def test_catch_up_keeps_the_channel_when_the_thread_listing_fails(
    world: World, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    await missed_while_down(world, connect, r"GET /guilds/\d+/threads/active", 404, 0, 5)
    with caplog.at_level(logging.WARNING, logger="adapters.discord.catchup"):
        _, sink = await connect()
    assert sorted(texts(sink)) == ["missed in boston", "missed in lima"]
    listing = [r for r in caplog.records if "active threads" in r.getMessage()]
    assert len(listing) == 1 and "HTTP 404" in listing[0].getMessage()  # logged once, with the reason


async def test_catch_up_keeps_the_other_channels_when_one_fails(
    world: World, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    await missed_while_down(world, connect, rf"GET /channels/{world.lima}/messages", 403, 50001, 1)
    with caplog.at_level(logging.WARNING, logger="adapters.discord.catchup"):
        second, sink = await connect()
    assert texts(sink) == ["missed in boston"]
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert failures == [f"catch-up: history of discord channel {world.lima} failed: HTTP 403 (code 50001) fake fault"]
    await second.stop()
    _, again = await connect()  # lima's mark did not move: its message comes on the next catch-up
    assert texts(again) == ["missed in lima"]
