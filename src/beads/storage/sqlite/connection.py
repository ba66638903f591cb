"""Opening ``beads.db``: pragmas, migrations, transactions and error translation.

Every write runs in a short ``BEGIN IMMEDIATE`` transaction (SAVEPOINTs when nested)
so that concurrent ``bd`` processes queue on SQLite's busy timeout instead of failing
half-way. sqlite3 errors are translated here into the library's exception tree, so
no caller ever sees a raw ``sqlite3.Error``.
"""

from __future__ import annotations

import os
import sqlite3

from beads.errors import BdError, Conflict, InvalidInput, Locked, ReadOnly, StorageError
from beads.storage.sqlite.schema import MIGRATIONS, SCHEMA_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_BUSY_TIMEOUT_MS = 30_000


def translate(exc: sqlite3.Error, path: str) -> BdError:
    msg = str(exc)
    low = msg.lower()
    if isinstance(exc, sqlite3.IntegrityError):
        if "unique" in low or "primary key" in low:
            return Conflict(f"constraint violation: {msg}")
        return InvalidInput(f"constraint violation: {msg}")
    if "readonly" in low or "read-only" in low:
        return ReadOnly(f"cannot write to database {path}: it is read-only ({msg})")
    if "locked" in low or "busy" in low:
        return Locked(f"database {path} is locked by another process; try again ({msg})")
    if "not a database" in low or "malformed" in low or "file is encrypted" in low:
        return StorageError(f"database {path} is unreadable or corrupt: {msg}")
    if "unable to open" in low:
        return StorageError(f"cannot open database {path}: {msg}")
    return StorageError(f"database error ({path}): {msg}")


