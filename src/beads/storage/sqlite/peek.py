"""Config values read from a database file without opening a store (no migrations, no write
lock, none of the store's modules): for a process that needs a setting or two and nothing else,
such as the merge driver that git runs, which wants the workspace's custom statuses and types."""

from __future__ import annotations

import sqlite3

from beads.storage.sqlite.connection import readonly_uri


def config_values(db_path: str, keys: list[str]) -> dict[str, str] | None:
    """The database config values of ``keys`` that are set; None when the file cannot be read as
    a beads database (the caller falls back to defaults)."""
    try:
        conn = sqlite3.connect(readonly_uri(db_path), uri=True, timeout=5.0)
    except sqlite3.Error:
        return None
    try:
        marks = ",".join("?" * len(keys))
        rows = conn.execute(f"SELECT key, value FROM config WHERE key IN ({marks})", keys).fetchall()
        return {str(k): str(v) for k, v in rows if v is not None}
    except sqlite3.Error:
        return None
    finally:
        conn.close()
