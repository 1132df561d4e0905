"""PostgreSQL behind the :class:`bot.store.sql.Database` seam (psycopg 3, synchronous).

Selected by a ``postgresql://`` database URL (``pip install 'agora[postgres]'``).
Like the SQLite side, a connection runs in autocommit and transactions are explicit
(:meth:`PostgresDatabase.transaction`: ``BEGIN``/``COMMIT``, savepoints when nested).
SQL arrives in the portable ``?`` form and is rewritten for psycopg's ``%s``.

Schema steps (:func:`apply_steps`) are recorded per migration set in
``agora_migrations`` and applied under an advisory lock, in one transaction per
set: replicas starting at once wait for the first, then find the steps applied,
and a failing step leaves nothing half-done (DDL is transactional here).

Heavy reads (:mod:`bot.reads`) run on connections of their own
(:func:`open_postgres_reader`), read-only at the session level.

psycopg's errors become :class:`bot.errors.StoreError` at this boundary, naming the
database by its URL without the password; the password is never logged. The configured
URL, credentials included, lives only on the :class:`PostgresDatabase` opened with it
(not in :attr:`~PostgresDatabase.url`, its ``repr`` or any module state), which opens the
further connections to the same database: replacements, readers, the wake-ups listener.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus, urlencode, urlsplit

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from bot.errors import StoreError
from bot.events import ChannelRef
from bot.store.postgres_schema import CORE_STEPS, LEASE_RELEASES, OUTBOX_NOTICES
from bot.store.postgres_search import PostgresFullText
from bot.store.sql import POSTGRESQL, Cursor, Database, qmark_to_format

__all__ = [
    "CORE_STEPS",
    "OutboxNotices",
    "PostgresDatabase",
    "PostgresFullText",
    "apply_steps",
    "open_postgres",
    "open_postgres_reader",
    "reader_of",
]

log = logging.getLogger(__name__)

MIGRATIONS_TABLE = "agora_migrations"
MIGRATIONS_LOCK = 0x61676F7261  # "agora": the advisory lock key every replica's migration takes
CONNECT_TIMEOUT = 10
LISTENER_NAME = "agora wake-ups"  # application_name of the listening connection in pg_stat_activity
KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
"""TCP keepalives for the listening connection: it only reads, so without them a silently dead
peer (a failover, a dropped NAT entry) would leave it waiting for notices forever."""
RELISTEN_MAX = 30.0


def redact(url: str) -> str:
    """``url`` without its password (in the authority or as a ``password=`` parameter)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable (libpq will say why): show nothing of it that could be a password
        return f"{url.partition('://')[0]}://(unreadable URL)"
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo.split(':', 1)[0]}@{hostport}" if at else parts.netloc
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k != "password"]
    if netloc == parts.netloc and len(kept) == len(pairs):
        return url
    query = f"?{urlencode(kept)}" if kept else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}{fragment}"


