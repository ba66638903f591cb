"""Filter objects: what a caller asks of ``list``, ``ready``, ``count`` and friends.

Plain classes (no dataclasses: that import costs ~6 ms on every ``bd`` run) that
every front end fills and the storage translates into SQL.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Filter:
    __slots__: tuple[str, ...] = ()
    _defaults: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        for name, default in self._defaults.items():
            value = kwargs.pop(name, default)
            if isinstance(value, list):
                value = list(value)
            object.__setattr__(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unknown filter field(s): {', '.join(sorted(kwargs))}")

    def __repr__(self) -> str:
        set_fields = {k: getattr(self, k) for k, d in self._defaults.items() if getattr(self, k) != d}
        return f"{type(self).__name__}({set_fields})"


class IssueFilter(_Filter):
    """Filters for ``list``, ``search``, ``count`` and ``export``.

    ``statuses`` None means "every status except tombstone" (and except closed when
    ``exclude_closed``); ``["all"]`` is the same without the closed rule.
    """

    _defaults: dict[str, Any] = {
        "statuses": None,
        "exclude_closed": False,
        "include_tombstones": False,
        "priority": None,
        "priority_min": None,
        "priority_max": None,
        "issue_types": None,
        "assignee": None,
        "no_assignee": False,
        "labels": [],
        "labels_any": [],
        "no_labels": False,
        "ids": None,
        "query": None,
        "title_contains": None,
        "description_contains": None,
        "notes_contains": None,
        "created_after": None,
        "created_before": None,
        "updated_after": None,
        "updated_before": None,
        "closed_after": None,
        "closed_before": None,
        "due_after": None,
        "due_before": None,
        "defer_after": None,
        "defer_before": None,
        "deferred": False,
        "overdue": False,
        "empty_description": False,
        "pinned": None,
        "include_templates": False,
        "include_ephemeral": True,
        "parent_id": None,
        "sort": None,
        "reverse": False,
        "limit": 0,
    }
    __slots__ = tuple(_defaults)

    statuses: list[str] | None
    exclude_closed: bool
    include_tombstones: bool
    priority: int | None
    priority_min: int | None
    priority_max: int | None
    issue_types: list[str] | None
    assignee: str | None
    no_assignee: bool
    labels: list[str]
    labels_any: list[str]
    no_labels: bool
    ids: list[str] | None
    query: str | None
    title_contains: str | None
    description_contains: str | None
    notes_contains: str | None
    created_after: str | None
    created_before: str | None
    updated_after: str | None
    updated_before: str | None
    closed_after: str | None
    closed_before: str | None
    due_after: str | None
    due_before: str | None
    defer_after: str | None
    defer_before: str | None
    deferred: bool
    overdue: bool
    empty_description: bool
    pinned: bool | None
    include_templates: bool
    include_ephemeral: bool
    parent_id: str | None
    sort: str | None
    reverse: bool
    limit: int


class ReadyFilter(_Filter):
    """Filters for ``ready`` (spec §4 GetReadyWork)."""

    _defaults: dict[str, Any] = {
        "status": None,
        "priority": None,
        "assignee": None,
        "unassigned": False,
        "labels": [],
        "labels_any": [],
        "issue_type": None,
        "parent_id": None,
        "limit": 10,
        "sort_policy": "hybrid",
        "include_deferred": False,
    }
    __slots__ = tuple(_defaults)

    status: str | None
    priority: int | None
    assignee: str | None
    unassigned: bool
    labels: list[str]
    labels_any: list[str]
    issue_type: str | None
    parent_id: str | None
    limit: int
    sort_policy: str
    include_deferred: bool
