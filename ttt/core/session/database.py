"""The SQLite file under the session store: opening it safely, transactions, and clear errors.

Writes are tiny ``BEGIN IMMEDIATE`` transactions retried on lock contention, so "database is
locked" never reaches a user. A file we can't use (not SQLite, damaged, read-only, from a newer
ttt) gets a ``StoreError`` naming it and is never modified. ``Store`` builds on ``Database``.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from ttt.core.errors import SchemaTooNewError, StoreError
from ttt.core.session.migrations import APPLICATION_ID, LATEST, migrate

T = TypeVar("T")
ROOT: Final = 0  # parent_id that starts a new root branch; None means "after the active leaf"
BUSY_TIMEOUT_MS = 5000
RETRY_SECONDS = 30.0  # retrying on top of SQLite's own busy wait, before a lock becomes an error
STREAMING: set[tuple[str, int]] = set()  # (database, message id) streaming in this process, any Store
_REASONS = {  # by SQLite primary result code
    5: "another process kept it locked too long; try again",
    6: "another process kept it locked too long; try again",
    8: "the file or its folder is read-only; ttt needs to write there",
    11: "the database is damaged; it was left untouched — move it away to start afresh",
    13: "the disk is full",
    14: "the file can't be created or opened",
    26: "it is not an SQLite database (or is encrypted); it was left untouched",
}


class Database:
    """One SQLite connection, thread-safe: every call is one short transaction under a lock."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._key = str(self.path.absolute())
        self._lock = threading.RLock()
        if self.path.exists() and not self.path.is_file():
            raise self._fail("it is not a file")
        try:
            _create_private(self.path)
            self._db = sqlite3.connect(
                self.path, BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except OSError as exc:
            raise self._fail(f"can't create its folder ({exc.strerror or exc})") from None
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            self._retry(self._setup)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def _setup(self) -> None:
        """Identify the file before anything writes to it; then WAL, migrations, recovery."""
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version, app_id, objects = self._one(  # one snapshot, so a concurrent first open can't confuse it
            "SELECT (SELECT user_version FROM pragma_user_version), "
            "(SELECT application_id FROM pragma_application_id), (SELECT count(*) FROM sqlite_master)"
        )
        if version > LATEST:
            raise self._too_new(version)
        if app_id not in (0, APPLICATION_ID) or (version == 0 and objects):
            raise self._fail("it is an SQLite database of another program; it was left untouched")
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise self._fail("its file system can't hold a WAL-mode database")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")  # durable across process crashes, fast in WAL
        try:
            migrate(db)
        except SchemaTooNewError as exc:
            raise self._too_new(exc.found) from None
        self.write(self._recover)

    def _recover(self, db: sqlite3.Connection) -> None:
        """Mark replies whose writer process is gone as interrupted (their text stays)."""
        db.execute("DELETE FROM response_cache WHERE 0")  # a real write attempt: read-only fails here
        rows = db.execute("SELECT id, writer_pid FROM messages WHERE status = 'streaming'").fetchall()
        dead = [(i,) for i, pid in rows if not self._writer_alive(i, pid)]
        db.executemany("UPDATE messages SET status = 'interrupted', writer_pid = NULL WHERE id = ?", dead)

    def _writer_alive(self, message_id: int, pid: int | None) -> bool:
        if pid == os.getpid():
            return (self._key, message_id) in STREAMING
        return pid is not None and _process_alive(pid)

    def _fail(self, reason: str) -> StoreError:
        return StoreError(
            f"Cannot use the session database {self.path}: {reason}. "
            "Set TTT_HOME to use another folder if it must stay as it is.",
            path=self.path,
        )

    def _too_new(self, version: int) -> StoreError:
        return self._fail(
            f"it was created by a newer ttt (schema version {version}; this ttt knows up to {LATEST}) "
            "and was left untouched — upgrade ttt"
        )

    def _error(self, exc: sqlite3.Error) -> StoreError:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        reason = _REASONS.get(code, "SQLite failed")
        if code == 14 and not os.access(self.path.parent, os.W_OK):
            reason += "; its folder is read-only"
        if code == 10 and _disk_full(self.path.parent):  # an I/O error: SQLite couldn't grow a file
            reason = _REASONS[13]
        return self._fail(f"{reason} ({exc})")

    def _retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying while another process holds the lock; other errors name the file."""
        deadline, delay = time.monotonic() + RETRY_SECONDS, 0.005
        while True:
            try:
                return fn()
            except sqlite3.Error as exc:
                code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
                if code not in (5, 6) or time.monotonic() > deadline:
                    raise self._error(exc) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.1)

    def _transaction(self, fn: Callable[[sqlite3.Connection], T], begin: str) -> T:
        def attempt() -> T:
            self._db.execute(begin)
            try:
                result = fn(self._db)
                self._db.execute("COMMIT")
                return result
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

        with self._lock:
            return self._retry(attempt)

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` in one write transaction, retried while another process writes
        (for tables the store has no method for, such as the metrics)."""
        return self._transaction(fn, "BEGIN IMMEDIATE")  # the write lock up front: no upgrade deadlock

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` in one read transaction: a consistent snapshot."""
        return self._transaction(fn, "BEGIN")

    def _all(self, sql: str, *args: Any) -> list[Any]:
        return self.read(lambda db: db.execute(sql, args).fetchall())

    def _one(self, sql: str, *args: Any) -> Any:
        return self.read(lambda db: db.execute(sql, args).fetchone())


def _disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False


def _create_private(path: Path) -> None:
    """A new database (its folder too) is readable by the owner only: SQLite gives the -wal and
    -shm files the database file's mode, so creating it empty with 0600 covers all three."""
    from ttt.core.config import private_dir, private_opener

    private_dir(path.parent)
    if not path.exists():
        try:
            os.close(private_opener(str(path), os.O_WRONLY | os.O_CREAT))
        except PermissionError:  # a read-only folder: SQLite's own error names it below
            pass


def _process_alive(pid: int) -> bool:
    """Whether a process still runs, i.e. its 'streaming' reply is live rather than interrupted."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate it on Windows
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # type: ignore[attr-defined]  # denied: exists
        code = ctypes.c_ulong()
        alive = kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) and code.value == 259  # STILL_ACTIVE
        kernel32.CloseHandle(handle)
        return bool(alive)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
