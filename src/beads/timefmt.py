"""Timestamps as the original writes them: RFC 3339 with nanoseconds and local offset.

Timestamps are kept as text end to end, exactly as read, so that a file written by
the original round-trips byte for byte. New timestamps are formatted like Go's
``time.RFC3339Nano`` (trailing fractional zeros trimmed). Comparisons go through
``to_ns``, which understands every form the original and SQLite produce.
"""

from __future__ import annotations

import re
import time

_TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


# The last local second formatted: (epoch seconds, "YYYY-MM-DDTHH:MM:SS", zone). A batch
# formats many timestamps within one second; localtime + strftime is most of the cost.
_last_local: tuple[int, str, str] = (-1, "", "")


def format_ns(ns: int, tz_offset_seconds: int | None = None) -> str:
    """Format epoch nanoseconds as RFC3339Nano in the local (or given) offset."""
    global _last_local
    secs, frac = divmod(ns, 1_000_000_000)
    if tz_offset_seconds is None:
        cached = _last_local
        if cached[0] == secs:
            out, zone = cached[1], cached[2]
        else:
            wall = time.localtime(secs)
            out, zone = time.strftime("%Y-%m-%dT%H:%M:%S", wall), _zone(wall.tm_gmtoff)
            _last_local = (secs, out, zone)
    else:
        out = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs + tz_offset_seconds))
        zone = _zone(tz_offset_seconds)
    if frac:
        return f"{out}.{f'{frac:09d}'.rstrip('0')}{zone}"
    return out + zone


def _zone(offset_seconds: int) -> str:
    if offset_seconds == 0:
        return "Z"
    sign = "+" if offset_seconds > 0 else "-"
    off = abs(offset_seconds) // 60
    return f"{sign}{off // 60:02d}:{off % 60:02d}"


def now() -> str:
    return format_ns(time.time_ns())


def now_utc() -> str:
    return format_ns(time.time_ns(), 0)


_BUMP_NS = 1_000_000  # 1 ms: survives readers that keep only millisecond precision


def after(stamp: str, previous: str | None) -> str:
    """``stamp``, unless it is not later than ``previous`` (a peer whose clock runs ahead of ours
    stamped the version we change): then 1 ms after ``previous``, in UTC. A change is always newer
    than the version it replaces, so newer-wins imports and merges on other clones take it."""
    mine, theirs = to_ns(stamp), to_ns(previous)
    if mine is None or theirs is None or mine > theirs:
        return stamp
    return format_ns(theirs + _BUMP_NS, 0)


def to_ns(text: str | None) -> int | None:
    """Parse any RFC3339 / SQLite datetime text to epoch nanoseconds (None if unparsable)."""
    if not text:
        return None
    m = _TS.match(text.strip())
    if not m:
        return None
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    year, month, day = int(y), int(mo), int(d)
    if not (1 <= month <= 12 and 1 <= day <= 31 and int(hh or 0) < 24 and int(mm or 0) < 60):
        return None
    secs = _days_from_civil(year, month, day) * 86400 + int(hh or 0) * 3600 + int(mm or 0) * 60 + int(ss or 0)
    ns = secs * 1_000_000_000
    if frac:
        ns += int(frac.ljust(9, "0"))
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        ns -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * 1_000_000_000
    elif not tz and not hh:
        pass
    return ns


_UTC_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\Z")


def instant_keys(texts: list[str | None]) -> list[str] | list[int]:
    """Sort keys in time order for timestamps: the texts themselves when they are all UTC
    (``Z``) in one shape and length (then text order is time order, and no text is parsed),
    else each one's nanoseconds (0 for an unparsable one)."""
    if texts and all(texts):
        first = len(texts[0])  # type: ignore[arg-type]
        shape = _UTC_SHAPE.match
        if all(len(t) == first and shape(t) for t in texts):  # type: ignore[arg-type]
            return texts  # type: ignore[return-value]
    return [to_ns(t) or 0 for t in texts]


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 for a proleptic Gregorian date (no datetime import needed)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_user_time(text: str) -> str:
    """A date from a flag (``YYYY-MM-DD``, RFC 3339, ``+6h``, ``tomorrow``, ``next monday``…; see
    ``beads.whenparse``) as RFC 3339 text, or ``InvalidInput``."""
    from beads.whenparse import parse_when

    return parse_when(text)
