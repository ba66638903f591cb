"""ID minting and parsing (spec §5, lessons H): base36, adaptive length, collisions, hierarchy, prefixes."""

from __future__ import annotations

import hashlib
import math

import pytest

from beads import ids
from beads.errors import Conflict


def expected_length(n: int, min_len: int = 4, max_len: int = 8, p: float = 0.25) -> int:
    """The smallest L in [min, max] with 1 - e^(-n²/(2·36^L)) <= p, computed from the formula."""
    for length in range(min_len, max_len + 1):
        if 1 - math.exp(-(n * n) / (2 * 36**length)) <= p:
            return length
    return max_len


# -- base36 -------------------------------------------------------------------------------


def test_base36_encodes_big_endian_bytes_with_the_0_to_z_alphabet() -> None:
    assert ids.base36(bytes([1, 0]), 3) == "074"  # 256 = 7*36 + 4
    assert ids.base36(bytes([0, 35]), 1) == "z"
    assert ids.base36(bytes([0, 36]), 2) == "10"


def test_base36_left_pads_short_values_with_zeros() -> None:
    assert ids.base36(b"\x00\x00", 4) == "0000"
    assert ids.base36(b"\x00\x01", 5) == "00001"


def test_base36_keeps_the_least_significant_digits_when_too_long() -> None:
    value = 36**5 + 36 * 10 + 11  # "1000ab" in base36
    data = value.to_bytes(4, "big")
    assert ids.base36(data, 6) == "1000ab"
    assert ids.base36(data, 3) == "0ab"


def test_hash_candidate_hashes_title_description_creator_time_and_nonce() -> None:
    digest = hashlib.sha256(b"Fix bug|details|alice|1700000000000000000|3").digest()
    expected = "bd-" + ids.base36(digest[:3], 4)
    assert ids.hash_candidate("bd", "Fix bug", "details", "alice", 1_700_000_000_000_000_000, 3, 4) == expected


def test_hash_candidate_uses_the_originals_byte_count_for_each_length() -> None:
    digest = hashlib.sha256(b"t|d|c|1|0").digest()
    for length, nbytes in ((3, 2), (4, 3), (5, 4), (6, 4), (7, 5), (8, 5)):
        candidate = ids.hash_candidate("p", "t", "d", "c", 1, 0, length)
        assert candidate == "p-" + ids.base36(digest[:nbytes], length)
        assert len(candidate) == len("p-") + length


# -- adaptive length -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 50, 500, 1_000, 3_000, 20_000, 100_000, 10_000_000])
def test_adaptive_length_is_the_smallest_length_under_the_collision_bound(n: int) -> None:
    assert ids.adaptive_length(n) == expected_length(n)


def test_adaptive_length_never_goes_below_four() -> None:
    assert ids.DEFAULT_MIN_LENGTH == 4
    assert ids.adaptive_length(0) == 4
    assert ids.adaptive_length(50) == 4


def test_adaptive_length_grows_with_the_number_of_issues() -> None:
    table = {n: ids.adaptive_length(n) for n in (500, 3_000, 20_000, 100_000)}
    assert table == {500: 4, 3_000: 5, 20_000: 6, 100_000: 7}
    lengths = [ids.adaptive_length(n) for n in range(0, 2_000_000, 997)]
    assert lengths == sorted(lengths)


def test_adaptive_length_is_capped_at_the_maximum() -> None:
    assert ids.adaptive_length(10**12) == 8
    assert ids.adaptive_length(10**6, max_len=6) == 6


def test_adaptive_length_honours_configured_bounds_and_probability() -> None:
    assert ids.adaptive_length(10, min_len=6) == 6
    assert ids.adaptive_length(500, max_prob=0.01) == expected_length(500, p=0.01)
    assert ids.adaptive_length(500, max_prob=0.01) > ids.adaptive_length(500)


# -- minting and collisions ---------------------------------------------------------------------


