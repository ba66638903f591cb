"""JSON for the start-up path: the C accelerator of the standard library, without ``re``.

``import json`` pulls in ``re`` (its pure-Python fallbacks), a noticeable share of a
`bd` command forwarded to the daemon, which otherwise needs neither. ``loads`` and
``dumps`` here drive ``_json``'s C scanner and encoder directly (compact output,
ASCII only) and fall back to ``json`` where the accelerator is missing.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:
    import _json
except ImportError:  # pragma: no cover - every CPython ships it
    _json = None  # type: ignore[assignment]


def _constant(name: str) -> float:
    return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


class _Context:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_constant)
    memo: dict[str, str] = {}


_scan = _json.make_scanner(_Context()) if _json is not None else None  # type: ignore[arg-type]


def _unsupported(obj: object) -> object:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_encode = (_json.make_encoder(None, _unsupported, _json.encode_basestring_ascii, None, ":", ",", False, False, True)
           if _json is not None else None)

_SPACE = " \t\n\r"


def loads(text: str | bytes) -> Any:
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")  # json.loads(bytes) accepts a UTF-8 BOM too
    if _scan is None:  # pragma: no cover
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_SPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as exc:
        raise ValueError(f"invalid JSON at character {exc.value}") from None
    if text[end:].strip(_SPACE):
        raise ValueError(f"extra data after JSON at character {end}")
    return value


def dumps(obj: Any) -> str:
    if _encode is None:  # pragma: no cover
        import json

        return json.dumps(obj, separators=(",", ":"))
    return "".join(_encode(obj, 0))
