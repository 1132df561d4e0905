"""Model packages: the real download path against a local index server, and offline installs."""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.richtext import plain, to_plain
from testing.tiny_argos import GLOSSARIES, build_package
from tests.fixtures.translation_helpers import argos_config
from tests.fixtures.translation_package_server import Offer, PackageServer
from translations import create
from translations.cache import MemoryCache
from translations.models import Progress, install_files, install_pairs, no_progress
from translations.packages import PackageError, installed_packages, staging_dir, verify_archive

PAIRS = [("en", "es"), ("es", "en"), ("es", "pt"), ("pt", "es")]


@pytest.fixture
async def server(tiny_archives: dict[tuple[str, str], Path]) -> AsyncIterator[PackageServer]:
    srv = PackageServer([Offer(a, b, path) for (a, b), path in tiny_archives.items()])
    await srv.start()
    yield srv
    await srv.stop()


def listing(packages_dir: Path) -> list[tuple[str, str, str]]:
    return [(p.from_code, p.to_code, p.version) for p in installed_packages(packages_dir)]


async def test_installs_pairs_from_the_index_and_skips_what_is_there(
    server: PackageServer, tmp_path: Path, argos_home: Path
) -> None:
    where = tmp_path / "packages"
    outcomes = await install_pairs([*PAIRS, ("en", "pt")], where, server.url + "/index.json")
    assert [(o.pair, o.status) for o in outcomes] == [
        (("en", "es"), "installed"),
        (("es", "en"), "installed"),
        (("es", "pt"), "installed"),
        (("pt", "es"), "installed"),
        (("en", "pt"), "missing"),
    ]
    assert listing(where) == [(a, b, "0.0.1") for a, b in sorted(PAIRS)]
    assert sorted(p.name for p in where.iterdir()) == sorted(f"translate-{a}_{b}-tiny" for a, b in PAIRS)
    assert list(staging_dir(where).iterdir()) == []  # no .part files or half-extracted dirs left

    downloads = len(server.ranges)
    again = await install_pairs(PAIRS, where, server.url + "/index.json")
    assert {o.status for o in again} == {"skipped"}
    assert len(server.ranges) == downloads

    translator = create(argos_config(where), MemoryCache())  # the downloaded models work
    assert to_plain((await translator.translate(plain("hello world"), "en", "pt")).text) == "olá mundão"
    await translator.close()


async def test_an_interrupted_download_resumes_with_a_range_request(server: PackageServer, tmp_path: Path) -> None:
    where = tmp_path / "packages"
    name = "translate-en_es-tiny.argosmodel"
    server.break_after[name] = 50_000
    first = await install_pairs([("en", "es")], where, server.url + "/index.json")
    assert first[0].status == "failed" and "resume" in first[0].detail
    (part,) = staging_dir(where).glob("*.part")
    assert part.stat().st_size == 50_000
    assert listing(where) == []

    bars: list[tuple[str, int | None, int]] = []

    def progress(label: str, total: int | None, initial: int) -> Progress:
        bars.append((label, total, initial))
        return no_progress(label, total, initial)

    second = await install_pairs([("en", "es")], where, server.url + "/index.json", progress=progress)
    assert second[0].status == "installed"
    assert server.ranges == [(name, None), (name, "bytes=50000-")]
    size = next(o for o in server.offers if o.path.name == name).path.stat().st_size
    assert bars == [("translate-en_es-0_0_1.argosmodel", size, 50_000)]  # the bar starts where it stopped
    assert listing(where) == [("en", "es", "0.0.1")]
    assert not part.exists()


