"""The deployment files hold together: no container engine runs here, so they are parsed and cross-checked.

The Dockerfile is read with dockerfile-parse, compose.yaml with PyYAML, the
container's config.toml with Agora's own config parser and the systemd unit
with configparser.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from dockerfile_parse import DockerfileParser

from bot.config import parse_config

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[dict[str, Any]]:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    found: list[dict[str, Any]] = parser.structure
    return found


def test_dockerfile_is_slim_python_311_with_apertium_from_the_lock_as_a_user_with_a_healthcheck() -> None:
    steps = instructions()
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", parser.baseimage or "")
    runs = " ".join(s["value"] for s in steps if s["instruction"] == "RUN")
    assert "apt-get install" in runs and all(p in runs for p in ("apertium", "apertium-eng-spa", "apertium-es-pt"))
    assert "pip install -r requirements.lock" in runs
    users = [s["value"] for s in steps if s["instruction"] == "USER"]
    assert users and users[-1] not in ("root", "0")
    # Every COPY source exists in the checkout and is not excluded by .dockerignore.
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    for step in steps:
        if step["instruction"] == "COPY":
            *sources, _target = step["value"].split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/").removeprefix("./") not in ignored, source
    healthcheck = next(s["value"] for s in steps if s["instruction"] == "HEALTHCHECK")
    assert "/health" in healthcheck and ":8080/" in healthcheck
    cmd = json.loads(next(s["value"] for s in steps if s["instruction"] == "CMD"))
    assert cmd == ["agora", "run"]
    assert next(s["value"] for s in steps if s["instruction"] == "EXPOSE") == "8080"


def test_the_containers_config_parses_and_listens_where_the_image_says() -> None:
    env_line = next(s["value"] for s in instructions() if s["instruction"] == "ENV")
    config_path = re.search(r"AGORA_CONFIG=(\S+)", env_line)
    assert config_path is not None and config_path.group(1) == "/etc/agora/config.toml"
    config = parse_config(
        tomllib.loads((ROOT / "deploy" / "config.toml").read_text()),
        base=Path("/etc/agora"),
        environ={"AGORA_WEB_TOKEN": "x" * 32},
    )
    assert str(config.database) == "/data/agora.db"
    web = config.adapters["web"]
    assert web["host"] == "0.0.0.0" and web["port"] == 8080
    assert config.enabled_adapters() == ["web"]


def test_compose_runs_one_agora_on_its_volume_and_optional_libretranslate() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"agora", "libretranslate"}
    agora = services["agora"]
    assert agora["build"] == "."
    assert "agora-data:/data" in agora["volumes"]
    assert agora.get("deploy", {}).get("replicas", 1) == 1  # one process per SQLite volume
    assert "AGORA_WEB_TOKEN" in agora["environment"]
    assert any(port.endswith(":8080") for port in agora["ports"])
    assert services["libretranslate"]["profiles"] == ["libretranslate"]
    assert set(compose["volumes"]) >= {"agora-data"}
    assert "compose.replicas.yaml" in (ROOT / "compose.yaml").read_text()


def test_replicas_compose_runs_two_agoras_on_postgresql_once_it_is_healthy() -> None:
    compose = yaml.safe_load((ROOT / "compose.replicas.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "agora", "libretranslate"}
    postgres, agora = services["postgres"], services["agora"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["environment"]["POSTGRES_DB"] == "agora"
    assert agora["build"] == "." and agora["deploy"]["replicas"] == 2
    assert agora["depends_on"]["postgres"]["condition"] == "service_healthy"
    url = agora["environment"]["AGORA_DB"]
    assert url.startswith("postgresql://agora:") and url.endswith("@postgres:5432/agora")
    # One host port per replica; the files volume is shared by both.
    assert agora["ports"] == ["127.0.0.1:8080-8081:8080"]
    assert "agora-files:/data" in agora["volumes"]
    assert set(compose["volumes"]) >= {"postgres-data", "agora-files"}
    assert services["libretranslate"]["profiles"] == ["libretranslate"]


def test_the_image_carries_the_postgresql_driver() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    assert re.search(r"^psycopg==3\.", lock, re.M) and re.search(r"^psycopg-binary==3\.", lock, re.M)


def test_systemd_unit_runs_agora_as_its_own_user_and_restarts_it() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((ROOT / "deploy" / "agora.service").read_text())
    service = unit["Service"]
    assert service["ExecStart"].endswith("agora run")
    assert service["User"] not in ("root", "0") and service["Restart"] == "on-failure"
    assert service["Environment"] == "AGORA_CONFIG=/etc/agora/config.toml"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_prometheus_client_is_a_pinned_dependency() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    assert re.search(r"^prometheus-client==\d", lock, re.M)
