"""Field-level rules of the 3-way JSONL merge (``merge.merge_issue`` when both sides are live).

Split from ``merge`` so each stays readable: here every key of an issue present on both
sides is merged with the rule of its field (``_RULES``; the later update for any field
without one), comparing values by their canonical JSON so that key order never counts.
The rules are documented for users in docs/SYNC.md ("Per field").
"""

from __future__ import annotations

import json

from beads import model, timefmt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Record = dict[str, Any]

NOTES_SEPARATOR = "\n\n---\n\n"
_MISSING: Any = object()


# -- field level -----------------------------------------------------------------------------


def merge_fields(base: Record, left: Record, right: Record) -> Record:
    """Merge every key of a live issue present on both sides.

    Rules compare values with absent known fields read as empty, but a result equal
    to one side's value is taken from that side as it was (present or absent).
    """
    later_left = _ts(left.get("updated_at")) >= _ts(right.get("updated_at"))
    keys = list(dict.fromkeys([*left, *right, *base]))
    out: Record = {}
    for key in keys:
        bv, lv, rv = _get(base, key), _get(left, key), _get(right, key)
        rule = _RULES.get(key, _three_way)
        value = rule(bv, lv, rv, later_left)
        if _same(value, lv):
            value = left.get(key, _MISSING)
        elif _same(value, rv):
            value = right.get(key, _MISSING)
        if value is not _MISSING:
            out[key] = value
    _fix_closed_at(out, left, right)
    return out


def _get(record: Record, key: str) -> Any:
    """A field's value; for known fields an absent key is the field's empty value."""
    if key in record:
        return record[key]
    kind = model.FIELD_KIND.get(key)
    return _MISSING if kind is None else model.default_for(kind)


def _three_way(bv: Any, lv: Any, rv: Any, later_left: bool) -> Any:
    """Take the side that changed; when both changed differently, the later side."""
    if _same(lv, rv) or _same(rv, bv):
        return lv
    if _same(lv, bv):
        return rv
    return lv if later_left else rv


def _changed_both(bv: Any, lv: Any, rv: Any) -> bool:
    return not (_same(lv, rv) or _same(lv, bv) or _same(rv, bv))


def _rule_notes(bv: Any, lv: Any, rv: Any, later_left: bool) -> Any:
    """Both changed: left's paragraphs then right's new ones, minus those either side removed.

    A paragraph is a part between separators, so a side that is itself an earlier join
    does not bring back the text the other side replaced, nor repeat what both hold.
    """
    if not _changed_both(bv, lv, rv):
        return _three_way(bv, lv, rv, later_left)
    if not isinstance(lv, str) or not isinstance(rv, str):
        return lv if later_left else rv
    base = set(_note_parts(bv)) if isinstance(bv, str) else set()
    left, right = _note_parts(lv), _note_parts(rv)
    removed = (base - set(left)) | (base - set(right))
    return NOTES_SEPARATOR.join(dict.fromkeys(p for p in left + right if p not in removed))


def _note_parts(text: str) -> list[str]:
    return [p for p in text.split(NOTES_SEPARATOR) if p]


def _rule_status(bv: Any, lv: Any, rv: Any, later_left: bool) -> Any:
    if not _changed_both(bv, lv, rv):
        return _three_way(bv, lv, rv, later_left)
    for winner in (model.STATUS_TOMBSTONE, model.STATUS_CLOSED):
        if winner in (lv, rv):
            return winner
    return lv if later_left else rv


def _rule_priority(bv: Any, lv: Any, rv: Any, later_left: bool) -> Any:
    if not _changed_both(bv, lv, rv):
        return _three_way(bv, lv, rv, later_left)
    if not isinstance(lv, int) or not isinstance(rv, int):
        return lv if later_left else rv
    if lv == 0 or rv == 0:
        return lv or rv  # an explicitly set priority beats an unset (zero) one
    return min(lv, rv)


def _rule_updated_at(bv: Any, lv: Any, rv: Any, later_left: bool) -> Any:
    if not lv:
        return rv
    if not rv:
        return lv
    return lv if _ts(lv) >= _ts(rv) else rv