async def test_a_corrupt_package_is_rejected_and_nothing_is_installed(
    server: PackageServer, tiny_archives: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    damaged = tmp_path / "files" / "translate-en_es-tiny.argosmodel"
    damaged.parent.mkdir()
    data = bytearray(tiny_archives[("en", "es")].read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # the zip directory is intact, a member's bytes are not
    damaged.write_bytes(bytes(data))
    garbage = tmp_path / "files" / "translate-es_en-tiny.argosmodel"
    garbage.write_bytes(b"<html>502 Bad Gateway</html>")
    server.offers = [Offer("en", "es", damaged), Offer("es", "en", garbage)]

    outcomes = await install_pairs([("en", "es"), ("es", "en")], tmp_path / "packages", server.url + "/index.json")
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert "corrupt member" in outcomes[0].detail
    assert "not a zip" in outcomes[1].detail
    assert listing(tmp_path / "packages") == []
    assert list(staging_dir(tmp_path / "packages").iterdir()) == []  # bad files are not kept for resuming


async def test_a_mislabelled_package_is_rejected(
    server: PackageServer, tiny_archives: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    server.offers = [Offer("en", "es", tiny_archives[("es", "en")])]  # the index says en-es, the file is es-en
    (outcome,) = await install_pairs([("en", "es")], tmp_path / "packages", server.url + "/index.json")
    assert outcome.status == "failed" and "metadata says es-en, expected en-es" in outcome.detail
    assert listing(tmp_path / "packages") == []


async def test_checksums_from_the_index_are_verified(
    server: PackageServer, tiny_archives: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    server.offers = [
        Offer("en", "es", tiny_archives[("en", "es")], with_checksum=True),
        Offer("es", "en", tiny_archives[("es", "en")], with_checksum=True, sha256="0" * 64),
    ]
    outcomes = await install_pairs([("en", "es"), ("es", "en")], tmp_path / "packages", server.url + "/index.json")
    assert [o.status for o in outcomes] == ["installed", "failed"]
    assert "checksum mismatch" in outcomes[1].detail


async def test_a_newer_version_in_the_index_replaces_the_installed_one(server: PackageServer, tmp_path: Path) -> None:
    where = tmp_path / "packages"
    await install_pairs([("en", "es")], where, server.url + "/index.json")
    newer = build_package(
        tmp_path / "translate-en_es-1_1.argosmodel", "en", "es", GLOSSARIES[("en", "es")], version="1.1", top_dir="v11"
    )
    server.offers = [Offer("en", "es", newer, version="1.1")]
    (outcome,) = await install_pairs([("en", "es")], where, server.url + "/index.json")
    assert outcome.status == "installed"
    assert listing(where) == [("en", "es", "1.1")]
    assert [p.name for p in where.iterdir()] == ["v11"]


async def test_an_unreachable_index_is_a_package_error(tmp_path: Path) -> None:
    srv = PackageServer()
    url = await srv.start()
    await srv.stop()
    with pytest.raises(PackageError, match="package index"):
        await install_pairs([("en", "es")], tmp_path / "packages", url + "/index.json")


def test_offline_install_from_files(tiny_archives: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    where = tmp_path / "packages"
    results = install_files([tiny_archives[("en", "es")], tiny_archives[("en", "es")]], where)
    assert [status for _, _, status in results] == ["installed", "already installed (0.0.1)"]
    assert listing(where) == [("en", "es", "0.0.1")]


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


META = json.dumps({"from_code": "en", "to_code": "es", "package_version": "1", "type": "translate"}).encode()


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"a/metadata.json": META, "b/model.bin": b"x"}, "one top directory"),
        ({"a/model.bin": b"x"}, "no a/metadata.json"),
        ({"a/metadata.json": META, "a/../../evil": b"x"}, "unsafe path"),
        ({"a/metadata.json": json.dumps({"from_code": "en", "to_code": "fr"}).encode()}, "not a pair"),
        ({"a/metadata.json": json.dumps({"type": "sbd", "from_code": "en", "to_code": "es"}).encode()}, "translate"),
    ],
)
def test_archive_checks(tmp_path: Path, files: dict[str, bytes], error: str) -> None:
    archive = _zip(tmp_path / "x.argosmodel", files)
    with pytest.raises(PackageError, match=error):
        verify_archive(archive)
    (_, pkg, status) = install_files([archive], tmp_path / "packages")[0]
    assert pkg is None and error.split()[0] in status
    assert not (tmp_path / "packages").exists() or list((tmp_path / "packages").iterdir()) == []


def test_stray_directories_do_not_break_listing(tiny_archives: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    where = tmp_path / "packages"
    install_files([tiny_archives[("en", "es")]], where)
    (where / "lost+found").mkdir()
    (where / "broken").mkdir()
    (where / "broken" / "metadata.json").write_text("{not json")
    assert listing(where) == [("en", "es", "0.0.1")]
