"""Search keeps the same best matches whether they come from the index's first look or the full query."""

from __future__ import annotations

import pytest

from bot.events import ChannelRef
from bot.i18n import default_catalog
from bot.passthrough import PassThrough
from bot.search import Search
from bot.store import Store, fulltext, open_database
from bot.store.fulltext import SqliteFullText
from bot.topics import default_tagger
from testing.messages import add_message


def history() -> Store:
    store = Store(open_database(":memory:"))
    for network in ("demo", "other"):
        store.create_network(network, network.upper())
    for i in range(60):
        network = "other" if i % 3 else "demo"  # most of the best matches are in another network
        text = "zoning " + "filler " * i  # one score per length: no ties
        mid = add_message(store, network, ChannelRef("fake", "s", network), text, platform_id=str(i))
        if i % 7 == 0:
            store.delete_message(mid)
    return store


@pytest.mark.parametrize("first_look", [1, 5, 1000])
def test_the_first_look_and_the_full_query_find_the_same_matches(
    monkeypatch: pytest.MonkeyPatch, first_look: int
) -> None:
    store = history()
    engine = Search(store, default_tagger(), PassThrough(), default_catalog())
    expected = engine.by_words(store, "demo", "zoning", "en", ["zoning"])
    monkeypatch.setattr(fulltext, "MATCHES", 4)
    monkeypatch.setattr(fulltext, "FIRST_LOOK", first_look)
    found = SqliteFullText(store.db).best_matches(
        "messages_fts", fulltext.ORIGINALS, fulltext.ORIGINALS_FULL, '"zoning"*', "demo"
    )
    assert len(found) == 4
    best = sorted((h.score, h.message_id) for h in expected)[-4:]
    assert sorted((-score, mid) for mid, score in found) == best
