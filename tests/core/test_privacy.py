"""Retention and erasure remove exactly what they say: checked on a dump of the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app import Agora
from bot.cli import main
from bot.events import Author, IncomingMessage, MessageEdited
from bot.retention import DAY, Retention, erase_author
from bot.richtext import plain
from bot.testing import CollectingAdapter
from testing.clock import ManualClock
from testing.polling import drain
from testing.translator import MarkingTranslator
from tests.core.conftest import BOSTON, GDL, RECIFE, demo_config

pytestmark = pytest.mark.usefixtures("backend")  # runs on SQLite and on PostgreSQL

ANA = Author("U-ana", "Ana Souza")
LUIS = Author("U-luis", "Luis Pérez")


def dump(agora: Agora) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables that hold content or bookkeeping, by table."""
    tables = ["messages", "message_translations", "translations", "copies", "posts", "outbox", "events"]
    return {t: sorted(tuple(r.values()) for r in agora.db.query(f"select * from {t}")) for t in tables}


async def started(tmp_path: Path, database: str, clock: ManualClock | None = None) -> tuple[Agora, CollectingAdapter]:
    adapter = CollectingAdapter("fake")
    config = demo_config(tmp_path / "agora.db", database=database)
    agora = Agora(
        config, adapters={"fake": adapter}, translator=MarkingTranslator(), clock=clock or ManualClock(1_800_000_000.0)
    )
    await agora.start()
    await adapter.emit(_command_mirror(agora))
    return agora, adapter


def _command_mirror(agora: Agora) -> Any:
    from bot.events import CommandInvoked

    async def ignore(_reply: Any) -> None:
        return None

    return CommandInvoked(BOSTON, Author("m", "Manager"), "agora", "mode mirror", ignore, can_manage=True)


async def post(agora: Agora, adapter: CollectingAdapter, pid: str, author: Author, text: str) -> int:
    await adapter.emit(IncomingMessage(BOSTON, pid, author, plain(text)))
    await drain(agora.outbox)
    msg = agora.store.original_at(BOSTON, pid)
    assert msg is not None
    return msg.id


async def test_erasing_one_author_removes_their_content_and_nothing_else(tmp_path: Path, database_url: str) -> None:
    agora, adapter = await started(tmp_path, database_url)
    ana = await post(agora, adapter, "p1", ANA, "Our shelter waitlist has 300 families")
    luis = await post(agora, adapter, "p2", LUIS, "We count people sleeping outside every January")
    agora.store.put_translation("k-ana", "e", "en", "es", "Our shelter waitlist has 300 families", "[es] x")
    agora.store.put_translation("k-luis", "e", "en", "es", "We count people sleeping outside every January", "y")
    before = dump(agora)

    result = erase_author(agora.store, "fake:s/U-ana", copies=False)

    after = dump(agora)
    assert result.removed.messages == 1 and result.removed.message_ids == (ana,)
    assert result.removed.translations == 2  # es and pt
    assert result.removed.cached_pieces == 1
    changed = {t for t in before if before[t] != after[t]}
    assert changed == {"messages", "message_translations", "translations"}
    ana_row = agora.store.message(ana)
    assert ana_row is not None and ana_row.text == () and ana_row.author_name == ""
    luis_row = agora.store.message(luis)
    assert luis_row is not None and luis_row.author_name == "Luis Pérez"
    assert {r[0] for r in after["message_translations"]} == {luis}
    assert [r[0] for r in after["translations"]] == ["k-luis"]
    # Search forgets her words and keeps his.
    assert agora.store.full_text.relayed("demo", ["shelter"]) == {}
    assert list(agora.store.full_text.relayed("demo", ["january"])) == [luis]
    # Relayed copies on the platforms are untouched without --copies.
    assert "[es] Our shelter waitlist has 300 families" in adapter.texts(GDL)
    await agora.stop(grace=1)


async def test_erasing_with_copies_deletes_them_on_the_platforms(tmp_path: Path, database_url: str) -> None:
    agora, adapter = await started(tmp_path, database_url)
    await post(agora, adapter, "p1", ANA, "Our shelter waitlist has 300 families")
    await post(agora, adapter, "p2", LUIS, "We count people sleeping outside every January")

    result = erase_author(agora.store, "fake:s/U-ana", copies=True)
    for ref in (GDL, RECIFE):
        agora.outbox.wake(ref)
    await drain(agora.outbox)

    assert result.copies_queued == 2
    assert adapter.texts(GDL) == ["[es] We count people sleeping outside every January"]
    assert adapter.texts(RECIFE) == ["[pt] We count people sleeping outside every January"]
    await agora.stop(grace=1)


async def test_retention_forgets_old_content_but_edits_still_reach_the_copies(
    tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock(1_800_000_000.0)
    agora, adapter = await started(tmp_path, database_url, clock)
    old = await post(agora, adapter, "p1", ANA, "Old question about heat pumps")
    clock.now += 40 * DAY
    new = await post(agora, adapter, "p2", LUIS, "New question about bus lanes")
    before = dump(agora)

    removed = Retention(agora.store, 30, clock).run_once()

    assert removed.message_ids == (old,)
    after = dump(agora)
    assert {r[0] for r in after["message_translations"]} == {new}
    assert [r for r in after["messages"] if r[0] == new] == [r for r in before["messages"] if r[0] == new]
    # Done deliveries of the old message are gone; the mapping to its posts stays.
    assert after["posts"] == before["posts"] and after["copies"] == before["copies"]
    assert len(after["outbox"]) < len(before["outbox"])
    # An edit of the old message still reaches its copies.
    await adapter.emit(MessageEdited(BOSTON, "p1", plain("Old question about heat pumps, edited")))
    await drain(agora.outbox)
    assert "[es] Old question about heat pumps, edited" in adapter.texts(GDL)
    # Nothing left to purge the second time.
    assert Retention(agora.store, 30, clock).run_once().messages == 0
    await agora.stop(grace=1)


def test_agora_erase_prints_what_it_removed(tmp_path: Path) -> None:
    db = tmp_path / "agora.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[agora]\ndatabase = "{db}"\n')
    runner = CliRunner()
    empty = runner.invoke(main, ["erase", "--config", str(config), "--author", "slack:T1/U1"])
    assert empty.exit_code == 0, empty.output
    assert "erased 0 messages by slack:T1/U1" in empty.output
    bad = runner.invoke(main, ["erase", "--config", str(config), "--author", "U1"])
    assert bad.exit_code != 0
    assert "expected platform:space/user" in bad.output
