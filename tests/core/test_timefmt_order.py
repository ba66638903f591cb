"""``timefmt.instant_keys``: sort keys in time order, without parsing when text order is time order."""

from __future__ import annotations

import random

from beads.timefmt import format_ns, instant_keys, to_ns


def _order(texts: list[str | None]) -> list[int]:
    keys = instant_keys(texts)
    return sorted(range(len(texts)), key=lambda k: (keys[k], k))


def _by_instant(texts: list[str | None]) -> list[int]:
    return sorted(range(len(texts)), key=lambda k: (to_ns(texts[k]) or 0, k))


def test_uniform_utc_texts_are_their_own_keys() -> None:
    texts = ["2026-01-02T03:04:05.000000001Z", "2025-12-31T23:59:59.999999999Z", "2026-01-02T03:04:05.000000000Z"]
    assert instant_keys(texts) is texts  # type: ignore[arg-type]
    assert _order(texts) == _by_instant(texts) == [1, 2, 0]  # type: ignore[arg-type]


def test_any_mix_of_offsets_lengths_and_bad_texts_sorts_by_the_instant() -> None:
    rng = random.Random(5)
    for _ in range(300):
        texts: list[str | None] = []
        for _ in range(rng.randint(1, 8)):
            ns = rng.randrange(0, 2 * 10**18)
            roll = rng.random()
            if roll < 0.6:
                texts.append(format_ns(ns, 0))  # UTC, written as ours
            elif roll < 0.8:
                texts.append(format_ns(ns, rng.choice([-8, 2, 5]) * 3600))  # an offset
            elif roll < 0.9:
                texts.append(format_ns(ns, 0).replace(".", ".0", 1) if rng.random() < 0.5 else "2026-01-01T00:00:00Z")
            else:
                texts.append(rng.choice([None, "", "yesterday"]))
        assert [to_ns(texts[k]) or 0 for k in _order(texts)] == [to_ns(texts[k]) or 0 for k in _by_instant(texts)]