def secrets_in(url: str) -> tuple[str, ...]:
    """The password in ``url``, as written and percent-decoded, longest first: what libpq may quote
    back in an error about the URL (``invalid percent-encoded token: "…"``), so errors can hide it."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        userinfo, at, _ = parts.netloc.rpartition("@")
        query = parts.query
    except ValueError:
        userinfo, at, _ = url.partition("://")[2].rpartition("@")
        query = ""
    if at and ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "password":
            found.append(value)
    shown = {secret for raw in found for secret in (raw, unquote(raw), unquote_plus(raw)) if secret}
    return tuple(sorted(shown, key=len, reverse=True))


class Result:
    """What a statement left: rows (as tuples) if it returned any, and how many rows it touched.

    Like sqlite3, a statement without rows fetches as None / [] instead of raising.
    """

    def __init__(self, cursor: psycopg.Cursor[Any], url: str) -> None:
        self._cursor = cursor
        self._url = url

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchone(self) -> Any:
        if self._cursor.description is None:
            return None
        with _store_errors(self._url):
            return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        if self._cursor.description is None:
            return []
        with _store_errors(self._url):
            return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PostgresDatabase:
    """A :class:`bot.store.sql.Database` over one psycopg connection (autocommit; explicit transactions).

    A connection the server dropped (a restart, a failover, an idle timeout) fails the statement
    that meets it; the next statement outside a transaction opens a new connection, so one
    outage costs one error, not the process.
    """

    dialect = POSTGRESQL

    def __init__(self, conn: psycopg.Connection[Any], url: str, options: Mapping[str, str] | None = None) -> None:
        """``url``: what ``conn`` was opened with, credentials included. Only :attr:`url`, without the
        password, is ever shown; the full URL stays on this object to open further connections to the
        same database (a replacement, :meth:`open_reader`, the wake-ups listener)."""
        conn.autocommit = True
        self.conn = conn
        self.url = redact(url)
        self._conninfo = url
        self._options = dict(options or {})  # what a replacement connection is opened with
        self._blocks = 0  # open transaction() blocks: a connection lost inside one is not replaced there
        self._closed = False

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.url!r})"

    def _live(self) -> psycopg.Connection[Any]:
        if self.conn.broken and self._blocks == 0 and not self._closed:
            log.warning("database %s: the connection was lost; reconnecting", self.url)
            self.conn = connect(self._conninfo, **self._options)
        return self.conn

    def open_reader(self) -> PostgresDatabase:
        """A read-only connection to the same database, with the same credentials (see :func:`open_postgres_reader`)."""
        return open_postgres_reader(self._conninfo)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        # Parameters are always passed (even none), so psycopg turns the escaped %% back into %.
        with _store_errors(self.url):
            return Result(self._live().execute(qmark_to_format(sql), list(params)), self.url)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with _store_errors(self.url), self._live().cursor() as cursor:
            cursor.executemany(qmark_to_format(sql), [list(r) for r in rows])

    def execute_script(self, sql: str) -> None:
        """Run several statements as they are (no placeholders): schema steps, PL/pgSQL bodies."""
        with _store_errors(self.url):
            self._live().execute(sql.encode())

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        with _store_errors(self.url), self._live().cursor(row_factory=dict_row) as cursor:
            cursor.execute(qmark_to_format(sql), list(params))
            rows = cursor.fetchall() if cursor.description is not None else []
        yield from rows

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != TransactionStatus.IDLE

    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # psycopg's own transaction block: BEGIN at the outermost level, SAVEPOINT inside,
        # rolled back (to the savepoint) when the block raises.
        with _store_errors(self.url), self._live().transaction():
            self._blocks += 1
            try:
                yield
            finally:
                self._blocks -= 1

    def close(self) -> None:
        self._closed = True
        self.conn.close()


@contextmanager
def _store_errors(url: str, hidden: Sequence[str] = ()) -> Iterator[None]:
    """psycopg's errors as StoreError, naming the database (without password) and the SQLSTATE;
    ``hidden`` strings (a password libpq may quote) are masked in the message."""
    try:
        yield
    except psycopg.Error as exc:
        state = f" [{exc.sqlstate}]" if exc.sqlstate else ""
        said = str(exc).strip()
        error = StoreError(f"database {url}{state}: {_masked(said, hidden)}")
        if _masked(said, hidden) != said:  # psycopg's own error quotes the password: not in the traceback either
            raise error from None
        raise error from exc


def _masked(text: str, hidden: Sequence[str]) -> str:
    for secret in hidden:
        text = text.replace(secret, "***")
    return text


def connect(url: str, **options: Any) -> psycopg.Connection[Any]:
    """A psycopg connection in autocommit, named ``agora`` in ``pg_stat_activity``; ``url`` is the
    configured URL, credentials included (errors show it without them)."""
    with _store_errors(redact(url), secrets_in(url)):
        return psycopg.connect(
            url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name="agora", **options
        )


def open_postgres(url: str) -> PostgresDatabase:
    """Connect to ``url``; StoreError says why it failed. :func:`bot.store.open_database` then applies
    the core's steps (:data:`CORE_STEPS`) through :func:`apply_steps`, as each adapter applies its own."""
    db = PostgresDatabase(connect(url), url)
    log.info("database %s: PostgreSQL %s", db.url, db.conn.info.server_version)
    return db


def open_postgres_reader(url: str) -> PostgresDatabase:
    """A connection for reads off the event loop (:mod:`bot.reads`, suggestions): read-only for its
    whole session, so a bug there cannot write. ``url`` is the configured URL, credentials included
    (:meth:`PostgresDatabase.open_reader` opens one from a connection's own).

    Each reading thread holds one such connection (one thread reads at a time per purpose), so a
    pool would add a dependency and nothing else; a dropped connection is replaced on next use."""
    options = {"options": "-c default_transaction_read_only=on"}
    return PostgresDatabase(connect(url, **options), url, options)


