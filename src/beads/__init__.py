"""bd in Python: a git-backed, dependency-aware issue tracker for AI coding agents.

Library use::

    import beads

    with beads.open() as tracker:            # finds .beads like `bd` does
        epic = tracker.create("Ship v1", issue_type="epic")
        a = tracker.create("Write docs", parent=epic["id"])
        for issue in tracker.ready(limit=5):
            print(issue["id"], issue["title"])

Names are loaded lazily so that ``import beads`` stays cheap for the CLI.
"""

from __future__ import annotations

__version__ = "0.47.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from beads.api import flush, init, open, open_memory
    from beads.core.tracker import Tracker
    from beads.core.workspace import Workspace, discover
    from beads.query import IssueFilter, ReadyFilter

_LAZY = {
    "open": ("beads.api", "open"),
    "open_memory": ("beads.api", "open_memory"),
    "init": ("beads.api", "init"),
    "flush": ("beads.api", "flush"),
    "Tracker": ("beads.core.tracker", "Tracker"),
    "Workspace": ("beads.core.workspace", "Workspace"),
    "discover": ("beads.core.workspace", "discover"),
    "IssueFilter": ("beads.query", "IssueFilter"),
    "ReadyFilter": ("beads.query", "ReadyFilter"),
}

__all__ = [
    "IssueFilter", "ReadyFilter", "Tracker", "Workspace", "__version__", "discover", "flush", "init", "open",
    "open_memory",
]


def __getattr__(name: str) -> object:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'beads' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value
