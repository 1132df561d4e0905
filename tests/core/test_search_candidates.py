"""Search ranks the newest ``CANDIDATES`` matches of a query: the trade-off that bounds its cost.

A word found in more of a network's messages than that has only its newest matches
ranked (older ones do not come up, however well they would score); a query with fewer
matches has them all ranked, however old. Both engines, through their own indexes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.events import ChannelRef
from bot.richtext import plain
from bot.store import MessageTranslation, Store, fulltext, open_database, postgres_search
from bot.store.fulltext import CANDIDATES, FullText, SqliteFullText
from bot.store.postgres_search import PostgresFullText
from bot.store.sql import SQLITE
from testing.messages import add_message

DEMO = ChannelRef("fake", "s", "demo")
OTHER = ChannelRef("fake", "s", "other")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(open_database(database_url))
    for network in ("demo", "other"):
        store.create_network(network, network.upper())
    yield store
    store.db.close()


def full_text(store: Store, candidates: int) -> FullText:
    if store.db.dialect == SQLITE:
        return SqliteFullText(store.db, candidates)
    return PostgresFullText(store.db, candidates)


def history(store: Store) -> dict[str, list[int]]:
    """An old rare word, an old best match of a common word, then many newer, longer matches of it
    among other networks' and deleted ones; ids by what they are, oldest first."""
    ids: dict[str, list[int]] = {"rare": [], "best": [], "common": [], "translated": []}
    ids["rare"].append(add_message(store, "demo", DEMO, "ransomware drill", platform_id="rare"))
    ids["best"].append(add_message(store, "demo", DEMO, "zoning", platform_id="best"))
    old = add_message(store, "demo", DEMO, "Como financiar habitação?", lang="pt", platform_id="pt")
    store.put_message_translation(MessageTranslation(old, "es", 1, plain("¿Cómo financiar la vivienda?"), "t", True))
    ids["translated"].append(old)
    for i in range(12):
        add_message(store, "other", OTHER, "zoning " + "filler " * i, platform_id=f"o{i}")
        mid = add_message(store, "demo", DEMO, "zoning " + "filler " * (i + 1), platform_id=f"d{i}")
        if i % 5 == 4:
            store.delete_message(mid)
        else:
            ids["common"].append(mid)
        translated = add_message(store, "demo", DEMO, "Reunión del consejo", lang="es", platform_id=f"t{i}")
        store.put_message_translation(MessageTranslation(translated, "pt", 1, plain("vivenda nova"), "t", True))
    return ids


@pytest.fixture(params=[1, 3, None], ids=lambda w: f"window{w or '-planned'}")
def windows(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL looks for the newest matches in windows of ids, the first as wide as the planner's estimate
    says; narrower first windows (as when it guesses too many matches) take more steps to the same answer."""
    width = request.param
    if width is not None:
        monkeypatch.setattr(postgres_search, "first_window", lambda *args: width)


@pytest.mark.usefixtures("windows")
def test_a_common_word_ranks_its_newest_matches_and_a_rare_one_is_found_however_old(store: Store) -> None:
    ids = history(store)
    bounded = full_text(store, candidates=4)
    common = bounded.relayed("demo", ["zoning"])
    assert sorted(common) == ids["common"][-4:]  # the network's 4 newest live matches, no other network's
    assert sorted(common, key=lambda i: -common[i]) == ids["common"][-4:]  # shorter (older here) ranks higher
    assert list(bounded.relayed("demo", ["ransomware"])) == ids["rare"]
    assert list(bounded.relayed("demo", ["vivienda"])) == ids["translated"]  # by its stored translation

    everything = full_text(store, candidates=CANDIDATES).relayed("demo", ["zoning"])
    assert sorted(everything) == sorted(ids["best"] + ids["common"])
    assert max(everything, key=lambda i: everything[i]) == ids["best"][0]  # what the bound leaves out


@pytest.mark.usefixtures("windows")
def test_a_query_with_fewer_matches_than_the_bound_is_ranked_as_without_it(store: Store) -> None:
    ids = history(store)
    terms = ["drill", "zoni", "vivienda", "vivenda"]  # prefixes from four letters, as everywhere
    assert full_text(store, candidates=len(ids["common"]) + 10).relayed("demo", terms) == full_text(
        store, candidates=10**9
    ).relayed("demo", terms)


@pytest.mark.usefixtures("windows")
def test_matches_in_stored_translations_are_bounded_the_same_way(store: Store) -> None:
    history(store)
    found = full_text(store, candidates=3).relayed("demo", ["vivenda"])
    newest = [int(r[0]) for r in store.db.execute("select id from messages where platform_id like 't%'").fetchall()]
    assert sorted(found) == sorted(newest)[-3:]


@pytest.mark.usefixtures("windows")
def test_when_enough_of_the_newest_are_kept_the_best_of_them_come_first(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fulltext, "MATCHES", 2)  # kept per index: fewer than the candidates, as in real use
    monkeypatch.setattr(postgres_search, "MATCHES", 2)
    add_message(store, "demo", DEMO, "zoning", platform_id="best")
    lengths = [5, 1, 7, 2, 9, 3]  # the newest four: 7, 2, 9, 3 fillers
    newest = [add_message(store, "demo", DEMO, "zoning " + "filler " * n, platform_id=str(n)) for n in lengths]
    found = full_text(store, candidates=4).relayed("demo", ["zoning"])
    assert sorted(found, key=lambda i: -found[i]) == [newest[3], newest[5]]  # 2 and 3 fillers: the best of 4


def test_a_window_that_found_too_few_sizes_the_next_by_what_it_found() -> None:
    assert postgres_search.next_window(1000, found=100, missing=900) == 13_500  # a tenth: nine times, half again
    assert postgres_search.next_window(1000, found=900, missing=100) == 2000  # never narrower than twice
    assert postgres_search.next_window(1000, found=0, missing=1000) == 1_500_000  # none: as if one was there
