"""JSON text exactly as Go's encoding/json writes it.

Go escapes ``<``, ``>``, ``&`` and U+2028/U+2029 even in otherwise raw UTF-8 output;
doing the same lets our JSONL lines and ``--json`` output match the original byte
for byte. Stdlib only.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_ESCAPES = str.maketrans({
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
})


def _go_escape(text: str) -> str:
    # The characters escaped here never occur in JSON syntax outside strings,
    # so translating the whole document only touches string contents.
    return text.translate(_ESCAPES)


def compact(obj: Any) -> str:
    """One-line JSON (a JSONL line, without the newline)."""
    return _go_escape(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def pretty(obj: Any) -> str:
    """Indented JSON as ``json.Encoder.SetIndent("", "  ")`` writes it (no trailing newline)."""
    return _go_escape(json.dumps(obj, ensure_ascii=False, indent=2))
