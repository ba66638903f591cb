"""Dates people type on the command line: absolute, compact relative, and a few words.

Accepted (as the original's ``timeparsing.ParseRelativeTime``, v0.47):

* compact offsets ``[+-]N<unit>`` with unit ``h`` hours, ``d`` days, ``w`` weeks, ``m`` months,
  ``y`` years (``+6h``, ``-1d``, ``+2w``; ``m`` is months, as in the original);
* ``YYYY-MM-DD`` (local midnight), RFC 3339, ``YYYY-MM-DDTHH:MM:SS`` and ``YYYY-MM-DD HH:MM:SS``
  (local time); impossible dates (``2026-02-30``, ``2026-13-01``) are refused;
* words: ``now``, ``today``, ``tomorrow``, ``yesterday``, ``<weekday>`` / ``next <weekday>``
  (the next such day, never today), ``next week|month|year``, ``in N hours|days|weeks|months``,
  ``N days ago`` (and the other units). Words keep the current time of day, as the original's
  natural-language parser does.

Stdlib only; the result is RFC 3339 text in the local offset.
"""

from __future__ import annotations

import re
import time

from beads.errors import InvalidInput

_COMPACT = re.compile(r"^([+-]?)(\d{1,6})([hdwmy])$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_LOCAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})$")
_IN = re.compile(r"^in (\d{1,6}) (hour|day|week|month|year)s?$")
_AGO = re.compile(r"^(\d{1,6}) (hour|day|week|month|year)s? ago$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UNIT = {"hour": "h", "day": "d", "week": "w", "month": "m", "year": "y"}
EXAMPLES = "examples: +6h, +1d, +2w, tomorrow, next monday, 2025-01-15, 2025-01-15T10:00:00Z"


def parse_when(text: str, now_ns: int | None = None) -> str:
    """RFC 3339 text for ``text``, or ``InvalidInput`` naming the accepted forms."""
    from beads.timefmt import format_ns, to_ns

    now = time.time_ns() if now_ns is None else now_ns
    raw = text.strip()
    low = raw.lower()
    ns = _relative(low, now)
    if ns is not None:
        ns -= ns % 1_000_000_000  # whole seconds, as the original formats them
    if ns is None:
        m = _DATE.match(raw)
        if m:
            _check_date(raw, *m.groups())
            y, mo, d = (int(g) for g in m.groups())
            ns = _local(y, mo, d, 0, 0, 0)
    if ns is None:
        m = _LOCAL.match(raw)
        if m:
            _check_date(raw, *m.groups()[:3])
            ns = _local(*(int(g) for g in m.groups()))
    if ns is None and "T" in raw.upper():
        m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", raw)
        if m:
            _check_date(raw, *m.groups())
        ns = to_ns(raw)
    if ns is None:
        raise InvalidInput(f"cannot parse time {raw!r} ({EXAMPLES})")
    return format_ns(ns)


def _check_date(raw: str, y: str, mo: str, d: str) -> None:
    year, month, day = int(y), int(mo), int(d)
    if not 1 <= month <= 12 or not 1 <= day <= _month_days(year, month):
        raise InvalidInput(f"invalid date {raw!r}: no such day")


def _month_days(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _local(y: int, mo: int, d: int, hh: int, mi: int, ss: int) -> int:
    if not (hh < 24 and mi < 60 and ss < 61):
        raise InvalidInput(f"invalid time {hh:02d}:{mi:02d}:{ss:02d}")
    return int(time.mktime((y, mo, d, hh, mi, ss, 0, 0, -1))) * 1_000_000_000


def shift(now_ns: int, amount: int, unit: str) -> int:
    """``now`` moved by ``amount`` units: hours exactly; days, weeks, months and years on the
    local calendar (same wall-clock time; a month end is clamped: Jan 31 + 1m = Feb 28/29)."""
    if unit == "h":
        return now_ns + amount * 3_600_000_000_000
    secs, frac = divmod(now_ns, 1_000_000_000)
    t = time.localtime(secs)
    y, mo, d = t.tm_year, t.tm_mon, t.tm_mday
    if unit in ("d", "w"):
        days = amount * (7 if unit == "w" else 1)
        noon = time.mktime((y, mo, d, 12, 0, 0, 0, 0, -1)) + days * 86400
        moved = time.localtime(noon)
        y, mo, d = moved.tm_year, moved.tm_mon, moved.tm_mday
    else:
        months = amount * (12 if unit == "y" else 1)
        index = y * 12 + (mo - 1) + months
        y, mo = divmod(index, 12)
        mo += 1
        d = min(d, _month_days(y, mo))
    return int(time.mktime((y, mo, d, t.tm_hour, t.tm_min, t.tm_sec, 0, 0, -1))) * 1_000_000_000 + frac


def _relative(low: str, now: int) -> int | None:
    m = _COMPACT.match(low)
    if m:
        amount = int(m.group(2)) * (-1 if m.group(1) == "-" else 1)
        return shift(now, amount, m.group(3))
    fixed = {"now": 0, "today": 0, "tomorrow": 1, "yesterday": -1}
    if low in fixed:
        return shift(now, fixed[low], "d")
    m = _IN.match(low)
    if m:
        return shift(now, int(m.group(1)), _UNIT[m.group(2)])
    m = _AGO.match(low)
    if m:
        return shift(now, -int(m.group(1)), _UNIT[m.group(2)])
    words = low.split()
    if len(words) == 2 and words[0] == "next" and words[1] in ("week", "month", "year"):
        return shift(now, 1, {"week": "w", "month": "m", "year": "y"}[words[1]])
    day = words[-1] if words and (len(words) == 1 or (len(words) == 2 and words[0] == "next")) else ""
    if day in WEEKDAYS:
        today = time.localtime(now // 1_000_000_000).tm_wday
        ahead = (WEEKDAYS.index(day) - today) % 7 or 7
        return shift(now, ahead, "d")
    return None
