"""Durations and instants as people write them in scenarios.

A duration is a number of hours (``4``, ``0.5``) or a text with units
(``"2d 10h"``, ``"90m"``, ``"45s"``). An instant is a duration after the
scenario start, or a UTC date-time (``2026-04-03 10:00``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Union

from pydantic import BeforeValidator, Field

_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(w|d|h|m|s)\s*", re.IGNORECASE)
_SECONDS = {"w": 604_800.0, "d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}


def parse_duration(value) -> float:
    """Seconds in ``value``; ValueError with the accepted forms otherwise."""
    if isinstance(value, bool):
        raise ValueError("a duration is hours (a number) or a text like '2d 10h'")
    if isinstance(value, (int, float)):
        seconds = float(value) * 3_600.0
    elif isinstance(value, str):
        text = value.strip()
        pos, seconds = 0, 0.0
        while pos < len(text):
            m = _PART.match(text, pos)
            if not m:
                raise ValueError(f"cannot read {value!r} as a duration (use e.g. '2d 10h', '90m', or hours)")
            seconds += float(m.group(1)) * _SECONDS[m.group(2).lower()]
            pos = m.end()
        if not text:
            raise ValueError("empty duration")
    else:
        raise ValueError("a duration is hours (a number) or a text like '2d 10h'")
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        raise ValueError("a duration must be a finite number, not negative")
    return seconds


def parse_instant(value, start: date) -> float:
    """Seconds after the scenario start for an instant (duration or date-time)."""
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        origin = datetime(start.year, start.month, start.day, tzinfo=UTC)
        seconds = (when - origin).total_seconds()
        if seconds < 0:
            raise ValueError(f"{value} is before the scenario start {start}")
        return seconds
    if isinstance(value, date):
        return parse_instant(datetime(value.year, value.month, value.day), start)
    return parse_duration(value)


def read_instant(value):
    """An instant as written: a date or date-time (kept), or a duration after the start (seconds)."""
    if isinstance(value, (datetime, date)):
        return value
    if isinstance(value, str) and value[:4].isdigit() and value[4:5] == "-":
        try:  # "2026-06-03 02:00": YAML takes a timestamp only with seconds
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"cannot read {value!r} as a date-time (use YYYY-MM-DD HH:MM, UTC)") from None
    return parse_duration(value)


def _positive_duration(value) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("Input should be greater than 0")
    return seconds


# What a scenario file may hold where a duration or an instant goes: the JSON Schema of the file
# (scenarios/schema.json) shows these, not the seconds the model keeps.
DURATION_TEXT = r"^\s*(\d+(\.\d+)?\s*[wdhmsWDHMS]\s*)+$"
DATE_TIME_TEXT = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$"
DurationInput = Annotated[
    Union[Annotated[float, Field(ge=0)], Annotated[str, Field(pattern=DURATION_TEXT)]],
    Field(description="hours (a number), or a text with units: '2d 10h', '90m', '45s', '1w'"),
]
InstantInput = Annotated[
    Union[Annotated[float, Field(ge=0)], Annotated[str, Field(pattern=DURATION_TEXT)],
          Annotated[str, Field(pattern=DATE_TIME_TEXT)]],
    Field(description="a duration after the start (hours, or '2d 10h'), or a UTC date-time 'YYYY-MM-DD HH:MM'"),
]  # fmt: skip

# Durations are written as hours or as text ("2d 10h", "90m") and held in seconds.
Duration = Annotated[float, BeforeValidator(parse_duration, json_schema_input_type=DurationInput)]
PositiveDuration = Annotated[float, BeforeValidator(_positive_duration, json_schema_input_type=DurationInput)]
# Instants: a duration after the start, or a UTC date-time (seconds from the start: parse_instant).
Instant = Annotated[Union[datetime, date, float], BeforeValidator(read_instant, json_schema_input_type=InstantInput)]
