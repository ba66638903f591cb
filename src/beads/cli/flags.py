"""Flag-value helpers shared by the command modules."""

from __future__ import annotations


def split_values(raw: list[str] | None) -> list[str]:
    """Repeatable, comma-separated flag values (``-l a,b -l c``): trimmed, deduplicated, empties dropped."""
    out: list[str] = []
    for value in raw or []:
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out