def test_mint_returns_the_first_candidate_when_nothing_exists() -> None:
    minted = ids.mint("bd", "t", "d", "me", 42, 4, lambda c: False)
    assert minted == ids.hash_candidate("bd", "t", "d", "me", 42, 0, 4)


def test_mint_tries_the_next_nonce_when_a_candidate_exists() -> None:
    taken = {ids.hash_candidate("bd", "t", "d", "me", 42, 0, 4)}
    minted = ids.mint("bd", "t", "d", "me", 42, 4, taken.__contains__)
    assert minted == ids.hash_candidate("bd", "t", "d", "me", 42, 1, 4)


def test_mint_escalates_to_a_longer_id_when_all_ten_nonces_collide() -> None:
    taken = {ids.hash_candidate("bd", "t", "d", "me", 42, nonce, 4) for nonce in range(10)}
    asked: list[str] = []

    def exists(candidate: str) -> bool:
        asked.append(candidate)
        return candidate in taken

    minted = ids.mint("bd", "t", "d", "me", 42, 4, exists)
    assert minted == ids.hash_candidate("bd", "t", "d", "me", 42, 0, 5)
    assert len(asked) == 11
    assert len(minted) == len("bd-") + 5


def test_mint_fails_with_a_clear_error_when_every_length_is_exhausted() -> None:
    with pytest.raises(Conflict, match="failed to generate unique ID after trying lengths 4-8"):
        ids.mint("bd", "t", "d", "me", 42, 4, lambda c: True)


# -- hierarchical IDs ----------------------------------------------------------------------------


@pytest.mark.parametrize(("issue_id", "hierarchical"), [
    ("bd-a3f8.1", True), ("bd-a3f8.1.2", True), ("bd-a3f8", False), ("bd-a3f8.x", False),
    ("my.proj-a3f8", False), ("my.proj-a3f8.4", True), (".1", False), ("bd-a3f8.", False),
])
def test_an_id_is_hierarchical_when_the_part_after_the_last_dot_is_all_digits(issue_id: str,
                                                                               hierarchical: bool) -> None:
    assert ids.is_hierarchical(issue_id) is hierarchical


def test_parent_of_strips_the_last_child_number() -> None:
    assert ids.parent_of("bd-a3f8.1.2") == "bd-a3f8.1"
    assert ids.parent_of("bd-a3f8.1") == "bd-a3f8"
    assert ids.parent_of("bd-a3f8") is None
    assert ids.parent_of("my.proj-a3f8") is None


def test_hierarchy_depth_counts_child_levels() -> None:
    assert ids.hierarchy_depth("bd-a3f8") == 0
    assert ids.hierarchy_depth("bd-a3f8.1") == 1
    assert ids.hierarchy_depth("bd-a3f8.1.2.3") == 3
    assert ids.MAX_HIERARCHY_DEPTH == 3


# -- prefix extraction ---------------------------------------------------------------------------


@pytest.mark.parametrize(("issue_id", "prefix"), [
    ("bd-a3f8", "bd"),
    ("bd-12", "bd"),
    ("bd-a3f8.1", "bd"),
    ("my-proj-a3f", "my-proj"),    # hash-like: contains a digit
    ("my-proj-abc", "my-proj"),    # hash-like: three characters
    ("web-app-abcd", "web"),       # not hash-like: split at the first '-'
    ("my.proj-x9y8", "my.proj"),
    ("noprefix", ""),
])
def test_prefix_extraction_splits_at_the_last_dash_only_before_a_hash_like_suffix(issue_id: str,
                                                                                 prefix: str) -> None:
    assert ids.extract_prefix(issue_id) == prefix


def test_hash_part_is_what_follows_the_prefix() -> None:
    assert ids.hash_part("bd-a3f8") == "a3f8"
    assert ids.hash_part("my-proj-a3f.2") == "a3f.2"
    assert ids.hash_part("noprefix") == "noprefix"
