"""``agora translate`` and ``agora models``: translation from the shell.

The core CLI mounts every ``agora.cli`` entry point as a subcommand; these two
read the ``[translation]`` table of the same config file the bot uses
(``--config``, else ``AGORA_CONFIG``, else ./config.toml), so what works here
works in ``agora run``.
"""

from __future__ import annotations

import asyncio
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import click

from bot.errors import ConfigError, TranslationError
from bot.extras import import_extra
from bot.languages import DEFAULT_PIVOTS, LANGUAGES
from bot.markup import Markup, load_markup
from bot.ports import TranslationCache, Translator
from bot.richtext import to_plain
from translations import create
from translations.cache import MemoryCache, NullCache
from translations.config import BACKENDS, parse_settings
from translations.models import ALL_PAIRS, Progress, install_files, install_pairs, parse_pair
from translations.packages import PackageError, installed_packages

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="AGORA_CONFIG",
    default=None,
    help="config.toml to read [translation] from (default: $AGORA_CONFIG, else ./config.toml).",
)


def translation_table(config_path: Path | None) -> dict[str, Any]:
    """The ``[translation]`` table; an absent default config.toml means all defaults."""
    path = config_path or Path("config.toml")
    if not path.exists():
        if config_path is not None:
            raise click.ClickException(f"config file {path} not found")
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    table = doc.get("translation", {})
    if not isinstance(table, dict):
        raise click.ClickException(f"{path}: [translation] must be a table")
    return table


# ------------------------------------------------------------------ translate


@click.command("translate")
@click.option("--to", "target", required=True, type=click.Choice(LANGUAGES), help="Language to translate into.")
@click.option("--from", "source", type=click.Choice(LANGUAGES), default=None, help="Source language (detected).")
@click.option("--backend", type=click.Choice(BACKENDS), default=None, help="Override translation.backend.")
@click.option("--markup", "markup_name", default="slack", show_default=True, help="slack, discord or plain.")
@click.option("--no-cache", is_flag=True, help="Do not reuse translations of repeated lines.")
@CONFIG_OPTION
def translate(
    target: str,
    source: str | None,
    backend: str | None,
    markup_name: str,
    no_cache: bool,
    config_path: Path | None,
) -> None:
    """Translate stdin, one message per line, to stdout, one translation per line.

    Markup (mentions, links, emoji, code, formatting) is kept. A line that
    cannot be translated is printed unchanged and the exit status is 1.
    """
    table = translation_table(config_path)
    if backend is not None:
        table = {**table, "backend": backend}
    cache: TranslationCache = NullCache() if no_cache else MemoryCache()
    try:
        markup = load_markup(markup_name)
        translator = create(table, cache)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    failed = asyncio.run(_translate_stream(translator, markup, source, target, sys.stdin, sys.stdout))
    if failed:
        click.echo(f"{failed} line(s) left untranslated", err=True)
        sys.exit(1)


async def _translate_stream(
    translator: Translator, markup: Markup, source: str | None, target: str, stdin: TextIO, stdout: TextIO
) -> int:
    failed = 0
    problems: set[str] = set()
    try:
        while True:
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            text = markup.parse(line.rstrip("\r\n"))
            lang = source or translator.detect(to_plain(text), None)
            try:
                result = await translator.translate(text, lang, target)
                out = result.text
            except TranslationError as exc:
                failed += 1
                if str(exc) not in problems:
                    problems.add(str(exc))
                    click.echo(f"translation failed: {exc}", err=True)
                out = text
            stdout.write(markup.render(out).replace("\n", " ") + "\n")
            stdout.flush()
    finally:
        await translator.close()
    return failed


# --------------------------------------------------------------------- models


@click.group("models")
def models() -> None:
    """Argos translation models: list what is installed, install more."""


def _packages_dir(config_path: Path | None, override: Path | None) -> Path:
    if override is not None:
        return override
    try:
        return parse_settings(translation_table(config_path)).argos.packages_dir
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


PACKAGES_OPTION = click.option(
    "--packages-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Override translation.argos.packages_dir.",
)


@models.command("list")
@PACKAGES_OPTION
@CONFIG_OPTION
def list_models(packages_dir: Path | None, config_path: Path | None) -> None:
    """Show installed packages and how each en/es/pt direction is served."""
    where = _packages_dir(config_path, packages_dir)
    packages = installed_packages(where)
    click.echo(f"packages in {where}:")
    for pkg in packages:
        click.echo(f"  {pkg.from_code}-{pkg.to_code}  {pkg.version}  {pkg.path.name}")
    if not packages:
        click.echo("  (none) - run `agora models install`")
    have = {p.pair for p in packages}
    for a, b in ALL_PAIRS:
        if (a, b) in have:
            continue
        via = next((p for p in DEFAULT_PIVOTS if (a, p) in have and (p, b) in have), None)
        click.echo(f"  {a}-{b}  " + (f"via {via}" if via else "not available"))


@models.command("install")
@click.argument("pairs", nargs=-1)
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Install a local .argosmodel file (offline); repeatable.",
)
@click.option("--index", "index_url", default=None, help="Package index URL (default: config, $AGORA_ARGOS_INDEX).")
@PACKAGES_OPTION
@CONFIG_OPTION
def install(
    pairs: Sequence[str],
    files: Sequence[Path],
    index_url: str | None,
    packages_dir: Path | None,
    config_path: Path | None,
) -> None:
    """Install models for PAIRS (e.g. en-es pt-en; default: all six), or from --file.

    Downloads resume where they stopped; packages are verified before they
    are installed, and pairs already installed are skipped.
    """
    try:
        settings = parse_settings(translation_table(config_path))
        wanted = [parse_pair(p) for p in pairs]
    except (ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    where = packages_dir or settings.argos.packages_dir
    failed = False
    if files:
        for path, pkg, status in install_files(list(files), where):
            if pkg is None:
                failed = True
                click.echo(f"{path.name}: rejected: {status}", err=True)
            else:
                click.echo(f"{pkg.from_code}-{pkg.to_code} {pkg.version}: {status} ({path.name})")
    if pairs or not files:
        try:
            outcomes = asyncio.run(
                install_pairs(wanted or list(ALL_PAIRS), where, index_url or settings.argos.index_url, progress=_bar)
            )
        except PackageError as exc:
            raise click.ClickException(str(exc)) from exc
        for outcome in outcomes:
            pair = f"{outcome.pair[0]}-{outcome.pair[1]}"
            line = f"{pair}: {outcome.status}" + (f" - {outcome.detail}" if outcome.detail else "")
            click.echo(line, err=outcome.status == "failed")
            failed = failed or outcome.status == "failed"
    if failed:
        sys.exit(1)


def _bar(name: str, total: int | None, initial: int) -> Progress:
    tqdm = import_extra("tqdm", "agora models install").tqdm
    bar: Progress = tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=name,
        file=sys.stderr,
        disable=None,
    )
    return bar
