"""Issue ID minting and parsing (spec §5, lessons H). Stdlib only.

IDs are ``<prefix>-<base36 hash>``; the hash length adapts to how many top-level
issues exist so that the chance of a collision stays under a bound. Candidates are
checked against every stored row (tombstones included) by the caller, which passes
an ``exists`` callback, so an ID is never reused.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
# how many hash bytes feed an ID of a given length (the original's table)
_BYTES_FOR_LENGTH = {3: 2, 4: 3, 5: 4, 6: 4, 7: 5, 8: 5}

DEFAULT_MIN_LENGTH = 4  # lessons H: the seed design's 4, not the code's 3
DEFAULT_MAX_LENGTH = 8
DEFAULT_MAX_COLLISION_PROB = 0.25
MAX_HIERARCHY_DEPTH = 3


def base36(data: bytes, length: int) -> str:
    n = int.from_bytes(data, "big")
    digits = []
    while n:
        n, r = divmod(n, 36)
        digits.append(ALPHABET[r])
    text = "".join(reversed(digits)) or "0"
    if len(text) < length:
        return text.rjust(length, "0")
    return text[-length:]


def hash_candidate(prefix: str, title: str, description: str, creator: str, created_ns: int,
                   nonce: int, length: int) -> str:
    import hashlib  # ~3 ms to import: only when minting

    material = f"{title}|{description}|{creator}|{created_ns}|{nonce}".encode()
    digest = hashlib.sha256(material).digest()
    return f"{prefix}-{base36(digest[:_BYTES_FOR_LENGTH.get(length, 5)], length)}"


def collision_probability(n: int, length: int) -> float:
    return 1.0 - math.exp(-(n * n) / (2.0 * 36.0**length))


def adaptive_length(n_top_level: int, min_len: int = DEFAULT_MIN_LENGTH, max_len: int = DEFAULT_MAX_LENGTH,
                    max_prob: float = DEFAULT_MAX_COLLISION_PROB) -> int:
    for length in range(min_len, max_len + 1):
        if collision_probability(n_top_level, length) <= max_prob:
            return length
    return max_len


def mint(prefix: str, title: str, description: str, creator: str, created_ns: int, base_len: int,
         exists: Callable[[str], bool], max_len: int = DEFAULT_MAX_LENGTH) -> str:
    """First candidate over lengths base..max and nonces 0..9 that ``exists`` rejects not."""
    from beads.errors import Conflict

    for length in range(base_len, max(base_len, max_len) + 1):
        for nonce in range(10):
            candidate = hash_candidate(prefix, title, description, creator, created_ns, nonce, length)
            if not exists(candidate):
                return candidate
    raise Conflict(f"failed to generate unique ID after trying lengths {base_len}-{max_len} with 10 nonces each")


def is_hierarchical(issue_id: str) -> bool:
    """True for ``x-abc.1``: the part after the last dot is all digits."""
    head, dot, tail = issue_id.rpartition(".")
    return bool(dot and head and tail.isdigit())


def parent_of(issue_id: str) -> str | None:
    if not is_hierarchical(issue_id):
        return None
    return issue_id.rpartition(".")[0]


def hierarchy_depth(issue_id: str) -> int:
    depth = 0
    current: str | None = issue_id
    while current and is_hierarchical(current):
        depth += 1
        current = parent_of(current)
    return depth


def _hash_like(suffix: str) -> bool:
    base = suffix.split(".", 1)[0]
    if not base:
        return False
    return base.isdigit() or len(base) == 3 or any(c.isdigit() for c in base)


def extract_prefix(issue_id: str) -> str:
    """The prefix of an ID: split at the last '-' when the rest looks like a hash, else the first."""
    if "-" not in issue_id:
        return ""
    head, _, tail = issue_id.rpartition("-")
    if _hash_like(tail):
        return head
    return issue_id.split("-", 1)[0]


def hash_part(issue_id: str) -> str:
    prefix = extract_prefix(issue_id)
    return issue_id[len(prefix) + 1:] if prefix else issue_id


def child_numbers(parent: str, ids: Iterable[str]) -> int:
    """The largest child number of ``parent`` among ``ids`` (``parent.N`` and deeper ``parent.N.x``), or 0."""
    start = parent + "."
    best = 0
    for issue_id in ids:
        if issue_id.startswith(start):
            first = issue_id[len(start):].split(".", 1)[0]
            if first.isdigit():
                best = max(best, int(first))
    return best


def collision_id(issue_id: str, seed: str, taken: Callable[[str], bool], *, at_least: int = 0) -> str:
    """A new ID for an issue that lost ``issue_id`` to a different issue (a collision between clones).

    A child ``P.N`` gets the next child number of ``P`` not ``taken`` (at least ``at_least``). A hash
    ID gets base36 characters of SHA-256(``seed``) appended, as few as make it free: deterministic,
    so every clone resolving the same collision picks the same ID.
    """
    parent = parent_of(issue_id)
    if parent is not None:
        n = max(at_least, 1)
        while taken(f"{parent}.{n}"):
            n += 1
        return f"{parent}.{n}"
    import hashlib

    digest = base36(hashlib.sha256(seed.encode()).digest(), 16)
    for k in range(1, len(digest) + 1):
        candidate = issue_id + digest[:k]
        if not taken(candidate):
            return candidate
    n = 1
    while taken(f"{issue_id}{digest}{n}"):
        n += 1
    return f"{issue_id}{digest}{n}"
