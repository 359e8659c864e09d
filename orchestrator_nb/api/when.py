"""Moments typed by a user (``--since 2026-12-01``, ``--since 7d``) -> naive UTC datetimes, the
store's time format."""
from __future__ import annotations

import datetime as dt
import re

from ..errors import UsageError

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhdw])$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(text: str, option: str = "--since", now: dt.datetime | None = None) -> dt.datetime:
    """``YYYY-MM-DD`` (UTC midnight), an ISO date-time (UTC unless it has an offset), ``today``,
    ``yesterday``, or an age: ``30m``, ``12h``, ``7d``, ``2w``."""
    raw = (text or "").strip().lower()
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if raw == "today":
        return today
    if raw == "yesterday":
        return today - dt.timedelta(days=1)
    m = _RELATIVE.match(raw)
    if m:
        try:
            return now - dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
        except (OverflowError, ValueError):  # before the year 1
            raise UsageError(f"{option} {text[:40]!r}: that age goes back before the year 1; give a "
                             "smaller one (such as 365d) or a date") from None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text[:40]!r}: not a date (use YYYY-MM-DD, an ISO date-time, today, "
                         "or an age such as 7d, 12h, 30m)") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value
