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
_encode_string = json.encoder.encode_basestring  # the C encoder when available, as the stdlib's


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
    return _go_escape(_indented(obj))


def _indented(obj: Any) -> str:
    """``_PRETTY.encode(obj)``, byte for byte, in ~60 % of the time: the stdlib encodes indented
    JSON in pure Python, one generator step per token; here every string goes through the C
    string encoder and each container is one join. Anything unusual (a non-string key, another
    type, a cycle) takes the stdlib's path, with its result or its error."""
    try:
        return _value(obj, "\n")
    except (TypeError, RecursionError):
        return _PRETTY.encode(obj)


def _value(o: Any, newline: str) -> str:
    kind = type(o)
    if kind is str:  # the common exact types first, by identity
        return _encode_string(o)
    if kind is dict:
        return _dict(o, newline)
    if kind is int:
        return int.__repr__(o)
    # then the stdlib's order of checks (json.encoder._iterencode), so subclasses encode alike
    if isinstance(o, str):
        return _encode_string(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return int.__repr__(o)
    if isinstance(o, float):
        return _float(o)
    if isinstance(o, (list, tuple)):
        if not o:
            return "[]"
        inner = newline + "  "
        return "[" + inner + ("," + inner).join([_value(v, inner) for v in o]) + newline + "]"
    if isinstance(o, dict):
        return _dict(o, newline)
    raise TypeError(f"{type(o).__name__}: the stdlib's rules apply")


# Scalars the stdlib's C encoder writes exactly as ``_value`` does (floats by ``float.__repr__``,
# NaN and the infinities by name, as ``_float``).
_SCALARS = frozenset((str, int, float, bool, type(None)))
_FLAT: dict[str, json.JSONEncoder] = {}  # one encoder per indentation


def _flat(o: dict[Any, Any], inner: str) -> str:
    """A dict of scalars with string keys, by the C encoder in one call: its item separator
    carries the newline and the indentation, so only the braces need placing."""
    enc = _FLAT.get(inner)
    if enc is None:
        enc = _FLAT[inner] = json.JSONEncoder(ensure_ascii=False, separators=("," + inner, ": "))
    return enc.encode(o)[1:-1]


def _dict(o: dict[Any, Any], newline: str) -> str:
    if not o:
        return "{}"
    inner = newline + "  "
    scalars = _SCALARS
    if all(type(v) in scalars for v in o.values()) and all(type(k) is str for k in o):
        return "{" + inner + _flat(o, inner) + newline + "}"
    parts = []
    for key, v in o.items():
        if not isinstance(key, str):
            raise TypeError("a key that is not a string: the stdlib's rules apply")
        parts.append(_encode_string(key) + ": " + (_encode_string(v) if type(v) is str else _value(v, inner)))
    return "{" + inner + ("," + inner).join(parts) + newline + "}"


def _float(o: float) -> str:
    if o != o:
        return "NaN"
    if o == float("inf"):
        return "Infinity"
    if o == -float("inf"):
        return "-Infinity"
    return float.__repr__(o)


def write_pretty_array(chunks: Iterable[list[Any]], write: Callable[[str], object]) -> None:
    """``pretty(list) + "\\n"`` written a chunk of elements at a time, byte for byte the same.

    An element of an indented top-level array is its own indented text shifted two spaces:
    JSON strings hold no raw newline, so every newline in it is indentation.
    """
    encode = _indented
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
