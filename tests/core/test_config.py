from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config, parse_config
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def channel(**kw: object) -> dict[str, object]:
    return {"ref": "web:demo/a", "city": "A", "lang": "en", **kw}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"agora": {"databse": "x"}}, "agora.databse: unknown key"),
        ({"agora": {"default_lang": "fr"}}, "agora.default_lang: 'fr' is not one of en, es, pt"),
        ({"networks": [{"name": "x y", "channels": []}]}, "networks[0].name"),
        ({"networks": [{"name": "n1", "channels": [channel(lang="de")]}]}, "networks[0].channels[0].lang"),
        ({"networks": [{"name": "n1", "channels": [channel(ref="slack-T1-C1")]}]}, "networks[0].channels[0].ref"),
        ({"networks": [{"name": "n1", "channels": [channel(mode="all")]}]}, "networks[0].channels[0].mode"),
        ({"networks": [{"name": "n1", "channels": [channel(country="Brazil")]}]}, "networks[0].channels[0].country"),
        ({"networks": [{"name": "n1", "channels": [channel(), channel()]}]}, "networks[0].channels[1].ref"),
        (
            {"networks": [{"name": "n1", "channels": [{"ref": "web:a/b", "lang": "en"}]}]},
            "channels[0].city: is required",
        ),
        ({"adapters": {"web": {"enabled": "yes"}}}, "adapters.web.enabled"),
        ({"agora": {"digest": {"hour": 25}}}, "agora.digest.hour"),
        ({"outbox": {"max_attempts": "8"}}, "outbox.max_attempts: expected a whole number"),
    ],
)
def test_config_errors_name_the_offending_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        parse_config(raw, base=Path("/tmp"))
    assert message in str(err.value)


def test_the_shipped_config_runs_three_demo_cities_on_the_web_adapter() -> None:
    config = load_config(ROOT / "config.toml", environ={})
    assert config.enabled_adapters() == ["web"]
    (demo,) = config.networks
    assert sorted(c.lang for c in demo.channels) == ["en", "es", "pt"]
    assert all(c.ref.platform == "web" for c in demo.channels)
    assert config.adapters["web"]["port"] == 8080


def test_environment_picks_the_file_and_the_database(tmp_path: Path) -> None:
    cfg = tmp_path / "agora.toml"
    cfg.write_text('[agora]\ndatabase = "here.db"\n')
    assert load_config(None, environ={"AGORA_CONFIG": str(cfg)}).database == tmp_path / "here.db"
    other = load_config(cfg, environ={"AGORA_DB": str(tmp_path / "x.db")})
    assert other.database == tmp_path / "x.db"
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[agora\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, environ={})