def _rule_created_at(bv: Any, lv: Any, rv: Any, later_left: bool) -> Any:
    if not _changed_both(bv, lv, rv):
        return _three_way(bv, lv, rv, later_left)
    return lv if _ts(lv, default=1 << 62) <= _ts(rv, default=1 << 62) else rv


def _rule_labels(bv: Any, lv: Any, rv: Any, later_left: bool) -> Any:
    if not all(isinstance(v, list) for v in (lv, rv)):
        return _three_way(bv, lv, rv, later_left)
    base = set(_hashable(bv if isinstance(bv, list) else []))
    lset, rset = set(_hashable(lv)), set(_hashable(rv))
    removed = (base - lset) | (base - rset)
    keep = (lset | rset) - removed
    values = {_hashable([v])[0]: v for v in [*rv, *lv]}
    return [values[k] for k in sorted(keep, key=str)]


def _dep_key(dep: Any) -> Any:
    if isinstance(dep, dict):
        return ("dep", dep.get("issue_id"), dep.get("depends_on_id"), dep.get("type") or model.DEP_BLOCKS)
    return ("raw", _dumps(dep))


def _comment_key(comment: Any) -> Any:
    if isinstance(comment, dict):
        return ("comment", comment.get("author"), comment.get("text"), _ts(comment.get("created_at")))
    return ("raw", _dumps(comment))


def _set_merge(bv: Any, lv: Any, rv: Any, key: Any, removals: bool) -> list[Any]:
    """Union of both sides by ``key``; with ``removals``, minus what either side removed from base."""
    base_keys = {key(x) for x in bv} if isinstance(bv, list) else set()
    lkeys = {key(x) for x in lv}
    rkeys = {key(x) for x in rv}
    dropped = ((base_keys - lkeys) | (base_keys - rkeys)) if removals else set()
    out: dict[Any, Any] = {}
    for item in [*lv, *rv]:  # left's copy of an item present on both sides wins
        k = key(item)
        if k not in dropped and k not in out:
            out[k] = item
    items = list(out.values())
    items.sort(key=lambda x: _ts(x.get("created_at"), default=0) if isinstance(x, dict) else 0)
    return items


def _rule_dependencies(bv: Any, lv: Any, rv: Any, later_left: bool) -> Any:
    if not all(isinstance(v, list) for v in (lv, rv)):
        return _three_way(bv, lv, rv, later_left)
    return _set_merge(bv, lv, rv, _dep_key, removals=True)


def _rule_comments(bv: Any, lv: Any, rv: Any, later_left: bool) -> Any:
    if not all(isinstance(v, list) for v in (lv, rv)):
        return _three_way(bv, lv, rv, later_left)
    return _set_merge(bv, lv, rv, _comment_key, removals=False)


_RULES = {
    "title": _three_way,  # both changed: the later update (as every field without its own rule)
    "description": _three_way,
    "notes": _rule_notes,
    "status": _rule_status,
    "priority": _rule_priority,
    "updated_at": _rule_updated_at,
    "created_at": _rule_created_at,
    "labels": _rule_labels,
    "dependencies": _rule_dependencies,
    "comments": _rule_comments,
}


def _fix_closed_at(out: Record, left: Record, right: Record) -> None:
    """closed ⇔ closed_at: the later close time when closed, absent otherwise."""
    if out.get("status") == model.STATUS_CLOSED:
        times = [t for t in (left.get("closed_at"), right.get("closed_at")) if t]
        if times:
            out["closed_at"] = max(times, key=lambda t: _ts(t))
    else:
        out.pop("closed_at", None)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return type(a) is type(b) and _dumps(a) == _dumps(b)
    return type(a) is type(b) and a == b


def _dumps(value: Any) -> str:
    if value is _MISSING:
        return "\0missing"
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _hashable(values: Any) -> list[Any]:
    return [v if isinstance(v, (str, int, float, bool)) or v is None else _dumps(v) for v in values]


def _ts(text: Any, default: int = -1) -> int:
    if not isinstance(text, str):
        return default
    ns = timefmt.to_ns(text)
    return default if ns is None else ns
