"""The Translator the core talks to, shared by every backend.

It owns what must be right once rather than once per engine: markup and
glossary protection (:mod:`translations.protect`), the persistent cache, one
engine call for many identical concurrent requests (the fan-out of one
message to many channels of a language), pivoting through es or en when an
engine lacks a direct pair, timeouts, and logging a failing backend once per
problem instead of once per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.errors import TranslationError
from bot.languages import DEFAULT_PIVOTS
from bot.passthrough import PassThrough
from bot.ports import Check, GlossaryTerm, Translation, TranslationCache
from bot.richtext import RichText, is_blank, normalise
from translations.cache import cache_key
from translations.detect import LanguageDetector
from translations.engine import BackendError, Engine
from translations.glossary import Glossary
from translations.protect import Plan

log = logging.getLogger(__name__)

Route = list[tuple[str, str]]


class ProblemLog:
    """Remembers what is wrong with a backend: one warning per problem, one note on recovery."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.problems: dict[str, str] = {}

    def report(self, problem: str, detail: str) -> None:
        if problem not in self.problems:
            log.warning("translation backend %s: %s (%s); copies go out untranslated", self.backend, problem, detail)
        self.problems[problem] = detail

    def recovered(self) -> None:
        if self.problems:
            log.info("translation backend %s works again (was: %s)", self.backend, ", ".join(sorted(self.problems)))
            self.problems.clear()

    def checks(self) -> list[Check]:
        return [
            Check(f"translation: {self.backend} {problem}", False, detail, "see the log; run `agora doctor` again")
            for problem, detail in sorted(self.problems.items())
        ]


class EngineTranslator:
    """A :class:`bot.ports.Translator` over one :class:`translations.engine.Engine`."""

    def __init__(
        self,
        engine: Engine,
        cache: TranslationCache,
        *,
        detector: LanguageDetector | None = None,
        glossary: Glossary | None = None,
        pivots: Sequence[str] = DEFAULT_PIVOTS,
    ) -> None:
        self.engine = engine
        self.name = engine.name
        self.cache = cache
        self.detector = detector or LanguageDetector()
        self.glossary = glossary or Glossary.load()
        self.pivots = tuple(pivots)
        self.problems = ProblemLog(engine.name)
        self._inflight: dict[str, asyncio.Future[str]] = {}
        self.engine_calls = 0  # engine round trips made, for benchmarks and tests

    def detect(self, text: str, prior: str | None) -> str:
        return self.detector.detect(text, prior)

    async def translate(
        self, text: RichText, source: str, target: str, glossary: Sequence[GlossaryTerm] = ()
    ) -> Translation:
        if source == target or is_blank(text):
            return Translation(text, False, self.name)
        plan = Plan(text, self.glossary.matcher(glossary), self.engine.codec)
        if not plan.runs:  # nothing but mentions, links, emoji, code or glossary terms
            result = plan.result(target)
            return Translation(result, result != normalise(text), self.name)
        try:
            route = await self.route(source, target)
            fallback = plan.accept(await self._through(plan.requests(), route))
            if fallback:
                plan.accept_fallback(await self._through(fallback, route))
        except BackendError as exc:
            self.problems.report(exc.problem, exc.detail)
            raise
        except TranslationError as exc:
            self.problems.report(str(exc), "")
            raise
        self.problems.recovered()
        return Translation(plan.result(target), True, self.name)

    async def route(self, source: str, target: str) -> Route:
        """The direct pair, or two hops through the first pivot language that joins them."""
        pairs = await self.engine.pairs()
        if (source, target) in pairs:
            return [(source, target)]
        for pivot in self.pivots:
            if pivot not in (source, target) and (source, pivot) in pairs and (pivot, target) in pairs:
                return [(source, pivot), (pivot, target)]
        raise BackendError(f"missing pair {source}-{target}", f"installed: {_pairs(pairs) or 'none'}")

    async def _through(self, texts: list[str], route: Route) -> list[str]:
        for source, target in route:
            if not texts:
                break
            texts = await self._hop(texts, source, target)
        return texts

    async def _hop(self, texts: list[str], source: str, target: str) -> list[str]:
        """Translate one hop: cached answers first, then one engine call for what nobody is already fetching."""
        version = self.engine.version(source, target)
        keys = [cache_key(self.engine.name, version, source, target, text) for text in texts]
        results: dict[str, str] = {}
        waiting: dict[str, asyncio.Future[str]] = {}
        mine: dict[str, tuple[str, asyncio.Future[str]]] = {}
        loop = asyncio.get_running_loop()
        for key, text in zip(keys, texts, strict=True):
            if key in results or key in waiting or key in mine:
                continue
            hit = self.cache.get_translation(key)
            if hit is not None:
                results[key] = hit
            elif key in self._inflight:
                waiting[key] = self._inflight[key]
            else:
                fut: asyncio.Future[str] = loop.create_future()
                self._inflight[key] = fut
                mine[key] = (text, fut)
        if mine:
            await self._fetch(mine, source, target, version)
            results.update((key, fut.result()) for key, (_, fut) in mine.items())
        for key, fut in waiting.items():
            results[key] = await asyncio.shield(fut)
        return [results[key] for key in keys]

    async def _fetch(
        self, mine: dict[str, tuple[str, asyncio.Future[str]]], source: str, target: str, version: str
    ) -> None:
        inputs = [text for text, _ in mine.values()]
        failure: BaseException | None = None
        try:
            self.engine_calls += 1
            async with asyncio.timeout(self.engine.timeout):
                outputs = await self.engine.translate(inputs, source, target)
            if len(outputs) != len(inputs):
                raise BackendError("bad answer", f"{len(outputs)} results for {len(inputs)} texts")
        except TimeoutError:
            failure = BackendError("timeout", f"no answer within {self.engine.timeout:g}s")
        except TranslationError as exc:
            failure = exc
        except Exception as exc:  # a library error the backend did not translate into ours
            failure = BackendError("engine error", f"{type(exc).__name__}: {exc}")
        except BaseException:  # cancelled: whoever waits on these keys must not hang
            self._fail(mine, BackendError("interrupted", "the request was cancelled"))
            raise
        if failure is not None:
            self._fail(mine, failure)
            raise failure
        for (key, (text, fut)), output in zip(mine.items(), outputs, strict=True):
            self.cache.put_translation(key, self.engine.name, source, target, text, output)
            fut.set_result(output)
            self._inflight.pop(key, None)

    def _fail(self, mine: dict[str, tuple[str, asyncio.Future[str]]], exc: BaseException) -> None:
        for key, (_, fut) in mine.items():
            self._inflight.pop(key, None)
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()  # mark retrieved: waiters get it, nobody gets a "never retrieved" warning

    def checks(self) -> list[Check]:
        return [*self.engine.checks(), *self.problems.checks()]

    async def close(self) -> None:
        await self.engine.close()


# The backend "none" is the core's pass-through, with this package's detector (see translations.create).
PassThroughTranslator = PassThrough


def _pairs(pairs: frozenset[tuple[str, str]]) -> str:
    return ", ".join(f"{a}-{b}" for a, b in sorted(pairs))
