"""One reader for every config.toml section: the core's, the translator's and each adapter's.

Every error names the full dotted key (``adapters.slack.pace: expected a number,
got 'fast'``) and every section rejects keys it does not know, so a typo stops
``agora run`` up front instead of becoming a silent default. A section is read
either key by key through :class:`Table`, or declared as a frozen dataclass whose
field defaults give each key's type and :func:`read_dataclass` reads it whole
(how the adapters declare their settings in a few lines).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import ConfigError

T = TypeVar("T")


class _Required:
    """Marks a key without a default: leaving it out is an error."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


class Table:
    """Typed reads from one TOML table, each error naming ``prefix.key``."""

    def __init__(self, raw: Any, prefix: str = "") -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{prefix}: expected a table, got {raw!r}")
        self.raw: Mapping[str, Any] = raw
        self.prefix = prefix

    def name(self, key: str) -> str:
        """The full dotted name of ``key``, as every error message spells it."""
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, problem: str) -> ConfigError:
        """A ConfigError for ``key`` (raise it): ``prefix.key: problem``."""
        return ConfigError(f"{self.name(key)}: {problem}")

    def only(self, allowed: Iterable[str]) -> None:
        """Reject the first key not in ``allowed``."""
        known = sorted(allowed)
        for key in self.raw:
            if key not in known:
                raise self.fail(key, f"unknown key (expected one of {', '.join(known)})")

    def sub(self, key: str) -> Table:
        """The nested table ``key`` (empty when absent)."""
        return Table(self.raw.get(key, {}), self.name(key))

    def _value(self, key: str, default: Any) -> Any:
        if key not in self.raw:
            if default is REQUIRED:
                raise self.fail(key, "is required")
            return default
        return self.raw[key]

    def string(self, key: str, default: str = REQUIRED) -> str:
        value = self._value(key, default)
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {value!r}")
        return value

    def boolean(self, key: str, default: bool = REQUIRED) -> bool:
        value = self._value(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def integer(self, key: str, default: int = REQUIRED, *, minimum: int | None = None) -> int:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be at least {minimum}")
        return value

    def number(
        self, key: str, default: float = REQUIRED, *, positive: bool = False, maximum: float | None = None
    ) -> float:
        """A float; ints are accepted. Negative numbers are refused (no setting wants one)."""
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {value!r}")
        if value < 0 or (positive and value == 0):
            raise self.fail(key, f"must be {'positive' if positive else 'zero or more'}")
        if maximum is not None and value > maximum:
            raise self.fail(key, f"must be at most {maximum}")
        return float(value)

    def strings(self, key: str, default: tuple[str, ...] = REQUIRED) -> tuple[str, ...]:
        value = self._value(key, list(default) if isinstance(default, tuple) else default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of strings, got {value!r}")
        return tuple(value)

    def choice(self, key: str, choices: Iterable[str], default: str = REQUIRED) -> str:
        value = self.string(key, default)
        options = tuple(choices)
        if value not in options:
            raise self.fail(key, f"{value!r} is not one of {', '.join(options)}")
        return value

    def path(self, key: str) -> Path | None:
        """A path with ``~`` expanded, or None when absent or empty."""
        value = self.string(key, "")
        return Path(value).expanduser() if value else None


def read_dataclass(cls: type[T], raw: Any, prefix: str) -> T:
    """Build the settings dataclass ``cls`` from a table: one key per field.

    Each field's default says its type (bool, int, float, str, or a tuple of
    strings); unknown keys and wrong types raise a ConfigError naming
    ``prefix.key``. Range checks stay with the dataclass (see :func:`check`).
    """
    table = Table(raw, prefix)
    defaults = {f.name: f.default for f in fields(cls)}  # type: ignore[arg-type]
    table.only(defaults)
    values: dict[str, Any] = {}
    for key in table.raw:
        default = defaults[key]
        if default is MISSING:
            raise TypeError(f"{cls.__name__}.{key} needs a default to be read from config")
        if isinstance(default, bool):
            values[key] = table.boolean(key)
        elif isinstance(default, int):
            values[key] = table.integer(key)
        elif isinstance(default, float):
            values[key] = _any_number(table, key)
        elif isinstance(default, tuple):
            values[key] = table.strings(key)
        else:
            values[key] = table.string(key)
    return cls(**values)


def _any_number(table: Table, key: str) -> float:
    value = table.raw[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise table.fail(key, f"expected a number, got {value!r}")
    return float(value)


def check(ok: bool, prefix: str, key: str, problem: str) -> None:
    """Raise ``prefix.key: problem`` unless ``ok``: the one-line range check of a settings class."""
    if not ok:
        raise Table({}, prefix).fail(key, problem)