class OutboxNotices:
    """:class:`bot.store.wakeups.Wakeups` on PostgreSQL: ``LISTEN`` on a connection of its own, on the loop.

    Notices from this process's own connection are skipped (it woke its worker itself). A lost
    connection is logged once and opened again with growing pauses (up to :data:`RELISTEN_MAX`);
    meanwhile the outbox polls.
    """

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        self.backend_pid: int | None = None  # the listening connection's server process, while listening

    def __repr__(self) -> str:
        return f"OutboxNotices({self.db.url!r})"

    async def run(
        self, wake: Callable[[ChannelRef], None], released: Callable[[ChannelRef], None], missed: Callable[[], None]
    ) -> None:
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.db._conninfo,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT,
                    application_name=LISTENER_NAME,
                    **KEEPALIVES,
                ) as conn:
                    for channel in (OUTBOX_NOTICES, LEASE_RELEASES):
                        await conn.execute(f"listen {channel}")
                    self.backend_pid = conn.info.backend_pid
                    if failures:
                        log.info("database %s: listening for other replicas' deliveries again", self.db.url)
                    failures = 0
                    missed()
                    async for notice in conn.notifies():
                        if notice.pid != self._own_pid():
                            self._tell(released if notice.channel == LEASE_RELEASES else wake, notice.payload)
            except psycopg.Error as exc:
                self.backend_pid = None
                failures += 1
                if failures == 1:
                    reason = _masked(str(exc).strip(), secrets_in(self.db._conninfo)) or type(exc).__name__
                    log.warning(
                        "database %s: cannot listen for other replicas' deliveries (%s); polling until it can",
                        self.db.url,
                        reason.splitlines()[0],
                    )
            except Exception:  # a bug: logged, and the outbox polls meanwhile, as for a lost connection
                self.backend_pid = None
                failures += 1
                log.exception("database %s: listening for other replicas' deliveries failed", self.db.url)
            await asyncio.sleep(min(RELISTEN_MAX, 0.2 * 2 ** min(failures, 10)))

    def _own_pid(self) -> int | None:
        try:
            return self.db.conn.info.backend_pid
        except psycopg.Error:  # the main connection is down: nothing it queued can arrive
            return None

    def _tell(self, whom: Callable[[ChannelRef], None], payload: str) -> None:
        try:
            ref = ChannelRef.parse(payload)
        except ValueError:
            log.warning("database %s: ignored an outbox notice for %r", self.db.url, payload[:100])
            return
        whom(ref)


def reader_of(db: Database) -> PostgresDatabase:
    """A read-only connection to the database ``db`` is connected to (see :func:`bot.store.open_reader_of`)."""
    if not isinstance(db, PostgresDatabase):
        raise TypeError(f"reader_of needs a PostgreSQL database, not {db.dialect}")
    return db.open_reader()


def apply_steps(db: Database, set_name: str, steps: Sequence[tuple[str, str]]) -> list[str]:
    """Apply the steps of ``set_name`` not yet recorded, in order; the names applied now.

    One transaction under an advisory lock: a second process starting at the same
    moment waits here, then finds every step recorded.
    """
    if not isinstance(db, PostgresDatabase):
        raise TypeError(f"apply_steps needs a PostgreSQL database, not {db.dialect}")
    names = [name for name, _ in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"migration set {set_name!r} repeats a step name")
    applied_now: list[str] = []
    with db.transaction():
        db.execute("select pg_advisory_xact_lock(?)", [MIGRATIONS_LOCK])
        db.execute(
            f"create table if not exists {MIGRATIONS_TABLE} (migration_set text not null, name text not null, "
            "applied_at double precision not null, primary key (migration_set, name))"
        )
        done = {
            row["name"] for row in db.query(f"select name from {MIGRATIONS_TABLE} where migration_set = ?", [set_name])
        }
        for name, sql in steps:
            if name in done:
                continue
            if sql.strip():
                try:
                    db.execute_script(sql)
                except StoreError as exc:
                    raise StoreError(f"migration {set_name}/{name}: {exc}") from exc
            db.execute(
                f"insert into {MIGRATIONS_TABLE} (migration_set, name, applied_at) values (?, ?, ?)",
                [set_name, name, time.time()],
            )
            applied_now.append(name)
    if applied_now:
        log.info("database %s: applied %s steps %s", db.url, set_name, ", ".join(applied_now))
    return applied_now
