"""Config errors name the full dotted key in every adapter's section (issue 12), loaded as `agora run` loads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.app import Agora
from bot.config import parse_config
from bot.errors import ConfigError
from testing.translator import MarkingTranslator

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("web", {"port": "8080"}, "adapters.web.port: expected a whole number"),
    ("web", {"max_text": "long"}, "adapters.web.max_text: expected a whole number"),
    ("web", {"pace": [1]}, "adapters.web.pace: expected a number"),
    ("web", {"hostname": "x"}, "adapters.web.hostname: unknown key"),
    ("web", {"host": "0.0.0.0"}, "adapters.web.host: '0.0.0.0' is not a loopback address"),
    ("slack", {"pace": "fast"}, "adapters.slack.pace: expected a number"),
    ("slack", {"timeout": True}, "adapters.slack.timeout: expected a number"),
    ("slack", {"http_port": "3000"}, "adapters.slack.http_port: expected a whole number"),
    ("slack", {"api_ulr": "http://127.0.0.1"}, "adapters.slack.api_ulr: unknown key"),
    ("discord", {"pace": "fast"}, "adapters.discord.pace"),
    ("discord", {"api_base": 7}, "adapters.discord.api_base"),
    ("discord", {"gatway_url": "ws://127.0.0.1"}, "adapters.discord.gatway_url: unknown key"),
]


@pytest.mark.parametrize(("adapter", "table", "message"), CASES, ids=[f"{a}-{next(iter(t))}" for a, t, _ in CASES])
def test_adapter_config_errors_name_the_full_key(
    tmp_path: Path, adapter: str, table: dict[str, Any], message: str
) -> None:
    config = parse_config(
        {"agora": {"database": str(tmp_path / "a.db")}, "adapters": {adapter: table}}, base=tmp_path, environ={}
    )
    with pytest.raises(ConfigError) as err:
        Agora(config, translator=MarkingTranslator(), environ={})
    assert str(err.value).startswith(message), str(err.value)


def test_glossary_members_must_be_true_or_false(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agora\.glossary_members: expected true or false"):
        parse_config({"agora": {"glossary_members": "yes"}}, base=tmp_path, environ={})


@pytest.mark.parametrize(
    ("table", "message"),
    [({"lease_seconds": 0}, "outbox.lease_seconds"), ({"poll_seconds": 100}, "outbox.poll_seconds")],
)
def test_outbox_lease_settings_are_checked(tmp_path: Path, table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"outbox": table}, base=tmp_path, environ={})
