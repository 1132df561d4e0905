"""The hot-topics report: what the network is wrestling with, and where.

Counts per topic the messages and distinct cities of the period, compares with
the period before, names the most discussed questions and, where channels
carry a country, breaks the counts down by region. The chart is drawn with
matplotlib's headless backend (the ``charts`` extra, :mod:`bot.charts`; in the
bot, in a child process), imported only when a chart is asked for; without the
extra ``/agora topics`` answers with the text alone.
"""

from __future__ import annotations

import copy
import logging
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bot.charts import BarChart, draw
from bot.errors import MissingExtra
from bot.events import Reply
from bot.i18n import Catalog
from bot.model import StoredMessage
from bot.reads import Reads
from bot.richtext import LineBreak, RichText, Segment, Styled, Text, to_plain
from bot.store import Store
from bot.store.counts import Window
from bot.topics import Tagger

log = logging.getLogger(__name__)

DAY = 86400.0
RELAYED_KINDS = ("question", "reply", "mirror")
T = TypeVar("T")
REGIONS_FILE = Path(__file__).with_name("data") / "regions.toml"


@dataclass(frozen=True, slots=True)
class TopicStat:
    """One topic's figures for the period."""

    slug: str
    messages: int
    cities: int
    previous: int
    regions: tuple[tuple[str, int], ...]
    top_questions: tuple[tuple[int, str, int], ...]  # (message id, text, replies)

    def change(self) -> float | None:
        """Relative change against the previous period; None when the topic is new."""
        if self.previous == 0:
            return None
        return (self.messages - self.previous) / self.previous


