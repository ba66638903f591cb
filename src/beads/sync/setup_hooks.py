"""What ``bd init`` does beyond the database: git merge driver and hooks, first import.

Placeholder until the git layer lands: nothing is registered yet.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from beads.cli.context import Context
    from beads.core.workspace import Workspace


def after_init(ctx: Context, workspace: Workspace) -> dict[str, Any]:
    return {}
