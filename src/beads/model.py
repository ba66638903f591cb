"""The issue data model: vocabularies, field order, validation and content hash.

Issues travel through the library as plain dicts keyed by their JSON names (the
original's Go struct tags), so that what we store, what we print with ``--json``
and what we write to ``issues.jsonl`` are the same object. This module is the one
place that knows the field order and the omit-empty rules. Stdlib only.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~9 ms to import; keep it off the start-up path
    from collections.abc import Callable, Iterable
    from typing import Any

    Issue = dict[str, Any]

# -- vocabularies -----------------------------------------------------------------

STATUS_OPEN = "open"
STATUS_IN_PROGRESS = "in_progress"
STATUS_BLOCKED = "blocked"
STATUS_DEFERRED = "deferred"
STATUS_CLOSED = "closed"
STATUS_TOMBSTONE = "tombstone"
STATUS_PINNED = "pinned"
STATUS_HOOKED = "hooked"

BUILTIN_STATUSES = (
    STATUS_OPEN,
    STATUS_IN_PROGRESS,
    STATUS_BLOCKED,
    STATUS_DEFERRED,
    STATUS_CLOSED,
    STATUS_TOMBSTONE,
    STATUS_PINNED,
    STATUS_HOOKED,
)
# Statuses of a `blocks` target that keep its dependents blocked (spec §4, v0.47).
BLOCKING_STATUSES = (STATUS_OPEN, STATUS_IN_PROGRESS, STATUS_BLOCKED, STATUS_DEFERRED, STATUS_HOOKED)
READY_STATUSES = (STATUS_OPEN, STATUS_IN_PROGRESS)

ISSUE_TYPES = (
    "bug", "feature", "task", "epic", "chore",
    "message", "merge-request", "molecule", "gate", "agent", "role",
    "rig", "convoy", "event", "slot", "decision",
)
# Shorthands accepted wherever a type is (v0.47 `util.NormalizeIssueType` and later `IssueType.Normalize`);
# `decision` is a later built-in that beads-ui offers in its type menu.
TYPE_ALIASES = {
    "mr": "merge-request", "feat": "feature", "mol": "molecule", "enhancement": "feature",
    "dec": "decision", "adr": "decision",
}
# Workflow types hidden from `ready` unless asked for with --type.
READY_HIDDEN_TYPES = ("merge-request", "gate", "molecule", "message")

DEP_BLOCKS = "blocks"
DEP_PARENT_CHILD = "parent-child"
DEP_CONDITIONAL_BLOCKS = "conditional-blocks"
DEP_WAITS_FOR = "waits-for"
DEP_RELATED = "related"
DEP_RELATES_TO = "relates-to"
DEP_DISCOVERED_FROM = "discovered-from"
DEP_DUPLICATES = "duplicates"
DEP_SUPERSEDES = "supersedes"
KNOWN_DEP_TYPES = (
    DEP_BLOCKS, DEP_PARENT_CHILD, DEP_CONDITIONAL_BLOCKS, DEP_WAITS_FOR, DEP_RELATED,
    DEP_DISCOVERED_FROM, "replies-to", DEP_RELATES_TO, DEP_DUPLICATES, DEP_SUPERSEDES,
    "authored-by", "assigned-to", "approved-by",
)
# Edge types that take part in blockedness (and trigger a cache rebuild).
BLOCKING_DEP_TYPES = (DEP_BLOCKS, DEP_PARENT_CHILD, DEP_CONDITIONAL_BLOCKS, DEP_WAITS_FOR)

FAILURE_KEYWORDS = (
    "failed", "rejected", "wontfix", "won't fix", "canceled", "cancelled",
    "abandoned", "blocked", "error", "timeout", "aborted",
)

SORT_POLICIES = ("hybrid", "priority", "oldest")
MAX_TITLE = 500
MAX_DEP_TYPE = 50  # the original's DependencyType.IsValid: any string up to this length

# -- field order and omit-empty rules (v0.47 Go struct order) -----------------------

# kind: s = string omitted when "", S = string never omitted, i = int omitted when 0,
# I = int never omitted, n = nullable (omitted when None), b = bool omitted when False,
# l = list omitted when empty, o = object omitted when None/empty
FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "S"), ("title", "S"), ("description", "s"), ("design", "s"),
    ("acceptance_criteria", "s"), ("notes", "s"), ("status", "s"), ("priority", "I"),
    ("issue_type", "s"), ("assignee", "s"), ("owner", "s"), ("estimated_minutes", "n"),
    ("created_at", "S"), ("created_by", "s"), ("updated_at", "S"), ("closed_at", "n"),
    ("close_reason", "s"), ("closed_by_session", "s"), ("due_at", "n"), ("defer_until", "n"),
    ("external_ref", "n"), ("source_system", "s"), ("compaction_level", "i"),
    ("compacted_at", "n"), ("compacted_at_commit", "n"), ("original_size", "i"),
    ("labels", "l"), ("dependencies", "l"), ("comments", "l"),
    ("deleted_at", "n"), ("deleted_by", "s"), ("delete_reason", "s"), ("original_type", "s"),
    ("sender", "s"), ("ephemeral", "b"), ("pinned", "b"), ("is_template", "b"),
    ("bonded_from", "l"), ("creator", "o"), ("validations", "l"), ("quality_score", "n"),
    ("crystallizes", "b"), ("await_type", "s"), ("await_id", "s"), ("timeout", "i"),
    ("waiters", "l"), ("holder", "s"), ("source_formula", "s"), ("source_location", "s"),
    ("hook_bead", "s"), ("role_bead", "s"), ("agent_state", "s"), ("last_activity", "n"),
    ("role_type", "s"), ("rig", "s"), ("mol_type", "s"), ("work_type", "s"),
    ("event_kind", "s"), ("actor", "s"), ("target", "s"), ("payload", "s"),
)
FIELD_KIND = dict(FIELDS)
FIELDS_BEFORE_LABELS = frozenset(name for name, _ in FIELDS[:[n for n, _ in FIELDS].index("labels")])
FIELD_INDEX = {name: i for i, (name, _) in enumerate(FIELDS)}
# Keys that older files carry and that we accept but never write.
LEGACY_IGNORED_KEYS = ("content_hash",)

DEP_FIELDS = ("issue_id", "depends_on_id", "type", "created_at", "created_by", "metadata", "thread_id")


def default_for(kind: str) -> Any:
    if kind in ("s", "S"):
        return ""
    if kind in ("i", "I"):
        return 0
    if kind == "b":
        return False
    if kind == "l":
        return []
    return None


def is_empty(kind: str, value: Any) -> bool:
    if kind in ("S", "I"):
        return False
    if value is None:
        return True
    if kind == "s":
        return value == ""
    if kind == "i":
        return value == 0
    if kind == "b":
        return value is False
    if kind in ("l", "o"):
        return not value
    return False


_KNOWN_OR_LEGACY = frozenset(FIELD_KIND) | frozenset(LEGACY_IGNORED_KEYS)


_FIELD_ORDER = {name: i for i, (name, _) in enumerate(FIELDS)}


def to_wire(issue: Issue) -> Issue:
    """Return the issue as the original serialises it: struct order, empties omitted.

    Keys the model does not know (written by a newer tool) follow the known ones in
    their original order, so nothing a reader gave us is dropped. ``is_empty`` is
    inlined and only the issue's own keys are visited (a record has a dozen of the
    sixty fields): this runs for every issue printed or exported.
    """
    order = _FIELD_ORDER
    known = [key for key in issue if key in order]
    known.sort(key=order.__getitem__)
    out: Issue = {}
    kinds = FIELD_KIND
    for name in known:
        value = issue[name]
        kind = kinds[name]
        if kind == "S" or kind == "I":
            out[name] = value
        elif value is None:
            continue
        elif kind == "s":
            if value != "":
                out[name] = value
        elif kind == "n":
            out[name] = value
        elif kind == "i":
            if value != 0:
                out[name] = value
        elif kind == "b":
            if value is not False:
                out[name] = value
        elif value:
            out[name] = value
    if len(issue) > len(known):
        for key, value in issue.items():  # unknown keys, in the reader's order
            if key not in _KNOWN_OR_LEGACY and not key.startswith("_"):
                out[key] = value
    return out


def dep_to_wire(dep: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "issue_id": dep["issue_id"],
        "depends_on_id": dep["depends_on_id"],
        "type": dep.get("type") or DEP_BLOCKS,
        "created_at": dep.get("created_at") or "",
    }
    if dep.get("created_by"):
        out["created_by"] = dep["created_by"]
    md = dep.get("metadata")
    if md and md != "{}":
        out["metadata"] = md
    if dep.get("thread_id"):
        out["thread_id"] = dep["thread_id"]
    return out


_NEW_ISSUE: Issue = {name: default_for(kind) for name, kind in FIELDS}
_NEW_ISSUE.update(status=STATUS_OPEN, priority=2, issue_type="task")
_LIST_FIELDS = tuple(name for name, kind in FIELDS if kind == "l")


def new_issue(**values: Any) -> Issue:
    """A full issue dict with every known field at its default, then ``values``."""
    issue: Issue = dict(_NEW_ISSUE)
    for name in _LIST_FIELDS:  # fresh lists: the template's must never be shared
        issue[name] = []
    issue.update(values)
    return issue


# -- validation --------------------------------------------------------------------


def parse_priority(value: Any) -> int:
    """Accept 0-4 or P0-P4 (any case); reject words like 'high' with the original's text."""
    from beads.errors import InvalidInput

    if isinstance(value, bool):
        raise InvalidInput(f'invalid priority "{value}" (expected 0-4 or P0-P4, not words like high/medium/low)')
    if isinstance(value, int):
        if 0 <= value <= 4:
            return value
        raise InvalidInput(f"priority must be between 0 and 4 (got {value})")
    text = str(value).strip()
    if len(text) == 2 and text[0] in "pP":
        text = text[1:]
    if len(text) == 1 and text in "01234":  # ASCII only: str.isdigit() also takes "٣", "３", "²"
        return int(text)
    raise InvalidInput(f'invalid priority "{value}" (expected 0-4 or P0-P4, not words like high/medium/low)')


