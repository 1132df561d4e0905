"""Write transactions on a sqlite-utils connection that wait for other processes instead of failing.

Only the adapters' tables still use it, until they move onto the SQL seam
(``Database.transaction()``, which does the same and also runs on PostgreSQL);
then this module goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database


@contextmanager
def write_transaction(db: Database) -> Iterator[None]:
    """``BEGIN IMMEDIATE``: take the write lock before the first read.

    A deferred transaction that reads and then writes fails at once with
    "database is locked" when another process wrote in between (SQLite cannot
    wait there); taking the lock up front makes ``busy_timeout`` wait instead.
    Inside an open transaction this is a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.conn.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
