"""Flag-value helpers shared by the command modules: lists, files and numbers given on the command line.

Each turns a malformed value into one clear ``InvalidInput`` (or argparse usage error)
instead of a Python exception: files must be regular UTF-8 text files (a FIFO or a
directory is refused before anything blocks on it), numbers must be ASCII digits that
fit the database's 64-bit integers (Python's ``int()`` would accept ``"٣"`` and ``"1_000"``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
MAX_DAYS = 100_000  # ~270 years: SQLite's date arithmetic gives NULL (silently nothing) past year 0


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

    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        data = read_file_bytes(path)
    return decode_text(data, "stdin" if path == "-" else path)


def read_file_bytes(path: str) -> bytes:
    """The bytes of a regular file a user named (``InvalidInput`` for anything else)."""
    from beads.errors import InvalidInput
    from beads.fileio import open_regular

    try:
        with open_regular(path) as fh:
            return fh.read()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text without NUL bytes, or ``InvalidInput`` naming where it stops being text."""
    from beads.errors import InvalidInput

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                           f"{exc.start}); convert it to UTF-8 first") from None
    nul = text.find("\0")
    if nul != -1:
        raise InvalidInput(f"{name} is not a text file (NUL byte at offset {nul})")
    return text


def int_arg(minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> Callable[[str], int]:
    """An argparse ``type`` for a whole number of ASCII digits within ``[minimum, maximum]``.

    The default range is SQLite's integer; commands check their own lower bounds (with
    the original's messages, e.g. ``--days must be >= 0``).
    """

    def parse(text: str) -> int:
        import argparse

        digits = text.strip()
        body = digits[1:] if digits[:1] in "+-" else digits
        if not body or not body.isascii() or not body.isdigit():
            raise argparse.ArgumentTypeError(f"invalid integer {printable_value(text)!r} (use digits 0-9)")
        value = int(digits) if len(body) <= 20 else (maximum + 1 if digits[0] != "-" else minimum - 1)
        if value > maximum:
            raise argparse.ArgumentTypeError(f"{printable_value(text)} is too large (at most {maximum})")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{printable_value(text)} is too small (at least {minimum})")
        return value

    parse.__name__ = "integer"  # argparse names the type in some messages
    return parse


def printable_value(text: str, limit: int = 80) -> str:
    """A user's value cut to ``limit`` characters for an error message."""
    return text if len(text) <= limit else text[:limit] + "…"


_TRUE = ("true", "True", "TRUE", "t", "T", "1")
_FALSE = ("false", "False", "FALSE", "f", "F", "0")


def bool_flag(parser: Any, flag: str, help_text: str, **kwargs: Any) -> None:
    """A boolean flag that also takes cobra's ``--flag=false`` / ``--flag=true`` forms.

    Tools (beads-ui sends ``bd list --tree=false``) pass the explicit form; argparse's
    ``store_true`` refuses any value. argparse matches a whole token against the option
    strings before splitting at ``=``, so each spelling is registered as its own hidden
    option; a bare ``--flag`` never consumes the next word (``bd show --short bd-1``).
    """
    import argparse

    dest = kwargs.pop("dest", flag.lstrip("-").replace("-", "_"))
    parser.add_argument(flag, *kwargs.pop("aliases", ()), dest=dest, action="store_true", help=help_text, **kwargs)
    parser.add_argument(*(f"{flag}={v}" for v in _TRUE), dest=dest, action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(*(f"{flag}={v}" for v in _FALSE), dest=dest, action="store_false", help=argparse.SUPPRESS)
