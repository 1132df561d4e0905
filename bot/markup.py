"""Platform markup, found by name in the entry-point group ``agora.markup``.

Parsers and renderers belong to the adapters (a module or object with
``parse(str) -> RichText`` and ``render(RichText) -> str``). Plain text needs no
adapter, so it is built in: ``plain`` always loads, and the core reads a
platform whose markup is not installed as plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import ConfigError
from bot.ports import load_plugin
from bot.richtext import RichText, plain, to_plain


@dataclass(frozen=True, slots=True)
class Markup:
    """One platform's markup: text to rich text and back."""

    name: str
    parse: Callable[[str], RichText]
    render: Callable[[RichText], str]


PLAIN = Markup("plain", plain, to_plain)


def load_markup(name: str) -> Markup:
    """The named markup; ConfigError when it is not installed (plain always is)."""
    try:
        found = load_plugin("agora.markup", name)
        parse, render = found.parse, found.render
    except (ConfigError, ImportError, AttributeError) as exc:
        if name == "plain":
            return PLAIN
        raise ConfigError(f"markup {name!r} is not available ({exc})") from exc
    if not callable(parse) or not callable(render):
        if name == "plain":
            return PLAIN
        raise ConfigError(f"markup {name!r} has no parse/render functions")
    return Markup(name, parse, render)


def parser_for(platform: str) -> Callable[[str], RichText]:
    """The platform's parser, or plain text when its markup is not installed."""
    try:
        return load_markup(platform).parse
    except ConfigError:
        return plain