def load_regions(path: Path = REGIONS_FILE) -> dict[str, str]:
    """Country code -> region key (north, central, south)."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return {country: region for region, countries in data.items() for country in countries}


class Reports:
    """Builds hot-topic figures, their text, their chart and the weekly digest."""

    def __init__(
        self,
        store: Store,
        tagger: Tagger,
        catalog: Catalog,
        clock: Callable[[], float] = time.time,
        reads: Reads | None = None,
        draw_chart: Callable[[BarChart], bytes] = draw,
    ) -> None:
        self.store = store
        self.tagger = tagger
        self.catalog = catalog
        self.clock = clock
        self.regions = load_regions()
        self.reads = reads
        self.draw_chart = draw_chart  # bot.charts.ChartProcess in the bot: drawn in a child process

    def on(self, store: Store) -> Reports:
        """These reports read through ``store`` (the off-loop reader's connection)."""
        bound = copy.copy(self)
        bound.store = store
        return bound

    async def off_loop(self, work: Callable[[Reports], T]) -> T:
        """``work`` on these reports, run off the event loop when a reader is configured."""
        if self.reads is None:
            return work(self)
        return await self.reads.run(lambda store: work(self.on(store)))

    async def topics_reply(self, network: str, days: int, lang: str) -> Reply:
        """``/agora topics``: the report and its chart, computed off the loop."""
        return await self.off_loop(lambda reports: reports.hot_topics_reply(network, days, lang))

    def messages(self, network: str | None, since: float, until: float) -> list[StoredMessage]:
        networks = [network] if network else [n.name for n in self.store.networks()]
        out: list[StoredMessage] = []
        for name in networks:
            out += [m for m in self.store.messages_since(name, since, until) if m.kind in RELAYED_KINDS]
        return out

    def windows(self, network: str | None, since: float, until: float) -> list[Window]:
        """The window's counts in each network (``network=None``: every network)."""
        networks = [network] if network else [n.name for n in self.store.networks()]
        return [Window(self.store.db, name, since, until) for name in networks]

    def hot_topics(self, network: str | None, days: int) -> list[TopicStat]:
        """Per topic, busiest first; ``network=None`` covers every network (the CLI report).

        Reads the kept counts (:mod:`bot.store.counts`), so its cost follows the
        window, not the history; only the top questions' roots are read whole.
        """
        now = self.clock()
        current = self.windows(network, now - days * DAY, now + 1)
        prev_counts: Counter[str] = Counter()
        for window in self.windows(network, now - 2 * days * DAY, now - days * DAY):
            prev_counts.update(window.topics())
        places: Counter[tuple[str, str, str]] = Counter()
        first_thread: dict[tuple[str, str, str], int] = {}
        for window in current:
            counts, firsts = window.places()
            places.update(counts)
            for key, question in firsts.items():
                first_thread[key] = min(first_thread.get(key, question), question)
        stats: list[TopicStat] = []
        for slug in {topic for topic, _city, _country in places}:
            messages = 0
            cities: set[str] = set()
            regions: Counter[str] = Counter()
            first_seen: dict[str, int] = {}
            for (topic, city, country), n in places.items():
                if topic != slug:
                    continue
                messages += n
                cities.add(city)
                if country:
                    region = self.regions.get(country, "other")
                    regions[region] += n
                    seen = first_thread[(topic, city, country)]
                    first_seen[region] = min(first_seen.get(region, seen), seen)
            stats.append(
                TopicStat(
                    slug=slug,
                    messages=messages,
                    cities=len(cities),
                    previous=prev_counts.get(slug, 0),
                    regions=tuple(sorted(regions.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))),
                    top_questions=self.top_questions(current, slug),
                )
            )
        stats.sort(key=lambda s: (-s.messages, -s.cities, s.slug))
        return stats

    def top_questions(self, windows: list[Window], slug: str, wanted: int = 3) -> tuple[tuple[int, str, int], ...]:
        """The topic's questions with the most replies in the window whose question is still there and
        still carries the topic (only these roots are read whole)."""
        threads = sorted((t for w in windows for t in w.threads(slug)), key=lambda qn: (-qn[1], -qn[0]))
        top: list[tuple[int, str, int]] = []
        for qid, replies in threads:
            root = self.store.message(qid)
            if root is None or root.deleted or slug not in root.topics:
                continue
            top.append((qid, to_plain(root.text).replace("\n", " ")[:140], replies))
            if len(top) == wanted:
                break
        return tuple(top)

    def render(self, stats: list[TopicStat], days: int, lang: str) -> RichText:
        """The report as text, for platforms without images and as the image's caption."""
        t = self.catalog.t
        out: list[Segment] = [Styled("bold", (Text(t("report.title", lang, days=days)),))]
        if not stats:
            return (*out, LineBreak(), Text(t("report.none", lang, days=days)))
        for s in stats:
            change = s.change()
            label = t("report.new", lang) if change is None else f"{change:+.0%}"
            out += [
                LineBreak(),
                Text(
                    "• "
                    + t(
                        "report.line",
                        lang,
                        topic=self.tagger.name(s.slug, lang),
                        messages=s.messages,
                        cities=s.cities,
                        change=label,
                    )
                ),
            ]
            if s.regions:
                regions = ", ".join(f"{t('region.' + r, lang)} {n}" for r, n in s.regions)
                out += [LineBreak(), Text("   " + t("report.regions", lang, regions=regions))]
            for qid, text, n in s.top_questions[:2]:
                out += [LineBreak(), Text(f"   #{qid} {self.in_language(qid, text, lang)} ({n} ↩)")]
        return tuple(out)

    def in_language(self, message_id: int, original: str, lang: str) -> str:
        """A question as a reader of ``lang`` saw it: the stored translation, else the original marked
        with its language (``/agora original <id>`` shows it in full)."""
        msg = self.store.message(message_id)
        if msg is None or msg.lang == lang:
            return original
        stored = self.store.message_translation(message_id, lang)
        if stored is not None and stored.translated:
            return to_plain(stored.text).replace("\n", " ")[:140]
        return f"[{msg.lang}] {original}"

    def chart(self, stats: list[TopicStat], days: int, lang: str) -> bytes:
        """A PNG bar chart of this period against the previous one, labelled in ``lang``."""
        t = self.catalog.t
        shown = stats[:11]
        return self.draw_chart(
            BarChart(
                title=t("report.title", lang, days=days),
                axis=t("report.axis", lang),
                current_label=t("report.current", lang),
                previous_label=t("report.previous", lang),
                empty_text=t("report.none", lang, days=days),
                names=tuple(self.tagger.name(s.slug, lang) for s in shown)[::-1],
                current=tuple(s.messages for s in shown)[::-1],
                previous=tuple(s.previous for s in shown)[::-1],
            )
        )

    def hot_topics_reply(self, network: str, days: int, lang: str) -> Reply:
        """The report, with its chart when the ``charts`` extra is installed (else the text alone)."""
        stats = self.hot_topics(network, days)
        try:
            image: bytes | None = self.chart(stats, days, lang)
        except MissingExtra as exc:
            log.warning("%s", exc)
            image = None
        return Reply(
            self.render(stats, days, lang), ephemeral=False, image=image, image_name=f"agora-topics-{days}d.png"
        )

    def digest(self, network: str, lang: str, days: int = 7) -> RichText:
        """The weekly digest: hot topics plus questions nobody has answered yet."""
        t = self.catalog.t
        stats = self.hot_topics(network, days)
        out: list[Segment] = [Styled("bold", (Text(t("report.digest_title", lang)),)), LineBreak()]
        out += list(self.render(stats, days, lang))
        now = self.clock()
        unanswered = self.unanswered(network, now - days * DAY, now + 1)
        if unanswered:
            out += [LineBreak(), LineBreak(), Text(t("report.unanswered", lang))]
            for m in unanswered:
                text = self.in_language(m.id, to_plain(m.text).replace("\n", " ")[:140], lang)
                out += [LineBreak(), Text(f"• #{m.id} ({m.city}) {text}")]
        return tuple(out)

    def unanswered(self, network: str, since: float, until: float, limit: int = 10) -> list[StoredMessage]:
        """The first questions of the window that no one has answered, found by the database."""
        return self.store.unanswered(network, since, until, RELAYED_KINDS, limit)
