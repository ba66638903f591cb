"""Dates from the command line (``beads.whenparse``): absolute, compact relative and words."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from beads.errors import InvalidInput
from beads.timefmt import to_ns
from beads.whenparse import parse_when

# Wednesday 2026-01-14 09:30:15.5 UTC
NOW = to_ns("2026-01-14T09:30:15.5Z") or 0


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("text", "expected"), [
    ("+6h", "2026-01-14T15:30:15Z"),
    ("-1d", "2026-01-13T09:30:15Z"),
    ("1d", "2026-01-15T09:30:15Z"),
    ("+2w", "2026-01-28T09:30:15Z"),
    ("+1m", "2026-02-14T09:30:15Z"),
    ("+1y", "2027-01-14T09:30:15Z"),
    ("now", "2026-01-14T09:30:15Z"),
    ("today", "2026-01-14T09:30:15Z"),
    ("tomorrow", "2026-01-15T09:30:15Z"),
    ("Yesterday", "2026-01-13T09:30:15Z"),
    ("next monday", "2026-01-19T09:30:15Z"),
    ("monday", "2026-01-19T09:30:15Z"),
    ("wednesday", "2026-01-21T09:30:15Z"),  # never today: the next one
    ("next friday", "2026-01-16T09:30:15Z"),
    ("next week", "2026-01-21T09:30:15Z"),
    ("next month", "2026-02-14T09:30:15Z"),
    ("in 3 days", "2026-01-17T09:30:15Z"),
    ("in 1 hour", "2026-01-14T10:30:15Z"),
    ("2 weeks ago", "2025-12-31T09:30:15Z"),
    ("2026-03-01", "2026-03-01T00:00:00Z"),
    ("2024-02-29", "2024-02-29T00:00:00Z"),
    ("2026-03-01T12:00:00+02:00", "2026-03-01T10:00:00Z"),
    ("2026-03-01T12:00:00Z", "2026-03-01T12:00:00Z"),
    ("2026-03-01 12:34:56", "2026-03-01T12:34:56Z"),
    ("2026-03-01T12:34:56", "2026-03-01T12:34:56Z"),
])
def test_accepted_forms(text: str, expected: str) -> None:
    assert parse_when(text, NOW) == expected


def test_a_month_end_is_clamped() -> None:
    jan31 = to_ns("2026-01-31T08:00:00Z") or 0
    assert parse_when("+1m", jan31) == "2026-02-28T08:00:00Z"


@pytest.mark.parametrize("text", ["2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-04-31",
                                  "2026-02-30T10:00:00Z", "2026-02-30 10:00:00"])
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="no such day"):
        parse_when(text, NOW)


@pytest.mark.parametrize("text", ["soon", "+5x", "next blursday", "", "2026-1-5", "in two days", "+1.5d"])
def test_anything_else_is_refused_with_examples(text: str) -> None:
    with pytest.raises(InvalidInput, match="examples: \\+6h"):
        parse_when(text, NOW)
