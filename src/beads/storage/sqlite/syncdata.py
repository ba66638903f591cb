"""SQL used by the JSONL layer (``beads.sync``): snapshots, dirty marks, bulk import.

Kept apart from ``store.py`` so that the import/export paths can batch their work
(one ``executemany`` per table) without widening the general storage API.
"""

from __future__ import annotations

import json

from beads import timefmt
from beads.model import FIELDS, default_for, to_wire
from beads.storage.sqlite.rows import (
    COLUMNS,
    INSERT_SQL,
    RELATION_KEYS,
    SELECT_COLUMNS,
    extra_of,
    insert_values,
    row_to_issue,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from beads.storage.sqlite.connection import Database


def _plan() -> tuple[tuple[str, int, str | None, str], ...]:
    """(json key, row index, converter, omit-empty kind) for the column-backed fields, in struct order."""
    index = {key: (i, conv) for i, (key, _, conv) in enumerate(COLUMNS)}
    return tuple((name, *index[name], kind) for name, kind in FIELDS if name in index)


_PLAN = _plan()
_EXTRA_INDEX = len(COLUMNS)


def _compile_sparse() -> Any:
    """``row_to_sparse``'s common case as straight-line code generated from ``_PLAN``: one
    statement per field instead of a loop that re-tests each field's kind (this runs for
    every issue of an export; the loop cost more than the query)."""
    lines = ["def sparse(row):", "    out = {}"]
    for name, i, conv, kind in _PLAN:
        if kind == "S" or kind == "I":
            lines.append(f"    out[{name!r}] = row[{i}]")
            continue
        lines.append(f"    v = row[{i}]")
        if kind == "n":
            lines.append(f"    if v is not None: out[{name!r}] = v")
        elif conv == "b":
            lines.append(f"    if v: out[{name!r}] = True")
        elif conv == "w":
            lines.append("    if v:")
            lines.append("        v = json.loads(v)")
            lines.append(f"        if v: out[{name!r}] = v")
        else:
            lines.append(f"    if v is not None and v != '' and v != 0: out[{name!r}] = v")
    lines.append("    return out")
    namespace: dict[str, Any] = {"json": json}
    exec("\n".join(lines), namespace)  # noqa: S102 - code generated above from constants only
    return namespace["sparse"]


_SPARSE = _compile_sparse()


def row_to_sparse(row: tuple[Any, ...]) -> dict[str, Any]:
    """An ``issues`` row as its JSONL object without relations: struct order, empties omitted.

    Equal to ``model.to_wire(row_to_issue(row))`` (a test holds them equal); rows with
    ``extra_json`` take that route, the common rest is built directly, for speed.
    """
    if row[_EXTRA_INDEX]:
        return to_wire(row_to_issue(row))
    return _SPARSE(row)  # type: ignore[no-any-return]


# ``insert_values`` of an issue with every field at its default, and where each column's field goes:
# a new issue's row is this template with the record's own fields put in (no full dict per issue).
_ROW_TEMPLATE = insert_values({name: default_for(kind) for name, kind in FIELDS}, "")[:len(COLUMNS)]
_ROW_SLOT = {key: (i, conv) for i, (key, _, conv) in enumerate(COLUMNS)}
_PLAIN_KEYS = frozenset(_ROW_SLOT) | RELATION_KEYS  # a record with only these has no extra_json


def new_issue_values(rec: dict[str, Any], content_hash: str) -> list[Any]:
    """``insert_values`` of the record with every missing field at its default (what the importer's
    full issue dict gives), built from the record's own keys only: this runs for every issue of a
    bulk import."""
    row = _ROW_TEMPLATE.copy()
    slot = _ROW_SLOT.get
    for key, value in rec.items():
        spec = slot(key)
        if spec is None:
            continue
        i, conv = spec
        if conv is None:
            row[i] = value
        elif conv == "a":
            row[i] = "" if value is None else value
        elif conv == "i":
            row[i] = 0 if value is None else value
        elif conv == "b":
            row[i] = 1 if value else 0
        else:
            row[i] = json.dumps(value) if value else ""
    row.append("" if rec.keys() <= _PLAIN_KEYS else extra_of(rec))
    row.append(content_hash)
    row.append("")
    return row


class SyncMixin:
    db: Database

    def sparse_issues(self, *, include_ephemeral: bool = False) -> list[dict[str, Any]]:
        """Every issue (tombstones included) as ``row_to_sparse`` builds it, sorted by ID."""
        where = "" if include_ephemeral else " WHERE i.ephemeral = 0"
        return [row_to_sparse(r) for r in self.db.all(f"SELECT {SELECT_COLUMNS} FROM issues i{where} ORDER BY i.id")]

    def sparse_issue_chunks(self) -> Iterator[list[dict[str, Any]]]:
        """``sparse_issues()`` (wisps left out) read from the cursor a few hundred rows at a time."""
        for rows in self.db.chunks(f"SELECT {SELECT_COLUMNS} FROM issues i WHERE i.ephemeral = 0 ORDER BY i.id"):
            yield [row_to_sparse(r) for r in rows]

    def export_relations(self, first: str, last: str, comments: bool = True) -> tuple[
            dict[str, list[str]], dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
        """Labels, dependency edges and comments of the issues ``first`` <= id <= ``last`` (a chunk
        of ``sparse_issue_chunks``), already in their JSONL form: keys in the written order, empty
        ones omitted, each list in its canonical order (``jsonl._wire_relations``). Range scans of
        the issue_id indexes: no list of IDs to bind, no intermediate dicts."""
        between = "WHERE issue_id >= ? AND issue_id <= ?"
        labels: dict[str, list[str]] = {}
        for issue_id, label in self.db.all(f"SELECT issue_id, label FROM labels {between} ORDER BY issue_id, label",
                                           (first, last)):
            labels.setdefault(issue_id, []).append(label)
        deps: dict[str, list[dict[str, Any]]] = {}
        for src, dst, kind, at, by, meta, thread in self.db.all(
                "SELECT issue_id, depends_on_id, type, created_at, created_by, metadata, thread_id FROM dependencies "
                f"{between} ORDER BY issue_id, created_at, depends_on_id, type", (first, last)):
            dep = {"issue_id": src, "depends_on_id": dst, "type": kind or "blocks", "created_at": at or ""}
            if by:
                dep["created_by"] = by
            if meta and meta != "{}":
                dep["metadata"] = meta
            if thread:
                dep["thread_id"] = thread
            deps.setdefault(src, []).append(dep)
        notes: dict[str, list[dict[str, Any]]] = {}
        if comments:
            for cid, issue_id, author, text, at in self.db.all(
                    f"SELECT id, issue_id, author, text, created_at FROM comments {between} "
                    "ORDER BY issue_id, created_at, id", (first, last)):
                notes.setdefault(issue_id, []).append({"id": cid, "issue_id": issue_id, "author": author, "text": text,
                                                       "created_at": at or ""})
        return labels, deps, notes

    # -- consistent reads -------------------------------------------------------------

    def read_snapshot(self) -> Any:
        """A read transaction: every query inside sees the same database state."""
        import contextlib

        @contextlib.contextmanager
        def snapshot() -> Iterator[None]:
            conn = self.db.conn
            if conn.in_transaction:
                yield
                return
            self.db.execute("BEGIN")
            try:
                yield
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

        return snapshot()

    # -- dirty marks ---------------------------------------------------------------------

    def dirty_marks(self) -> dict[str, str]:
        """issue_id → marked_at for every issue changed since the last export."""
        return dict(self.db.all("SELECT issue_id, marked_at FROM dirty_issues"))

    def clear_dirty_marks(self, marks: dict[str, str]) -> None:
        """Clear exactly these marks; an issue re-marked since (new marked_at) stays dirty."""
        self.db.executemany("DELETE FROM dirty_issues WHERE issue_id = ? AND marked_at = ?", list(marks.items()))

    def pending_hard_deletes(self) -> set[str]:
        """IDs marked dirty that have no row: hard-deleted here, not yet removed from the JSONL."""
        return {r[0] for r in self.db.all(
            "SELECT d.issue_id FROM dirty_issues d WHERE NOT EXISTS (SELECT 1 FROM issues i WHERE i.id = d.issue_id)")}

    def existing_ids(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` have a row (tombstones included)."""
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(r[0] for r in self.db.all(f"SELECT id FROM issues WHERE id IN ({marks})", chunk))
        return out

    def exported_ids(self) -> set[str]:
        """The IDs a full export writes (every issue but wisps), read from the indexes only."""
        ids = {r[0] for r in self.db.all("SELECT id FROM issues")}
        ids.difference_update(r[0] for r in self.db.all("SELECT id FROM issues WHERE ephemeral = 1"))
        return ids

    # -- line digests (sync/linescan.py) ---------------------------------------------------

    def line_digests(self) -> dict[bytes, str]:
        """The digest of the JSONL line last written or absorbed for each issue → its ID."""
        return dict(self.db.all("SELECT content_hash, issue_id FROM export_hashes WHERE typeof(content_hash) = 'blob'"))

    def set_line_digests(self, digests: dict[str, bytes], *, replace_all: bool = False) -> None:
        """Record line digests (``replace_all``: these are the whole file's lines)."""
        if replace_all:
            self.db.execute("DELETE FROM export_hashes")
        if digests:
            now = timefmt.now()
            self.db.executemany("INSERT INTO export_hashes (issue_id, content_hash, exported_at) VALUES (?, ?, ?) "
                                "ON CONFLICT(issue_id) DO UPDATE SET content_hash = excluded.content_hash, "
                                "exported_at = excluded.exported_at", [(i, d, now) for i, d in digests.items()])

    def drop_line_digests(self, ids: list[str]) -> None:
        self.db.executemany("DELETE FROM export_hashes WHERE issue_id = ?", [(i,) for i in ids])

    # -- metadata --------------------------------------------------------------------------

    def set_metadata_many(self, values: dict[str, str]) -> None:
        self.db.executemany("INSERT INTO metadata (key, value) VALUES (?, ?) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", list(values.items()))

    def get_metadata_many(self, keys: list[str]) -> dict[str, str]:
        marks = ",".join("?" * len(keys))
        return dict(self.db.all(f"SELECT key, value FROM metadata WHERE key IN ({marks})", keys))

    # -- bulk import -----------------------------------------------------------------------

    def is_fresh_target(self) -> bool:
        """No issue rows and no dirty marks: a bulk import may create every record as it is.
        Outside a transaction it says whether one may start; inside, whether it still holds."""
        return (self.db.one("SELECT 1 FROM issues LIMIT 1") is None
                and self.db.one("SELECT 1 FROM dirty_issues LIMIT 1") is None)

    def set_foreign_keys(self, on: bool) -> None:
        """Foreign-key checks on or off (outside a transaction only; on is how connections open).
        A bulk load whose relation rows all point at issues it inserted first skips the lookups."""
        self.db.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")

    def in_transaction(self) -> bool:
        return self.db.depth > 0

    def insert_new_issues(self, records: list[dict[str, Any]], hashes: list[str]) -> None:
        """``insert_issues`` for normalised import records (missing fields take their defaults)."""
        self.db.executemany(INSERT_SQL, [new_issue_values(r, h) for r, h in zip(records, hashes, strict=True)])
        self.db.on_commit(self.refresh_statistics, once=True)  # type: ignore[attr-defined]

    def add_labels(self, pairs: list[tuple[str, str]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO labels (issue_id, label) VALUES (?, ?)", pairs)

    def set_cache_size(self, value: int) -> int:
        """Set SQLite's page cache (``PRAGMA cache_size``: pages, or KiB when negative); returns
        the previous value so a bulk import can restore it."""
        previous = int(self.db.one("PRAGMA cache_size")[0])  # type: ignore[index]
        self.db.execute(f"PRAGMA cache_size = {int(value)}")
        return previous

    def drop_indexes_if_empty(self) -> list[str]:
        """Before a bulk load into an empty issues table: drop the secondary indexes of the tables
        the load fills and return their DDL for ``restore_indexes``. Building an index once from
        all rows costs a fraction of keeping a dozen of them up to date row by row. Run it inside
        the load's transaction: a rollback brings the indexes back with everything else."""
        if self.db.one("SELECT 1 FROM issues LIMIT 1") is not None:
            return []
        rows = self.db.all("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                           "AND tbl_name IN ('issues', 'labels', 'dependencies', 'comments', 'events')")
        for name, _ in rows:
            self.db.execute(f'DROP INDEX "{name}"')
        return [sql for _, sql in rows]

    def restore_indexes(self, ddl: list[str]) -> None:
        for sql in ddl:
            self.db.execute(sql)

    def external_ref_owners(self, refs: list[str]) -> dict[str, str]:
        """external_ref → issue ID for those of ``refs`` already in use (one query per 500)."""
        out: dict[str, str] = {}
        for i in range(0, len(refs), 500):
            chunk = refs[i:i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.all(f"SELECT external_ref, id FROM issues WHERE external_ref IN ({marks})", chunk))
        return out

    def comment_ids_taken(self, ids: list[int]) -> set[int]:
        out: set[int] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(r[0] for r in self.db.all(f"SELECT id FROM comments WHERE id IN ({marks})", chunk))
        return out

    def insert_comments(self, rows: list[tuple[int | None, str, str, str, str]]) -> None:
        """Rows of (id or None, issue_id, author, text, created_at); an explicit id is kept.

        Rows with an explicit id go first: a row without one takes the next free number,
        which must not be one a later row of the same batch asks for.
        """
        rows = [r for r in rows if r[0] is not None] + [r for r in rows if r[0] is None]
        self.db.executemany("INSERT INTO comments (id, issue_id, author, text, created_at) VALUES (?, ?, ?, ?, ?)",
                            rows)

    def add_events(self, rows: list[tuple[str, str, str, str | None, str]]) -> None:
        """Rows of (issue_id, event_type, actor, comment, created_at)."""
        self.db.executemany("INSERT INTO events (issue_id, event_type, actor, comment, created_at) "
                            "VALUES (?, ?, ?, ?, ?)", rows)

    def remove_outgoing_dependencies(self, issue_id: str) -> int:
        return self.db.execute("DELETE FROM dependencies WHERE issue_id = ?", (issue_id,)).rowcount

    def checkpoint(self) -> None:
        """Fold the WAL back into the database file after a large import (best effort)."""
        try:
            self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # noqa: BLE001 - purely an optimisation
            pass
