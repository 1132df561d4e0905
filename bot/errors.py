"""The small error hierarchy every layer shares.

Adapters and backends catch their libraries' exceptions at the boundary and
raise one of these, so the core decides what to retry, park or report without
knowing any platform.
"""

from __future__ import annotations


class AgoraError(Exception):
    """Base class for errors Agora raises on purpose."""


class ConfigError(AgoraError):
    """The configuration is wrong; the message names the offending key."""


class StoreError(AgoraError):
    """The database could not be opened or migrated."""


class DeliveryError(AgoraError):
    """A platform refused or failed a post, edit or delete.

    ``retriable`` separates throttling and outages (try again later, after
    ``retry_after`` seconds when the platform said so) from permanent refusals
    (no such channel, missing scope), which the outbox parks with the reason.
    ``uncertain`` marks failures after which the post may still appear (the
    request timed out or the connection broke after it was sent): the outbox
    then waits long enough for it to land before looking for it by nonce.
    """

    def __init__(
        self, reason: str, *, retriable: bool, retry_after: float | None = None, uncertain: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retriable = retriable
        self.retry_after = retry_after
        self.uncertain = uncertain  # the platform may still act on it (a timeout, a cut connection)


class TranslationError(AgoraError):
    """A translation backend is down, slow or lacks the pair; the copy goes out untranslated."""


class CommandError(AgoraError):
    """A command was refused; ``key`` and ``params`` pick the caller-language message."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class MissingExtra(ConfigError):
    """A configured part needs an optional install; ``extra`` is what to ``pip install 'agora[extra]'``."""

    def __init__(self, message: str, extra: str) -> None:
        super().__init__(message)
        self.extra = extra