def validate_title(title: Any) -> str:
    from beads.errors import InvalidInput

    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("title is required")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"title must be {MAX_TITLE} characters or less (got {len(title)})")
    return title


def validate_status(status: str, custom: tuple[str, ...] | list[str] = ()) -> str:
    from beads.errors import InvalidInput

    if status in BUILTIN_STATUSES or status in custom:
        return status
    raise InvalidInput(f"invalid status: {status}")


def normalize_issue_type(issue_type: str) -> str:
    """``issue_type`` with a shorthand (``mr``, ``feat``, ``mol``, …) expanded; anything else unchanged."""
    return TYPE_ALIASES.get(issue_type.lower(), issue_type) if issue_type else issue_type


def validate_issue_type(issue_type: str, custom: tuple[str, ...] | list[str] = ()) -> str:
    from beads.errors import InvalidInput

    if issue_type not in custom:
        issue_type = normalize_issue_type(issue_type)
    if issue_type in ISSUE_TYPES or issue_type in custom:
        return issue_type
    raise InvalidInput(f"invalid issue type: {issue_type}")


def validate_dep_type(dep_type: str) -> str:
    from beads.errors import InvalidInput

    if not dep_type or len(dep_type) > MAX_DEP_TYPE:
        raise InvalidInput(f"invalid dependency type: {dep_type!r}")
    return dep_type