def readonly_uri(path: str) -> str:
    """The SQLite URI that opens ``path`` read-only (``%``, ``?`` and ``#`` in it escaped)."""
    escaped = os.path.abspath(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    return f"file:{escaped}?mode=ro"

class Transaction:
    """Context manager: BEGIN IMMEDIATE at the outer level, SAVEPOINT when nested."""

    __slots__ = ("db",)

    def __init__(self, db: Database) -> None:
        self.db = db

    def __enter__(self) -> Database:
        db = self.db
        try:
            if db.depth == 0:
                db.conn.execute("BEGIN IMMEDIATE")
            else:
                db.conn.execute(f"SAVEPOINT sp{db.depth}")
        except sqlite3.Error as exc:
            raise translate(exc, db.path) from exc
        db.depth += 1
        return db

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        db = self.db
        db.depth -= 1
        conn = db.conn
        try:
            if exc is None:
                if db.depth == 0:
                    conn.execute("COMMIT")
                    db.after_commit()
                else:
                    conn.execute(f"RELEASE sp{db.depth}")
                return
            if db.depth == 0:
                conn.execute("ROLLBACK")
                db.after_rollback()
            else:
                conn.execute(f"ROLLBACK TO sp{db.depth}")
                conn.execute(f"RELEASE sp{db.depth}")
        except sqlite3.Error as err:
            if exc is None:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise translate(err, db.path) from err
        if isinstance(exc, sqlite3.Error):
            raise translate(exc, db.path) from exc


class Database:
    """One SQLite connection with the project's pragmas and schema."""

    def __init__(self, path: str, *, readonly: bool = False, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
                 create: bool = True) -> None:
        self.path = path
        self.readonly = readonly
        self.depth = 0
        self._commit_hooks: list[object] = []
        memory = path == ":memory:" or path.startswith("file::memory:")
        if not memory and not create and not os.path.exists(path):
            raise StorageError(f"no database at {path}")
        self.read_only_fs = False
        try:
            version = self._connect(path, memory, readonly, busy_timeout_ms)
        except sqlite3.Error as exc:
            # A WAL database on a read-only file system (a sandbox, a read-only mount) cannot
            # create its -shm file; SQLite can still read it when told the file is immutable.
            if memory or os.access(os.path.dirname(os.path.abspath(path)) or ".", os.W_OK):
                raise translate(exc, path) from exc
            try:
                version = self._connect(path, memory, True, busy_timeout_ms, immutable=True)
            except sqlite3.Error:
                raise translate(exc, path) from exc
            self.readonly = readonly = True
            self.read_only_fs = True
        if version < SCHEMA_VERSION:
            if readonly:
                raise ReadOnly(f"database {path} needs a schema upgrade but is opened read-only")
            self._migrate(memory)

    def _connect(self, path: str, memory: bool, readonly: bool, busy_timeout_ms: int, *,
                 immutable: bool = False) -> int:
        if readonly and not memory:
            uri = readonly_uri(path) + ("&immutable=1" if immutable else "")
            self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                                        timeout=busy_timeout_ms / 1000)
        else:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                        timeout=busy_timeout_ms / 1000)
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            # per connection, not persistent: WAL + NORMAL cannot corrupt, and skips an fsync per commit
            self.conn.execute("PRAGMA synchronous = NORMAL")
            return int(self.conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.Error:
            self.conn.close()
            raise

    # -- schema ------------------------------------------------------------------

    def _migrate(self, memory: bool) -> None:
        conn = self.conn
        try:
            if not memory:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version < SCHEMA_VERSION:
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                        " applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)"
                    )
                    if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='issues'").fetchone():
                        _add_missing_columns(conn)  # a classic Go beads.db
                    for number, (name, sql) in enumerate(MIGRATIONS, start=1):
                        if number <= version:
                            continue
                        for statement in _split(sql):
                            conn.execute(statement)
                        if number == 1:
                            _add_missing_columns(conn)
                        conn.execute("INSERT OR REPLACE INTO schema_migrations (version, name) VALUES (?, ?)",
                                     (number, name))
                    _rebuild_blocked_cache(conn)  # an upgraded database may hold edges but no cache yet
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    # -- transactions and queries -------------------------------------------------

    def transaction(self) -> Transaction:
        if self.read_only_fs:
            raise ReadOnly(f"cannot write to database {self.path}: the file system is read-only")
        if self.readonly:
            raise ReadOnly(f"database {self.path} is opened read-only")
        return Transaction(self)

    def after_commit(self) -> None:
        hooks, self._commit_hooks = self._commit_hooks, []
        for hook in hooks:
            hook()  # type: ignore[operator]

    def after_rollback(self) -> None:
        self._commit_hooks = []

    def on_commit(self, hook: object, *, once: bool = False) -> None:
        """Run ``hook()`` after the current outer transaction commits (dropped on rollback);
        with ``once``, a hook already waiting (an equal bound method) is not added again."""
        if self.depth == 0:
            hook()  # type: ignore[operator]
        elif not (once and hook in self._commit_hooks):
            self._commit_hooks.append(hook)

    def execute(self, sql: str, params: tuple | list = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    def executemany(self, sql: str, rows: list) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    def all(self, sql: str, params: tuple | list = ()) -> list:
        return self.execute(sql, params).fetchall()

    def chunks(self, sql: str, params: tuple | list = (), size: int = 500) -> Iterator[list]:
        """The rows of ``sql`` in lists of up to ``size``, read from the cursor as they are
        consumed (big outputs are written as they are read, never held whole)."""
        cur = self.execute(sql, params)
        while True:
            try:
                rows = cur.fetchmany(size)
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from exc
            if not rows:
                return
            yield rows

    def one(self, sql: str, params: tuple | list = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: tuple | list = ()) -> object:
        row = self.one(sql, params)
        return row[0] if row else None

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass


def _split(script: str) -> list[str]:
    """Split a migration script into statements (our scripts hold no ';' inside literals
    except at statement ends)."""
    parts: list[str] = []
    buf: list[str] = []
    for line in script.splitlines():
        buf.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(buf).strip()
            if sqlite3.complete_statement(stmt):
                parts.append(stmt)
                buf = []
    rest = "\n".join(buf).strip()
    if rest:
        parts.append(rest)
    return parts


def _rebuild_blocked_cache(conn: sqlite3.Connection) -> None:
    from beads.storage.sqlite.graph import REBUILD_CACHE_SQL

    conn.execute("DELETE FROM blocked_issues_cache")
    conn.execute(REBUILD_CACHE_SQL)


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a classic Go ``beads.db`` (created without our newer columns) up to our column set."""
    from beads.storage.sqlite.rows import INSERT_COLUMNS

    have = {row[1] for row in conn.execute("PRAGMA table_info(issues)")}
    for col in INSERT_COLUMNS:
        if col not in have:
            if col in ("compaction_level", "ephemeral", "pinned", "is_template", "crystallizes", "timeout_ns"):
                conn.execute(f"ALTER TABLE issues ADD COLUMN {col} INTEGER DEFAULT 0")
            elif col in ("estimated_minutes", "original_size"):
                conn.execute(f"ALTER TABLE issues ADD COLUMN {col} INTEGER")
            elif col == "quality_score":
                conn.execute(f"ALTER TABLE issues ADD COLUMN {col} REAL")
            elif col in ("closed_at", "due_at", "defer_until", "compacted_at", "deleted_at", "last_activity",
                         "external_ref", "compacted_at_commit", "assignee"):
                conn.execute(f"ALTER TABLE issues ADD COLUMN {col} TEXT")
            else:
                conn.execute(f"ALTER TABLE issues ADD COLUMN {col} TEXT DEFAULT ''")
    dep_cols = {row[1] for row in conn.execute("PRAGMA table_info(dependencies)")}
    for col, ddl in (("metadata", "TEXT DEFAULT '{}'"), ("thread_id", "TEXT DEFAULT ''")):
        if dep_cols and col not in dep_cols:  # no table yet: migration 1 creates it whole
            conn.execute(f"ALTER TABLE dependencies ADD COLUMN {col} {ddl}")
