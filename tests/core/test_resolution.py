"""Partial ID resolution (spec §5 ★): exact, prefix added, hash-part match, clear errors."""

from __future__ import annotations

import pytest

from beads.core.tracker import Tracker
from beads.errors import Ambiguous, NotFound


@pytest.fixture
def t(tracker: Tracker) -> Tracker:
    for issue_id in ("test-abc1", "test-abc2", "test-xyz9", "test-q7.1"):
        if issue_id == "test-q7.1":
            tracker.create("parent", id="test-q7")
        tracker.create(f"issue {issue_id}", id=issue_id)
    return tracker


def test_an_exact_id_resolves_to_itself(t: Tracker) -> None:
    assert t.resolve_id("test-abc1") == "test-abc1"


def test_a_bare_hash_resolves_by_adding_the_workspace_prefix(t: Tracker) -> None:
    assert t.resolve_id("abc1") == "test-abc1"
    assert t.resolve_id("q7.1") == "test-q7.1"


def test_surrounding_whitespace_is_ignored(t: Tracker) -> None:
    assert t.resolve_id("  xyz9 \n") == "test-xyz9"


def test_a_unique_substring_of_the_hash_part_resolves(t: Tracker) -> None:
    assert t.resolve_id("yz") == "test-xyz9"
    assert t.resolve_id("test-yz") == "test-xyz9"


def test_an_unknown_id_fails_with_no_issue_found_matching(t: Tracker) -> None:
    with pytest.raises(NotFound) as err:
        t.resolve_id("nope")
    assert str(err.value) == 'no issue found matching "nope"'


def test_an_ambiguous_fragment_names_every_match(t: Tracker) -> None:
    with pytest.raises(Ambiguous) as err:
        t.resolve_id("abc")
    assert str(err.value) == 'ambiguous ID "abc" matches 2 issues: [test-abc1 test-abc2]'


def test_an_exact_hash_part_match_beats_longer_substring_matches(tracker: Tracker) -> None:
    tracker.create("short", id="other-ab", force=True)
    tracker.create("long", id="other-abz", force=True)
    assert tracker.resolve_id("ab") == "other-ab"


def test_tombstones_take_no_part_in_fragment_matching(t: Tracker) -> None:
    t.delete(["test-abc2"])
    assert t.resolve_id("abc") == "test-abc1"


def test_get_resolves_partial_ids(t: Tracker) -> None:
    assert t.get("xyz9")["title"] == "issue test-xyz9"
