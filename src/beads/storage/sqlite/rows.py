"""Mapping between issue dicts (JSON keys) and ``issues`` rows (the original's columns).

Fields the original keeps in columns live in columns; the rare structured fields
(bonded_from, creator, validations, …) and any key a newer writer added that we do
not know yet live in ``extra_json`` so that nothing read from a file is dropped.
"""

from __future__ import annotations

import json
import operator

from beads.model import FIELD_KIND, FIELDS, LEGACY_IGNORED_KEYS, default_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.model import Issue

# (json key, column, converter): converter b = 0/1 bool, w = JSON string array,
# a = NULL-able text read as "" (assignee), None = as is
COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("id", "id", None), ("title", "title", None), ("description", "description", None),
    ("design", "design", None), ("acceptance_criteria", "acceptance_criteria", None),
    ("notes", "notes", None), ("status", "status", None), ("priority", "priority", None),
    ("issue_type", "issue_type", None), ("assignee", "assignee", "a"), ("owner", "owner", "a"),
    ("estimated_minutes", "estimated_minutes", None), ("created_at", "created_at", None),
    ("created_by", "created_by", "a"), ("updated_at", "updated_at", None),
    ("closed_at", "closed_at", None), ("close_reason", "close_reason", "a"),
    ("closed_by_session", "closed_by_session", "a"), ("due_at", "due_at", None),
    ("defer_until", "defer_until", None), ("external_ref", "external_ref", None),
    ("source_system", "source_system", "a"), ("compaction_level", "compaction_level", "i"),
    ("compacted_at", "compacted_at", None), ("compacted_at_commit", "compacted_at_commit", None),
    ("original_size", "original_size", "i"), ("deleted_at", "deleted_at", None),
    ("deleted_by", "deleted_by", "a"), ("delete_reason", "delete_reason", "a"),
    ("original_type", "original_type", "a"), ("sender", "sender", "a"),
    ("ephemeral", "ephemeral", "b"), ("pinned", "pinned", "b"), ("is_template", "is_template", "b"),
    ("crystallizes", "crystallizes", "b"), ("quality_score", "quality_score", None),
    ("await_type", "await_type", "a"), ("await_id", "await_id", "a"), ("timeout", "timeout_ns", "i"),
    ("waiters", "waiters", "w"), ("hook_bead", "hook_bead", "a"), ("role_bead", "role_bead", "a"),
    ("agent_state", "agent_state", "a"), ("last_activity", "last_activity", None),
    ("role_type", "role_type", "a"), ("rig", "rig", "a"), ("mol_type", "mol_type", "a"),
    ("work_type", "work_type", "a"), ("event_kind", "event_kind", "a"), ("actor", "actor", "a"),
    ("target", "target", "a"), ("payload", "payload", "a"),
)
COLUMN_KEYS = frozenset(c[0] for c in COLUMNS)
# keys kept outside the issues row
RELATION_KEYS = frozenset(("labels", "dependencies", "comments"))
SELECT_COLUMNS = ", ".join(f"i.{col}" for _, col, _ in COLUMNS) + ", i.extra_json, i.content_hash"
INSERT_COLUMNS = [col for _, col, _ in COLUMNS] + ["extra_json", "content_hash", "source_repo"]
INSERT_SQL = (
    f"INSERT INTO issues ({', '.join(INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"
)
_EXTRA_ORDER = [name for name, _ in FIELDS if name not in COLUMN_KEYS and name not in RELATION_KEYS]
_CONVERTERS = tuple(conv for _, _, conv in COLUMNS)
_KEYS = tuple(key for key, _, _ in COLUMNS)
_N = len(COLUMNS)


# Keys by converter: most columns map 1:1 and go through dict(zip()) at C speed; only
# these few need a Python touch (this runs for every issue read).
_A_KEYS = tuple(key for key, _, conv in COLUMNS if conv == "a")
_B_KEYS = tuple(key for key, _, conv in COLUMNS if conv == "b")
_I_KEYS = tuple(key for key, _, conv in COLUMNS if conv == "i")
_W_KEYS = tuple(key for key, _, conv in COLUMNS if conv == "w")
# (key, default, default is a list that must not be shared)
_EXTRA_FILL = tuple((key, default_for(FIELD_KIND[key]), FIELD_KIND[key] == "l") for key in _EXTRA_ORDER)