def is_failure_reason(reason: str | None) -> bool:
    low = (reason or "").lower()
    return any(k in low for k in FAILURE_KEYWORDS)


# -- content hash (spec §2.6, v0.47 field list) -----------------------------------


def content_hash(issue: Issue) -> str:
    """SHA-256 over the substantive fields, NUL-separated, in the original's order."""
    import hashlib

    parts: list[str] = []
    put = parts.append

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    def entity(ref: Any) -> None:
        ref = ref or {}
        for key in ("name", "platform", "org", "id"):
            put(text(ref.get(key, "")))

    def float_ptr(value: Any) -> str:
        return "" if value is None else f"{float(value):f}"

    g = issue.get
    for key in ("title", "description", "design", "acceptance_criteria", "notes", "status"):
        value = g(key, "")
        put("" if value is None else str(value))
    put(str(int(g("priority") or 0)))
    for key in ("issue_type", "assignee", "owner", "created_by", "external_ref", "source_system"):
        put(str(g(key) or ""))
    put("pinned" if g("pinned") else "")
    put("template" if g("is_template") else "")
    for bond in g("bonded_from") or []:
        put(text(bond.get("source_id", bond.get("proto_id", ""))))
        put(text(bond.get("bond_type", "")))
        put(text(bond.get("bond_point", "")))
    creator = g("creator")
    if creator:
        entity(creator)
    else:
        parts.extend(("", "", "", ""))
    for v in g("validations") or []:
        entity(v.get("validator"))
        put(text(v.get("outcome", "")))
        put(text(v.get("timestamp", "")))
        put(float_ptr(v.get("score")))
    put(float_ptr(g("quality_score")))
    put("crystallizes" if g("crystallizes") else "")
    put(str(g("await_type") or ""))
    put(str(g("await_id") or ""))
    put(str(int(g("timeout") or 0)))
    for waiter in g("waiters") or []:
        put(text(waiter))
    for key in ("holder", "hook_bead", "role_bead", "agent_state", "role_type", "rig", "mol_type",
                "work_type", "event_kind", "actor", "target", "payload"):
        put(str(g(key) or ""))
    # one update over "field\0field\0...field\0": the same digest as hashing field by field
    parts.append("")
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


