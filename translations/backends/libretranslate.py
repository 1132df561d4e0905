"""LibreTranslate over HTTP: the way to move translation off the bot's machine.

A cluster of LibreTranslate servers behind a load balancer is how a large
network scales translation out, so the client is built for that: texts go in
batches (``q`` as a list, one request per batch), throttling (429) and server
errors (5xx) are retried with exponential backoff (honouring Retry-After), and
the API key is read from an environment variable and sent only in request
bodies, never logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from bot.languages import LANGUAGES
from bot.ports import Check
from translations.config import LibreTranslateSettings
from translations.engine import BackendError
from translations.protect import BRACKETS, Codec

log = logging.getLogger(__name__)

_RETRIABLE = {429, 500, 502, 503, 504}


class LibreTranslateEngine:
    """The ``libretranslate`` backend."""

    name = "libretranslate"
    codec: Codec = BRACKETS

    def __init__(self, settings: LibreTranslateSettings, environ: Mapping[str, str] = os.environ) -> None:
        if settings.url is None:
            raise ValueError("LibreTranslateEngine needs a url")
        self.settings = settings
        self.url: str = settings.url
        self._api_key = environ.get(settings.api_key_env) or None
        attempts = settings.retries + 1
        self.timeout = settings.timeout * attempts + settings.backoff * (2**attempts) + 1
        self._session: aiohttp.ClientSession | None = None
        self._pairs: frozenset[tuple[str, str]] | None = None
        self.requests = 0  # HTTP requests made (benchmarks)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.timeout))
        return self._session

    def version(self, source: str, target: str) -> str:
        return self.url

    async def pairs(self) -> frozenset[tuple[str, str]]:
        if self._pairs is None:
            data = await self._request("GET", "/languages", None)
            found: set[tuple[str, str]] = set()
            if isinstance(data, list):
                for lang in data:
                    if isinstance(lang, dict) and lang.get("code") in LANGUAGES:
                        found.update((str(lang["code"]), t) for t in lang.get("targets", LANGUAGES) if t in LANGUAGES)
            self._pairs = frozenset((a, b) for a, b in found if a != b)
        return self._pairs

    async def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        out: list[str] = []
        size = self.settings.batch_size
        for start in range(0, len(texts), size):
            batch = list(texts[start : start + size])
            body: dict[str, Any] = {"q": batch, "source": source, "target": target, "format": "text"}
            data = await self._request("POST", "/translate", body)
            translated = data.get("translatedText") if isinstance(data, dict) else None
            if isinstance(translated, str) and len(batch) == 1:
                translated = [translated]
            if not isinstance(translated, list) or len(translated) != len(batch):
                raise BackendError("bad answer", "translatedText missing or of the wrong length")
            out.extend(str(t) for t in translated)
        return out

    async def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        """One API call with retries; BackendError carries a problem key without secrets or text."""
        if body is not None and self._api_key:
            body = {**body, "api_key": self._api_key}
        attempts = self.settings.retries + 1
        problem, detail = "down", ""
        for attempt in range(attempts):
            wait: float | None = None
            try:
                self.requests += 1
                async with self._client().request(method, self.url + path, json=body) as resp:
                    if resp.status == 200:
                        return await resp.json(content_type=None)
                    message = await _error_message(resp)
                    if resp.status not in _RETRIABLE:
                        raise _permanent(resp.status, message, body)
                    problem, detail = f"http {resp.status}", message
                    wait = _retry_after(resp.headers.get("Retry-After"))
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = "timeout" if isinstance(exc, TimeoutError) else "down"
                detail = f"{self.url}: {type(exc).__name__}"
            except ValueError as exc:  # not JSON
                raise BackendError("bad answer", f"{path}: {exc}") from exc
            if attempt + 1 < attempts:
                delay = self.settings.backoff * (2**attempt) if wait is None else min(wait, self.settings.timeout)
                await asyncio.sleep(delay)
        raise BackendError(problem, detail)

    def checks(self) -> list[Check]:
        key = self.settings.api_key_env
        out = [
            Check("translation: libretranslate", True, f"server {self.url}"),
            Check(
                "translation: libretranslate api key",
                True,
                f"{key} is set" if self._api_key else f"{key} is not set (fine if the server needs no key)",
            ),
        ]
        if self._pairs is not None:
            pairs = ", ".join(f"{a}-{b}" for a, b in sorted(self._pairs))
            out.append(Check("translation: libretranslate pairs", bool(self._pairs), pairs or "none"))
        return out

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _permanent(status: int, message: str, body: dict[str, Any] | None) -> BackendError:
    if status == 400 and body is not None and ("support" in message.lower() or "language" in message.lower()):
        return BackendError(f"missing pair {body.get('source')}-{body.get('target')}", message)
    if status == 403:
        return BackendError("forbidden", f"{message} (check the API key variable)")
    return BackendError(f"http {status}", message)


async def _error_message(resp: aiohttp.ClientResponse) -> str:
    try:
        data = await resp.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return resp.reason or ""
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])[:200]
    return resp.reason or ""


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
