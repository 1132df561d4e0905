"""A missing optional install names the extra to install (issue 16).

Each case runs in a fresh interpreter where the optional library is made
unimportable (``sys.modules[name] = None``, as if it were not installed), then
loads the plugin the way ``agora run`` / the CLI do.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.errors import MissingExtra
from bot.extras import EXTRA_OF, missing_extra

ROOT = Path(__file__).resolve().parents[2]


def run_without(module: str, code: str) -> str:
    script = f"import sys\nsys.modules[{module!r}] = None\n" + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout + done.stderr


LOAD = """
from bot.errors import MissingExtra
from bot.ports import load_plugin
try:
    load_plugin({group!r}, {name!r})
except MissingExtra as exc:
    print("MISSING", exc.extra, exc)
else:
    print("LOADED")
"""


@pytest.mark.parametrize(
    ("module", "group", "name", "extra"),
    [
        ("slack_bolt", "agora.adapters", "slack", "slack"),
        ("slack_sdk", "agora.adapters", "slack", "slack"),
        ("discord", "agora.adapters", "discord", "discord"),
        ("discord", "agora.cli", "discord", "discord"),
    ],
)
def test_a_plugin_without_its_extra_names_the_extra(module: str, group: str, name: str, extra: str) -> None:
    out = run_without(module, LOAD.format(group=group, name=name))
    assert f"MISSING {extra} " in out, out
    assert f"pip install 'agora[{extra}]'" in out, out


def test_the_web_adapter_needs_no_extra() -> None:
    code = "import sys\nfor m in ('slack_bolt', 'slack_sdk', 'discord', 'argostranslate', 'matplotlib'):\n"
    code += "    sys.modules[m] = None\n" + LOAD.format(group="agora.adapters", name="web")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "LOADED" in done.stdout, done.stdout + done.stderr


def test_argos_without_its_extra_names_the_extra() -> None:
    out = run_without(
        "argostranslate",
        """
        from bot.errors import MissingExtra
        from translations.backends.argos import argos_runtime
        from translations.config import parse_settings
        try:
            argos_runtime(parse_settings({}).argos)
        except MissingExtra as exc:
            print("MISSING", exc.extra, exc)
        """,
    )
    assert "MISSING argos " in out and "pip install 'agora[argos]'" in out, out


def test_the_cli_lists_a_plugin_command_whose_extra_is_missing() -> None:
    out = run_without(
        "discord",
        """
        from click.testing import CliRunner
        from bot.cli import main
        print(CliRunner().invoke(main, ["discord"]).output)
        """,
    )
    assert "agora[discord]" in out, out


def test_models_install_progress_bar_names_the_argos_extra() -> None:
    out = run_without(
        "tqdm",
        """
        from bot.errors import MissingExtra
        from translations.cli import _bar
        try:
            _bar("en-es", 10, 0)
        except MissingExtra as exc:
            print("MISSING", exc.extra)
        """,
    )
    assert "MISSING argos" in out, out


def test_an_import_no_extra_provides_is_not_relabelled() -> None:
    assert missing_extra(ModuleNotFoundError("x", name="no_such_module"), "thing") is None
    found = missing_extra(ModuleNotFoundError("x", name="matplotlib.pyplot"), "the chart")
    assert isinstance(found, MissingExtra) and found.extra == "charts"


def test_every_extra_named_in_the_table_is_declared_in_pyproject() -> None:
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(EXTRA_OF.values()) <= set(declared)
    assert {"slack", "discord", "argos", "charts", "all"} <= set(declared)


def test_report_png_without_matplotlib_names_the_charts_extra(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[agora]\ndatabase = "{tmp_path / "a.db"}"\n')
    out = run_without(
        "matplotlib",
        f"""
        from click.testing import CliRunner
        from bot.cli import main
        result = CliRunner().invoke(main, ["report", "--config", {str(config)!r}, "--png", {str(tmp_path / "c.png")!r}])
        print(result.output)
        """,
    )
    assert "pip install 'agora[charts]'" in out, out


def test_the_topics_report_without_matplotlib_is_text_alone_and_says_which_extra() -> None:
    out = run_without(
        "matplotlib",
        """
        import logging
        from bot.i18n import default_catalog
        from bot.report import Reports
        from bot.richtext import to_plain
        from bot.store import Store, open_database
        from bot.topics import default_tagger
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
        reply = Reports(Store(open_database(":memory:")), default_tagger(), default_catalog()).hot_topics_reply(
            "wwc", 30, "en"
        )
        print("IMAGE", reply.image, "TEXT", bool(to_plain(reply.text)))
        """,
    )
    assert "IMAGE None TEXT True" in out, out
    assert "pip install 'agora[charts]'" in out, out
