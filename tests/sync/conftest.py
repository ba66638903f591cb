"""Fixtures shared by the JSONL-layer tests: a fresh workspace opened through the library."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonl_helpers import workspace


@pytest.fixture
def t(tmp_path: Path):  # noqa: ANN201
    """A new workspace's Tracker (a file may define its own ``t``, which then wins)."""
    tracker = workspace(tmp_path)
    yield tracker
    tracker.disconnect()
