"""JSON text exactly as Go's encoding/json writes it.

Go escapes ``<``, ``>``, ``&`` and U+2028/U+2029 even in otherwise raw UTF-8 output;
doing the same lets our JSONL lines and ``--json`` output match the original byte
for byte. Stdlib only.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

# Go's encoder escapes these even in raw UTF-8 output. They never occur in JSON syntax
# outside strings, so replacing them in the whole document only touches string contents.
_GO_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
               ("\u2029", "\\u2029"))
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_PRETTY = json.JSONEncoder(ensure_ascii=False, indent=2)


def _go_escape(text: str) -> str:
    # a membership test per character class is ~10x faster than str.translate here
    for raw, escaped in _GO_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text


def compact(obj: Any) -> str:
    """One-line JSON (a JSONL line, without the newline)."""
    return _go_escape(_COMPACT.encode(obj))


def pretty(obj: Any) -> str:
    """Indented JSON as ``json.Encoder.SetIndent("", "  ")`` writes it (no trailing newline)."""
    return _go_escape(_PRETTY.encode(obj))


def write_pretty_array(chunks: Iterable[list[Any]], write: Callable[[str], object]) -> None:
    """``pretty(list) + "\\n"`` written a chunk of elements at a time, byte for byte the same.

    An element of an indented top-level array is its own indented text shifted two spaces:
    JSON strings hold no raw newline, so every newline in it is indentation.
    """
    encode = _PRETTY.encode
    first = True
    for chunk in chunks:
        if not chunk:
            continue
        parts = []
        for item in chunk:
            parts.append(("[\n  " if first else ",\n  ") + _go_escape(encode(item)).replace("\n", "\n  "))
            first = False
        write("".join(parts))
    write("[]\n" if first else "\n]\n")
