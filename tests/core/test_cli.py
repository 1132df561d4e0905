from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_core_and_plugin_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("run", "doctor", "tag", "report", "bench", "models", "translate", "slack", "discord"):
        assert f"  {name}" in result.output
    for name in ("run", "doctor", "tag", "report", "bench"):
        sub = CliRunner().invoke(main, [name, "--help"])
        assert sub.exit_code == 0 and "Usage: main " + name in sub.output.replace("agora", "main")


def test_doctor_checks_the_shipped_config(tmp_path: Path) -> None:
    env = {"AGORA_DB": str(tmp_path / "doctor.db")}
    result = CliRunner().invoke(main, ["doctor", "--config", str(ROOT / "config.toml")], env=env)
    assert "[ok ] configuration" in result.output
    assert "[ok ] database" in result.output and "3 in config" in result.output
    assert "web playground" in result.output
    assert "[ok ] similar questions: use-multilingual-v3, 0 questions indexed, threshold 0.41" in result.output


def test_doctor_names_the_offending_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[agora]\ndefault_lang = "fr"\n')
    result = CliRunner().invoke(main, ["doctor", "--config", str(bad)])
    assert result.exit_code == 1
    assert "agora.default_lang: 'fr' is not one of en, es, pt" in result.output


def test_run_refuses_a_bad_config_with_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[networks]]\nname = "n"\n')
    result = CliRunner().invoke(main, ["run", "--config", str(bad)])
    assert result.exit_code == 1
    assert "networks[0].name" in result.output


def test_tag_prints_one_json_object_per_line(tmp_path: Path) -> None:
    lines = [
        "How many shelter beds did you add after ARPA?",
        "¿Qué ciudades tienen una política de IA generativa para su personal?",
        "Obrigada, até amanhã!",
    ]
    result = CliRunner().invoke(
        main,
        ["tag", "--json"],
        input="\n".join(lines) + "\n",
        env={"AGORA_CONFIG": str(ROOT / "config.toml"), "AGORA_DB": str(tmp_path / "t.db")},
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert rows[0] == {"lang": "en", "topics": ["homelessness", "budget"]} or rows[0]["topics"][0] == "homelessness"
    assert rows[1]["lang"] == "es" and "ai" in rows[1]["topics"]
    assert rows[2] == {"lang": "pt", "topics": []}


def test_report_writes_text_and_a_png(tmp_path: Path) -> None:
    png = tmp_path / "chart.png"
    env = {"AGORA_DB": str(tmp_path / "r.db")}
    result = CliRunner().invoke(
        main,
        ["report", "--days", "30", "--png", str(png), "--lang", "pt", "--config", str(ROOT / "config.toml")],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "Temas em alta, últimos 30 dias" in result.output
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_bench_prints_one_json_object_with_the_relay_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    import benchmarks.relay

    monkeypatch.setattr(benchmarks.relay, "MESSAGES", 10)
    monkeypatch.setattr(benchmarks.relay, "WARM_UP", 2)
    monkeypatch.setattr(benchmarks.relay.run, "__defaults__", (10, 2))
    result = CliRunner().invoke(main, ["bench", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["channels"] == 50 and figures["messages"] == 10
    assert figures["relay_p50_ms"] > 0 and figures["relay_p99_ms"] >= figures["relay_p50_ms"]
    assert figures["messages_per_s"] > 0


def test_bench_old_suite_names_still_run_under_their_new_names(monkeypatch: pytest.MonkeyPatch) -> None:
    import benchmarks.translation_overhead

    monkeypatch.setattr(benchmarks.translation_overhead, "run", lambda: {"ratio": 1.2})
    result = CliRunner().invoke(main, ["bench", "--json", "translate"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"translation_overhead": {"ratio": 1.2}}
    assert "'translate' is now 'translation_overhead'" in result.stderr
