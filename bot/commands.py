"""The command table: every command declared once, parsed once.

Slack builds its manifest and Discord its application-command tree from
:data:`COMMANDS`; both hand the raw argument text back to :func:`parse`, so a
command behaves the same on every platform. Descriptions are catalog keys
(``cmd.<name>``), rendered in the caller's language.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

from bot.errors import CommandError
from bot.languages import LANGUAGES, MODES

ArgKind = Literal["word", "words", "text", "int"]


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument: ``word`` (one token), ``words`` (one or more), ``text`` (rest of the line), ``int``."""

    name: str
    kind: ArgKind = "word"
    required: bool = True
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command: ``ask``, or a subcommand of ``agora`` (``group="agora"``)."""

    name: str
    group: str | None
    args: tuple[Arg, ...] = ()
    needs_link: bool = True
    manager_only: bool = False
    ephemeral: bool = True

    @property
    def path(self) -> str:
        """How a user types it, without the slash: ``ask`` or ``agora link``."""
        return f"{self.group} {self.name}" if self.group else self.name

    @property
    def help_key(self) -> str:
        """Catalog key of the one-line description."""
        return "cmd." + self.name

    def usage(self) -> str:
        """``/agora link <network> [code]``: the syntax line shown in help and errors."""
        parts = ["/" + self.path]
        for arg in self.args:
            label = "|".join(arg.choices) if arg.choices else arg.name
            if arg.kind == "words":
                label += "…"
            parts.append(f"<{label}>" if arg.required else f"[{label}]")
        return " ".join(parts)


LANG_CHOICES = LANGUAGES

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("ask", None, (Arg("question", "text"),)),
    CommandSpec(
        "link",
        "agora",
        (Arg("network"), Arg("code", required=False), Arg("city", "text", required=False)),
        needs_link=False,
        manager_only=True,
    ),
    CommandSpec("unlink", "agora", (), manager_only=True),
    CommandSpec("lang", "agora", (Arg("language", choices=LANG_CHOICES),), manager_only=True),
    CommandSpec("mode", "agora", (Arg("mode", choices=MODES),), manager_only=True),
    CommandSpec("subscribe", "agora", (Arg("topics", "words"),), manager_only=True),
    CommandSpec("unsubscribe", "agora", (Arg("topics", "words"),), manager_only=True),
    CommandSpec("topics", "agora", (Arg("days", "int", required=False),), ephemeral=False),
    CommandSpec("digest", "agora", (Arg("state", choices=("on", "off")),), manager_only=True),
    CommandSpec("search", "agora", (Arg("query", "text"),)),
    CommandSpec("original", "agora", (Arg("message"),)),
    CommandSpec("similar", "agora", (Arg("message"),)),
    CommandSpec(
        "glossary",
        "agora",
        (Arg("action", choices=("add", "remove", "list", "changes")), Arg("term", "text", required=False)),
    ),
    CommandSpec("tag", "agora", (Arg("message"), Arg("changes", "words")), manager_only=True),
    CommandSpec("status", "agora", (Arg("message", required=False),), needs_link=False),
    CommandSpec("retry", "agora", (Arg("message"),), manager_only=True),
    CommandSpec("help", "agora", (), needs_link=False),
)

GROUPS: tuple[str, ...] = ("ask", "agora")

ArgValue = str | int | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A command matched against its spec, with typed argument values."""

    spec: CommandSpec
    values: dict[str, ArgValue]

    def text(self, name: str, default: str = "") -> str:
        value = self.values.get(name, default)
        return value if isinstance(value, str) else default

    def words(self, name: str) -> tuple[str, ...]:
        value = self.values.get(name, ())
        return value if isinstance(value, tuple) else ()

    def number(self, name: str, default: int) -> int:
        value = self.values.get(name, default)
        return value if isinstance(value, int) else default


def find(path: str) -> CommandSpec | None:
    """The spec for ``ask`` or ``agora <sub>``."""
    for spec in COMMANDS:
        if spec.path == path:
            return spec
    return None


def parse(name: str, args: str) -> ParsedCommand:
    """Match ``/name args`` against the table.

    Raises CommandError with a catalog key (``error.unknown_command``,
    ``error.missing_arg``, ``error.bad_choice``, ``error.bad_int``,
    ``error.too_many_args``) so the caller gets the reason in their language.
    """
    args = args.replace("\x00", " ").strip()
    if name == "agora":
        sub, _, rest = args.partition(" ")
        sub = sub.strip().lower() or "help"
        spec = find(f"agora {sub}")
        if spec is None:
            raise CommandError("error.unknown_command", command=f"/agora {sub}"[:60])
        args = rest.strip()
    else:
        spec = find(name)
        if spec is None:
            raise CommandError("error.unknown_command", command=f"/{name}"[:60])
    return ParsedCommand(spec, _bind(spec, args))


def _bind(spec: CommandSpec, args: str) -> dict[str, ArgValue]:
    values: dict[str, ArgValue] = {}
    rest = args
    for arg in spec.args:
        if arg.kind == "text":
            if rest:
                values[arg.name] = rest
            rest = ""
        elif arg.kind == "words":
            tokens = _tokens(rest)
            if tokens:
                values[arg.name] = tuple(tokens)
            rest = ""
        else:
            token, _, rest = rest.partition(" ")
            rest = rest.strip()
            if not token:
                pass
            elif arg.kind == "int":
                # ASCII digits, few of them: "١" is not 1, and int() of 5,000 digits raises
                if not (token.isascii() and token.isdigit() and len(token) <= 4) or not 0 < int(token) <= 3650:
                    raise CommandError("error.bad_int", arg=arg.name, value=token[:40])
                values[arg.name] = int(token)
            else:
                if arg.choices and token.lower() not in arg.choices:
                    raise CommandError(
                        "error.bad_choice", arg=arg.name, value=token[:40], choices=", ".join(arg.choices)
                    )
                values[arg.name] = token.lower() if arg.choices else token
        if arg.required and arg.name not in values:
            raise CommandError("error.missing_arg", arg=arg.name, usage=spec.usage())
    if rest:
        raise CommandError("error.too_many_args", usage=spec.usage())
    return values


def _tokens(text: str) -> list[str]:
    """Split like a shell (quotes group words) but never fail on stray quotes."""
    try:
        return [t for t in shlex.split(text) if t]
    except ValueError:
        return text.split()