# -- record validation: one set of rules for the CLI and every JSONL boundary ---------------

MAX_ID = 128  # far above any minted ID (prefix + 8 + three ".N" levels); a file path, not an issue
MAX_INT = 2**63 - 1  # SQLite's INTEGER
AGENT_STATES = ("", "idle", "spawning", "running", "working", "stuck", "done", "stopped", "dead")
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class Vocab:
    """The statuses and issue types a record may use: the built-in ones plus the workspace's
    custom ones (``status.custom``, ``types.custom`` in the database config)."""

    __slots__ = ("statuses", "types")

    def __init__(self, statuses: Iterable[str] = (), types: Iterable[str] = ()) -> None:
        self.statuses = frozenset(BUILTIN_STATUSES).union(statuses)
        self.types = frozenset(ISSUE_TYPES).union(types)

    @classmethod
    def from_config(cls, statuses: str | None, types: str | None) -> Vocab:
        """From the config values ``status.custom`` and ``types.custom`` (comma-separated)."""
        return cls(split_csv(statuses), split_csv(types))


def split_csv(value: str | None) -> list[str]:
    """The non-empty, stripped items of a comma-separated config value."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


BUILTIN_VOCAB = Vocab()


def shown(value: Any, limit: int = 40) -> str:
    """A value as it appears in a message: JSON, control characters escaped, cut at ``limit``."""
    import json

    text = json.dumps(value, ensure_ascii=False)
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "..."


def id_problem(issue_id: Any) -> str | None:
    """Why ``issue_id`` is not an acceptable issue ID (None when it is).

    IDs name files, git refs and URLs elsewhere, so they are plain: letters, digits,
    ``.``, ``_`` and ``-``, starting with a letter or digit, no ``..``, at most ``MAX_ID``.
    """
    if not isinstance(issue_id, str) or not issue_id:
        return f"must be a non-empty string, got {shown(issue_id)}"
    if len(issue_id) > MAX_ID:
        return f"must be at most {MAX_ID} characters (got {len(issue_id)})"
    if not _ID_CHARS.issuperset(issue_id):
        bad = next(c for c in issue_id if c not in _ID_CHARS)
        what = ("whitespace" if bad.isspace() else "a control character" if not bad.isprintable()
                else f"{shown(bad)}")
        return f"must not contain {what} (only letters, digits, '.', '_' and '-'), got {shown(issue_id)}"
    if issue_id[0] in "._-":
        return f"must start with a letter or digit, got {shown(issue_id)}"
    if ".." in issue_id:
        return f"must not contain '..', got {shown(issue_id)}"
    return None


def validate_id(issue_id: Any) -> str:
    """``issue_id`` if acceptable (``id_problem``), else ``InvalidInput``."""
    bad = id_problem(issue_id)
    if bad is None:
        return issue_id  # type: ignore[no-any-return]
    from beads.errors import InvalidInput

    raise InvalidInput(f"invalid ID format {shown(issue_id)}: {bad.partition(', got ')[0]}")


def record_problem(rec: dict[str, Any], vocab: Vocab | None = None) -> str | None:
    """Why a record read from a JSONL may not enter the database, as ``"<field> <reason>"``;
    None when it may.

    The rules are the CLI's (types of every known field, vocabularies, priority 0-4 as an
    integer, timestamps, ID syntax, the shapes of labels, dependencies and comments, no
    self-dependency, no issue its own parent). ``null`` is the field's zero value, as for
    the original; keys this model does not know are a newer tool's and are not judged.
    """
    bad = id_problem(rec.get("id"))
    if bad is not None:
        return f"id {bad}"
    vocab = vocab or BUILTIN_VOCAB
    for key, value in rec.items():
        # plain strings, the most common fields, are checked inline: this runs for every
        # record of every import (100,000 of them for a big workspace)
        if value is None or (value.__class__ is str and key in _PLAIN_STRINGS):
            continue
        check = _CHECKS.get(key)
        if check is not None:
            bad = check(value, rec, vocab)
            if bad is not None:
                return f"{key}{'' if bad.startswith('[') else ' '}{bad}"  # "labels[1] must be..."
    if rec.get("status") != STATUS_TOMBSTONE and not (rec.get("title") or "").strip():
        return "title is required"
    return None


def _got(what: str, value: Any) -> str:
    return f"must be {what}, got {shown(value)}"


def _string(value: Any, rec: Any, vocab: Vocab) -> str | None:
    return None if isinstance(value, str) else _got("a string", value)


def _title(value: Any, rec: Any, vocab: Vocab) -> str | None:
    if not isinstance(value, str):
        return _got("a string", value)
    if len(value) > MAX_TITLE:
        return f"must be {MAX_TITLE} characters or less (got {len(value)})"
    return None


def _status(value: Any, rec: Any, vocab: Vocab) -> str | None:
    if isinstance(value, str) and (not value or value in vocab.statuses):
        return None
    return _got("a known status (built-in or status.custom)", value)


def _issue_type(value: Any, rec: Any, vocab: Vocab) -> str | None:
    if isinstance(value, str) and (not value or value in vocab.types):
        return None
    return _got("a known issue type (built-in or types.custom)", value)


def _agent_state(value: Any, rec: Any, vocab: Vocab) -> str | None:
    return None if value in AGENT_STATES else _got(f"one of {', '.join(AGENT_STATES[1:])}", value)


def _is_int(value: Any, hi: int = MAX_INT) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= hi


def _priority(value: Any, rec: Any, vocab: Vocab) -> str | None:
    return None if _is_int(value, 4) else _got("an integer 0-4", value)


def _count(value: Any, rec: Any, vocab: Vocab) -> str | None:
    return None if _is_int(value) else _got("a non-negative integer", value)


_TIME_MATCH: Callable[[str], Any] | None = None


def _time(value: Any, rec: Any = None, vocab: Any = None) -> str | None:
    # The forms ``timefmt.to_ns`` reads (RFC 3339, SQLite's), with the fields' ranges; a
    # regex alone, because this runs for every timestamp of every imported record.
    global _TIME_MATCH
    if _TIME_MATCH is None:
        import re

        _TIME_MATCH = re.compile(
            r"\s*\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
            r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::(?:[0-5]\d|60)(?:\.\d{1,9})?)?)?"
            r"\s*(?:Z|[+-]\d{2}:?\d{2})?\s*", re.ASCII).fullmatch
    if isinstance(value, str) and (not value or _TIME_MATCH(value) is not None):
        return None
    return _got("an RFC 3339 timestamp", value)


def _number(value: Any, rec: Any, vocab: Vocab) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < float("inf"):
        return None
    return _got("a finite number", value)


def _boolean(value: Any, rec: Any, vocab: Vocab) -> str | None:
    return None if isinstance(value, bool) else _got("true or false", value)


def _object(value: Any, rec: Any, vocab: Vocab) -> str | None:
    return None if isinstance(value, dict) else _got("an object", value)


def _list_of(value: Any, items: str, item: str, ok: Callable[[Any], bool]) -> str | None:
    if not isinstance(value, list):
        return _got(f"a list of {items}", value)
    for i, element in enumerate(value):
        if not ok(element):
            return f"[{i}] must be {item}, got {shown(element)}"
    return None


def _labels(value: Any, rec: Any, vocab: Vocab) -> str | None:
    return _list_of(value, "strings", "a non-empty string", lambda x: isinstance(x, str) and bool(x.strip()))


def _strings(value: Any, rec: Any, vocab: Vocab) -> str | None:
    return _list_of(value, "strings", "a string", lambda x: isinstance(x, str))


def _objects(value: Any, rec: Any, vocab: Vocab) -> str | None:
    return _list_of(value, "objects", "an object", lambda x: isinstance(x, dict))


def _each(check_one: Callable[[dict[str, Any], str], str | None]) -> Callable[[Any, Any, Vocab], str | None]:
    """A check for a list of objects belonging to the record (its dependencies, its comments)."""
    def check(value: Any, rec: Any, vocab: Vocab) -> str | None:
        bad = _objects(value, rec, vocab)
        for i, item in enumerate(value if bad is None else ()):
            bad = check_one(item, rec["id"])
            if bad is not None:
                return f"[{i}]{bad}"
        return bad
    return check


def _owned(item: dict[str, Any], issue_id: str, strings: tuple[str, ...]) -> str | None:
    owner = item.get("issue_id")
    if owner not in (None, "", issue_id):
        return f".issue_id must be the issue's own id {shown(issue_id)}, got {shown(owner)}"
    for key in strings:
        if item.get(key) is not None and not isinstance(item[key], str):
            return f".{key} {_got('a string', item[key])}"
    if item.get("created_at") is not None and (bad := _time(item["created_at"])) is not None:
        return f".created_at {bad}"
    return None


def _dependency(dep: dict[str, Any], issue_id: str) -> str | None:
    target = dep.get("depends_on_id")
    if isinstance(target, str) and target.startswith("external:"):
        if not target.isprintable() or any(c.isspace() for c in target):
            return f".depends_on_id {_got('an external reference without whitespace', target)}"
    elif (bad := id_problem(target)) is not None:
        return f".depends_on_id {bad}"
    dep_type = dep.get("type")
    if dep_type is not None and (not isinstance(dep_type, str) or len(dep_type) > MAX_DEP_TYPE):
        return f".type {_got(f'a string of at most {MAX_DEP_TYPE} characters', dep_type)}"
    if (bad := _owned(dep, issue_id, ("created_by", "metadata", "thread_id"))) is not None:
        return bad
    if target == issue_id:
        return f" makes {issue_id} depend on itself"
    if dep_type == DEP_PARENT_CHILD and isinstance(target, str) and target.startswith(issue_id + "."):
        return f" makes {issue_id} a child of its own descendant {target}"
    return None


def _comment(comment: dict[str, Any], issue_id: str) -> str | None:
    cid = comment.get("id")
    if cid is not None and not _is_int(cid):
        return f".id {_got('a non-negative integer', cid)}"
    return _owned(comment, issue_id, ("author", "text"))


_KIND_CHECKS = {"s": _string, "S": _string, "i": _count, "I": _count, "b": _boolean, "o": _object,
                "l": _objects}
_CHECKS: dict[str, Callable[[Any, Any, Vocab], str | None]] = {
    name: _KIND_CHECKS[kind] for name, kind in FIELDS if kind in _KIND_CHECKS}
_CHECKS.update(
    title=_title, status=_status, issue_type=_issue_type, agent_state=_agent_state, priority=_priority,
    estimated_minutes=_count, external_ref=_string, compacted_at_commit=_string, quality_score=_number,
    labels=_labels, waiters=_strings, dependencies=_each(_dependency), comments=_each(_comment),
    **dict.fromkeys(("created_at", "updated_at", "closed_at", "due_at", "defer_until", "compacted_at",
                     "deleted_at", "last_activity"), _time),
)
del _CHECKS["id"]  # checked first, by id_problem
_PLAIN_STRINGS = frozenset(name for name, check in _CHECKS.items() if check is _string)
