"""``jsonfmt.pretty`` writes exactly what the stdlib's indented encoder writes, on any value."""

from __future__ import annotations

import random
from typing import Any

import pytest

from beads.jsonfmt import _PRETTY, _indented


class Text(str):
    pass


class Number(int):
    pass


class Real(float):
    pass


class Mapping(dict):  # type: ignore[type-arg]
    pass


class Sequence(list):  # type: ignore[type-arg]
    pass


STRINGS = ["", "a", "é\u2028<&>\x00\x1f\"\\\n\t", "\ud800", "日本語", Text("sub")]
SCALARS: list[Any] = [0, -1, 10**30, Number(7), 0.0, -0.0, 1.5, 1e300, float("inf"), float("-inf"),
                      float("nan"), Real(2.5), True, False, None]


def value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randint(0, 9 if depth < 4 else 3)
    if kind <= 1:
        return rng.choice(STRINGS + ["x" * rng.randint(0, 30)])
    if kind <= 3:
        return rng.choice(SCALARS)
    if kind <= 5:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == 6:
        return tuple(value(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    if kind == 7:
        return rng.choice([Sequence, Mapping])() if rng.random() < 0.3 else Mapping(k=value(rng, depth + 1))
    return {rng.choice(STRINGS[:5] + [f"k{rng.randint(0, 9)}"]): value(rng, depth + 1)
            for _ in range(rng.randint(0, 5))}


def test_the_fast_indented_encoder_writes_the_stdlibs_bytes_on_random_values() -> None:
    rng = random.Random(11)
    for _ in range(5000):
        obj = value(rng)
        assert _indented(obj) == _PRETTY.encode(obj), obj


def outcome(encode: Any, obj: Any) -> str:
    try:
        return str(encode(obj))
    except TypeError as exc:
        return f"TypeError: {exc}"


@pytest.mark.parametrize("obj", [{1: "int key"}, {None: 1}, {"a": {1.5: 2}}, {"a": object()}, {"s": {1, 2}}])
def test_what_the_fast_path_does_not_handle_gets_the_stdlibs_result_or_error(obj: Any) -> None:
    assert outcome(_indented, obj) == outcome(_PRETTY.encode, obj)


def test_a_cycle_is_refused_as_the_stdlib_refuses_it() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        _indented(loop)
