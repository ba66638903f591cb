"""Auto-import before and auto-flush after a command (spec §8.2, §8.3).

Placeholder until the JSONL layer lands: both hooks do nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from beads.core.tracker import Tracker


def before_command(tracker: Tracker) -> None:
    return None


def after_command(tracker: Tracker) -> None:
    return None