def row_to_issue(row: tuple[Any, ...]) -> Issue:
    issue: Issue = dict(zip(_KEYS, row, strict=False))  # stops at the last column: extra_json, hash follow
    for key in _A_KEYS:
        if not issue[key]:
            issue[key] = ""
    for key in _B_KEYS:
        issue[key] = bool(issue[key])
    for key in _I_KEYS:
        if not issue[key]:
            issue[key] = 0
    for key in _W_KEYS:
        value = issue[key]
        issue[key] = json.loads(value) if value else []
    for key, default, fresh_list in _EXTRA_FILL:
        issue[key] = [] if fresh_list else default
    extra = row[_N]
    if extra:
        issue.update(json.loads(extra))
    issue["_content_hash"] = row[_N + 1]
    return issue


def column_value(key: str, value: Any) -> Any:
    """Convert one issue field to what its column stores."""
    for k, _, conv in COLUMNS:
        if k == key:
            if conv == "b":
                return 1 if value else 0
            if conv == "w":
                return json.dumps(value) if value else ""
            if conv == "a" and value is None:
                return ""
            return value
    raise KeyError(key)


def column_name(key: str) -> str:
    for k, col, _ in COLUMNS:
        if k == key:
            return col
    raise KeyError(key)


_NOT_EXTRA = COLUMN_KEYS | RELATION_KEYS | frozenset(LEGACY_IGNORED_KEYS)
_EXTRA_DEFAULTS = tuple((key, default_for(FIELD_KIND[key])) for key in _EXTRA_ORDER)
_EXTRA_KNOWN = frozenset(_EXTRA_ORDER)
_GET_COLUMNS = operator.itemgetter(*_KEYS)
_A_INDEX = tuple(i for i, (_, _, conv) in enumerate(COLUMNS) if conv == "a")
_I_INDEX = tuple(i for i, (_, _, conv) in enumerate(COLUMNS) if conv == "i")
_B_INDEX = tuple(i for i, (_, _, conv) in enumerate(COLUMNS) if conv == "b")
_W_INDEX = tuple(i for i, (_, _, conv) in enumerate(COLUMNS) if conv == "w")


def extra_of(issue: Issue) -> str:
    """The JSON text for ``extra_json``: known non-column fields (non-empty) and unknown keys.

    Unknown keys keep the reader's order (they are appended in that order when read back);
    the known ones have a fixed place in every issue dict, so their order here is irrelevant.
    """
    extra: dict[str, Any] = {}
    for key, default in _EXTRA_DEFAULTS:
        if key in issue:
            value = issue[key]
            if value != default:
                extra[key] = value
    unknown = {k for k in issue.keys() - _NOT_EXTRA - _EXTRA_KNOWN if not k.startswith("_")}
    if unknown:
        for key, value in issue.items():
            if key in unknown:
                extra[key] = value
    return json.dumps(extra, ensure_ascii=False, separators=(",", ":")) if extra else ""


def insert_values(issue: Issue, content_hash: str, source_repo: str = "") -> list[Any]:
    """The row for ``INSERT_SQL`` (column order, then extra_json, content_hash, source_repo)."""
    try:
        values = list(_GET_COLUMNS(issue))
    except KeyError:  # a partial dict: missing fields take their defaults below
        get = issue.get
        values = [get(key) for key in _KEYS]
    for i in _A_INDEX:
        if values[i] is None:
            values[i] = ""
    for i in _I_INDEX:
        if values[i] is None:
            values[i] = 0
    for i in _B_INDEX:
        values[i] = 1 if values[i] else 0
    for i in _W_INDEX:
        value = values[i]
        values[i] = json.dumps(value) if value else ""
    values.append(extra_of(issue))
    values.append(content_hash)
    values.append(source_repo)
    return values
