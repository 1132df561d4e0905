"""``agora translate`` and ``agora models`` through click, on tiny models and local servers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fixtures.translation_package_server import Offer, PackageServer, ThreadedServer
from translations.cli import models, translate


def write_config(tmp_path: Path, packages_dir: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[translation]\nbackend = "argos"\n[translation.argos]\npackages_dir = "{packages_dir}"\n{extra}'
    )
    return config


def test_translate_reads_lines_and_writes_one_translation_per_line(argos_dir: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, argos_dir)
    stdin = "hello world\nthe mayor said hello\n\nhello\n"
    result = CliRunner().invoke(
        translate, ["--to", "es", "--from", "en", "--markup", "plain", "--config", str(config)], input=stdin
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "hola mundo\nthe alcaldesa said hola\n\nhola\n"


def test_translate_detects_each_line_and_pivots(argos_dir: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, argos_dir)
    stdin = "hola mundo, la alcaldesa aprobó el plan de vivienda\nolá mundão, a prefeita aprovou o plano de habitação\n"
    result = CliRunner().invoke(
        translate, ["--to", "en", "--markup", "plain"], input=stdin, env={"AGORA_CONFIG": str(config)}
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "hello world, la mayor aprobó el plan de vivienda",
        "hello world, a mayor aprovou o plan de habitação",
    ]


@pytest.mark.parametrize(
    ("markup", "line", "want"),
    [
        (
            "slack",
            "hello <@U123> see <https://x.y/a|hello world> :tada: *mayor* `hello`",
            "hola <@U123> see <https://x.y/a|hola mundo> :tada: *alcaldesa* `hello`",
        ),
        (
            "discord",
            "hello <@123> see [hello world](https://x.y/a) **mayor** `hello`",
            "hola <@123> see [hola mundo](https://x.y/a) **alcaldesa** `hello`",
        ),
    ],
)
def test_translate_keeps_platform_markup(argos_dir: Path, tmp_path: Path, markup: str, line: str, want: str) -> None:
    if importlib.util.find_spec(f"adapters.{markup}.markup") is None:
        pytest.skip(f"adapters.{markup}.markup is not available")
    config = write_config(tmp_path, argos_dir)
    result = CliRunner().invoke(
        translate, ["--to", "es", "--from", "en", "--markup", markup, "--config", str(config)], input=line + "\n"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == want + "\n"


def test_translate_failure_prints_the_line_unchanged_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[translation]\nbackend = "libretranslate"\n'
        '[translation.libretranslate]\nurl = "http://127.0.0.1:9"\nretries = 0\n'
    )
    result = CliRunner().invoke(
        translate, ["--to", "es", "--from", "en", "--config", str(config)], input="hello <@U1>\nworld\n"
    )
    assert result.exit_code == 1
    assert result.stdout == "hello <@U1>\nworld\n"
    assert result.stderr.count("translation failed") == 1  # once per problem, not per line
    assert "2 line(s) left untranslated" in result.stderr


def test_translate_backend_option_and_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[translation]\nbackend = "argos"\n[translation.argos]\nbeam_size = 0\n')
    bad = CliRunner().invoke(translate, ["--to", "es", "--config", str(config)], input="hi\n")
    assert bad.exit_code == 1 and "translation.argos.beam_size" in bad.stderr
    config.write_text('[translation]\nbackend = "argos"\n')
    none = CliRunner().invoke(
        translate, ["--to", "es", "--backend", "none", "--markup", "plain", "--config", str(config)], input="hi\n"
    )
    assert none.exit_code == 0 and none.stdout == "hi\n"


def test_models_install_list_and_offline_file(
    tiny_archives: dict[tuple[str, str], Path], tmp_path: Path, argos_home: Path
) -> None:
    where = tmp_path / "packages"
    config = write_config(tmp_path, where)
    runner = CliRunner()
    server = PackageServer([Offer(a, b, p) for (a, b), p in tiny_archives.items() if (a, b) != ("pt", "es")])
    with ThreadedServer(server) as url:
        result = runner.invoke(
            models,
            ["install", "en-es", "es-en", "es-pt", "en-pt", "--config", str(config)],
            env={"AGORA_ARGOS_INDEX": url + "/index.json"},
        )
    assert result.exit_code == 0, result.output
    assert "en-es: installed" in result.stdout and "en-pt: missing" in result.stdout

    offline = runner.invoke(models, ["install", "--file", str(tiny_archives[("pt", "es")]), "--config", str(config)])
    assert offline.exit_code == 0, offline.output
    assert "pt-es 0.0.1: installed" in offline.stdout

    listed = runner.invoke(models, ["list", "--config", str(config)])
    assert listed.exit_code == 0
    assert "en-es  0.0.1" in listed.stdout and "pt-es  0.0.1" in listed.stdout
    assert "en-pt  via es" in listed.stdout and "pt-en  via es" in listed.stdout

    rejected = tmp_path / "bad.argosmodel"
    rejected.write_bytes(b"not a zip")
    bad = runner.invoke(models, ["install", "--file", str(rejected), "--packages-dir", str(where)])
    assert bad.exit_code == 1 and "rejected: bad.argosmodel: not a zip archive" in bad.stderr

    wrong = runner.invoke(models, ["install", "en-fr", "--packages-dir", str(where)])
    assert wrong.exit_code == 1 and "not a pair like en-es" in wrong.stderr


@pytest.mark.parametrize("markup", ["plain", "slack"])
def test_urls_in_text_reach_the_reader_byte_for_byte(argos_dir: Path, tmp_path: Path, markup: str) -> None:
    """A glossary term inside a URL typed as plain text (plain markup, or Slack text without angle
    brackets) is not replaced; the same term outside the URL is."""
    if markup == "slack" and importlib.util.find_spec("adapters.slack.markup") is None:
        pytest.skip("adapters.slack.markup is not available")
    glossary = tmp_path / "glossary.toml"
    glossary.write_text('[[terms]]\nterm = "transit"\nes = "transporte público"\n')
    config = tmp_path / "config.toml"
    config.write_text(
        f'[translation]\nbackend = "argos"\nglossary = "{glossary}"\n'
        f'[translation.argos]\npackages_dir = "{argos_dir}"\n'
    )
    urls = [
        "https://data.city.gov/datasets?tag=transit",
        "http://example.org/transit/hello_world_(2024)",
        "www.city.gov/transit#hello",
        "https://x.org/a?q=hello+world&lang=en",
    ]
    if markup == "slack":  # as Slack sends text: & < > as entities
        urls = [url.replace("&", "&amp;") for url in urls]
    stdin = "".join(f"hello transit, see {url}.\n" for url in urls)
    result = CliRunner().invoke(
        translate, ["--to", "es", "--from", "en", "--markup", markup, "--config", str(config)], input=stdin
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(urls)
    for url, line in zip(urls, lines, strict=True):
        assert line == f"hola transporte público, see {url}.", line
