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


def read_file_arg(path: str) -> str:
    """The text of a ``-f FILE`` style argument; ``-`` reads stdin."""
    import sys

    from beads.errors import InvalidInput

    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
