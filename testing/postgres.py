"""A private PostgreSQL cluster for tests and benchmarks: initdb into a temp dir, loopback only.

Debian's server binaries (``/usr/lib/postgresql/<version>/bin``, package ``postgresql``) are
found without being on PATH. The cluster listens on 127.0.0.1 at a free port and on a unix
socket inside its own directory, with durability switched off (tests never need a crash to
keep data). ``initdb`` refuses to run as root, so under root (CI) the server runs as the
unprivileged ``postgres`` user the Debian package creates.

Two roles: the superuser (local socket, trust) creates databases and extensions like a DBA
would (each test database is a copy of a template that has ``unaccent``); the ``agora`` role,
which owns each test database and logs in over TCP with a password (scram), is what Agora
connects as, so tests see what a deployment sees.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bot.store.sql import Database

SERVER_USER = "postgres"
"""Who runs the server when we are root (initdb and postgres refuse root)."""
APP_ROLE = "agora"
TEMPLATE = "agora_template"
PASSWORD_FILE = "agora-password"
"""Where a cluster's root keeps the ``agora`` role's password (so :func:`resume_cluster` can log in)."""
EXTENSIONS = ("unaccent",)
SETTINGS = (
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=200",
    "log_min_messages=warning",
)


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries here (install Debian's ``postgresql`` package)."""


def find_bindir(debian: Path = Path("/usr/lib/postgresql"), path: str | None = None) -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` with ``initdb``, else the one of ``pg_ctl`` on PATH."""
    found = sorted(
        (p for p in debian.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    on_path = shutil.which("pg_ctl", path=path)
    if on_path and (Path(on_path).parent / "initdb").exists():
        return Path(on_path).parent
    raise PostgresMissing("PostgreSQL server binaries not found: apt-get install postgresql")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Cluster:
    """A running private cluster; :meth:`create_database` hands out fresh databases."""

    bindir: Path
    root: Path
    port: int
    password: str
    run_as: str | None  # the server's user when we are root
    _count: int = field(default=0)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def url(self, dbname: str, *, password: bool = True) -> str:
        """How Agora connects: the ``agora`` role over TCP."""
        secret = f":{self.password}" if password else ""
        return f"postgresql://{APP_ROLE}{secret}@127.0.0.1:{self.port}/{dbname}"

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[tuple[Any, ...]]:
        """A superuser connection through the unix socket (the caller closes it)."""
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=SERVER_USER, dbname=dbname, autocommit=True
        )

    def create_database(self, *, template: str = TEMPLATE, prefix: str = "t") -> str:
        """A fresh database owned by the ``agora`` role, copied from ``template``; its URL."""
        self._count += 1
        name = f"{prefix}{self._count}_{secrets.token_hex(3)}"
        with self.admin() as conn:
            # file_copy (PostgreSQL 15+): a checkpoint, cheap with fsync off, instead of WAL-logging every block.
            strategy = " strategy file_copy" if conn.info.server_version >= 150000 else ""
            conn.execute(f"create database {name} owner {APP_ROLE} template {template}{strategy}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f"drop database if exists {name} with (force)")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server: at once by default (its data is thrown away), ``"fast"`` for data that is kept."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run([str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", mode, "-w"])

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _serve(self) -> None:
        """Start the server of :attr:`data` on a free port (a few tries: another process may take the port)."""
        for _attempt in range(5):
            self.port = free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={self.port}",
                    f"-c unix_socket_directories={self.socket_dir}",
                    *(f"-c {s}" for s in SETTINGS),
                ]
            )
            done = self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.root / "server.log"),
                    "-o",
                    options,
                ],
                check=False,
            )
            if done.returncode == 0:
                break
        else:
            raise PostgresMissing(f"PostgreSQL did not start: {done.stderr.strip()}\n{self.log()[-2000:]}")

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd=self.root)
        if check and done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, argv, done.stdout, done.stderr)
        return done


def start_cluster(root: Path | None = None) -> Cluster:
    """initdb and start a cluster under ``root`` (a new temp dir by default); stop it with :meth:`Cluster.stop`."""
    bindir = find_bindir()
    run_as = SERVER_USER if os.geteuid() == 0 else None
    # The server's user must reach its directory: under root, /tmp (world-traversable) whatever TMPDIR says.
    root = Path(root or tempfile.mkdtemp(prefix="agora-pg-", dir="/tmp" if run_as else None))
    cluster = Cluster(bindir, root, 0, secrets.token_urlsafe(12), run_as)
    (root / "sock").mkdir(parents=True, exist_ok=True)
    pwfile = root / "pwfile"
    pwfile.write_text("unused-superuser-password\n")
    if run_as:
        entry = pwd.getpwnam(run_as)
        for path in (root, root / "sock", pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    cluster._run(
        [
            str(bindir / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            SERVER_USER,
            "--pwfile",
            str(pwfile),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        ]
    )
    cluster._serve()
    (root / PASSWORD_FILE).write_text(cluster.password)  # for resume_cluster
    (root / PASSWORD_FILE).chmod(0o600)
    with cluster.admin() as conn:
        conn.execute(f"create role {APP_ROLE} login password '{cluster.password}'")
        # What a DBA installs once: the test databases are copies of this template.
        conn.execute(f"create database {TEMPLATE} owner {APP_ROLE}")
    with cluster.admin(TEMPLATE) as conn:
        for extension in EXTENSIONS:
            conn.execute(f"create extension if not exists {extension}")
    return cluster


def resume_cluster(root: Path) -> Cluster:
    """Start again the cluster :func:`start_cluster` made under ``root`` and stopped: its databases are kept."""
    password = (root / PASSWORD_FILE).read_text()
    cluster = Cluster(find_bindir(), root, 0, password, SERVER_USER if os.geteuid() == 0 else None)
    cluster._serve()
    return cluster


@contextlib.contextmanager
def kept_cluster(root: Path) -> Iterator[Cluster]:
    """The cluster under ``root`` (made there the first time) for the duration of the block; it stays on disk."""
    cluster = resume_cluster(root) if (root / PASSWORD_FILE).exists() else start_cluster(root)
    try:
        yield cluster
    finally:
        cluster.stop("fast")


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    """A cluster for the duration of the block, removed afterwards."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


def tables(db: Database) -> list[str]:
    """Agora's tables in ``db``'s schema, by name (the migrations' own record left out)."""
    rows = db.execute(
        "select table_name from information_schema.tables where table_schema = current_schema() "
        "and table_type = 'BASE TABLE' and table_name <> 'agora_migrations' order by table_name"
    ).fetchall()
    return [str(name) for (name,) in rows]


def dump(db: Database) -> str:
    """Every table's rows as text, in a stable order: two dumps are equal when nothing was written."""
    out: list[str] = []
    for table in tables(db):
        out.append(f"-- {table}")
        rows = db.execute(f"select * from {table}").fetchall()
        out.extend(sorted(repr(tuple(row)) for row in rows))
    return "\n".join(out)


def empty(db: Database) -> None:
    """Delete every row and restart the ids, keeping the schema (a fresh history in the same database)."""
    names = tables(db)
    if names:
        db.execute(f"truncate {', '.join(names)} restart identity cascade")
