"""Finding a customer's candidate events in ``events.jsonl`` without parsing the whole log.

``events.jsonl`` can be gigabytes: it is never parsed whole. Its events are in time order, so a
binary search on their ``"at"`` (:func:`_offset`) finds where the customer registered, and where
each of its incidents began and ended. From registration on, the file is searched block by block
(:func:`_search`) for the text ``"<customer id>"`` (every event about a customer, its orders, bills
and tickets carries its id: :func:`customer_events`); in the windows of the incidents that may have
hit it (:func:`_incident_window`), for its services', the incidents', their alarms' and repair work
orders' ids (the network's events name services, not customers, and only while something fails:
:func:`incident_events`). Only the lines holding one are parsed; :mod:`sim.journey.selection` then
checks each against the fields of the eTOM table. On the development machine the search runs at
about 2 GB/s per id searched.

:func:`sim.report.data.scan_events` searches the whole log for event types; this one searches
byte ranges for ids, keeping each event once by its ``seq``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson

from sim.journey.database import Records
from sim.report import data
from sim.report.data import NotARunFolder

_AT = re.compile(rb'"at":([-+0-9.eE]+)')


def _incident_window(rec: Records, incident) -> tuple[float, float | None]:
    """From the first to the last moment an incident, its alarms or its repair made an event (None: to the end)."""
    times = [incident.opened_at]
    end: list[float | None] = [incident.resolved_at]
    for alarm_id in set(json.loads(incident.alarm_ids)) | {incident.root_alarm_id}:
        alarm = rec.alarms.get(alarm_id)
        if alarm is not None:
            history = [at for at, _ in json.loads(alarm.history)] or [alarm.raised_time]
            times.append(min(history))
            end.append(max(history) if alarm.cleared_time is not None else None)
    for work in rec.repairs.values():
        if work.incident_id == incident.id:
            moments = [x for x in (work.issued_at, work.started_at, work.completed_at) if x is not None]
            times.append(min(moments))
            end.append(max(moments) if work.state in ("completed", "cancelled") else None)
    return min(times), (None if any(x is None for x in end) else max(end))  # type: ignore[type-var]


def _windows(spans: list[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    """Time spans merged where they overlap (None: to the end)."""
    merged: list[tuple[float, float | None]] = []
    for start, end in sorted(spans, key=lambda s: s[0]):
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):
            last = merged[-1]
            merged[-1] = (last[0], None if end is None or last[1] is None else max(last[1], end))
        else:
            merged.append((start, end))
    return merged


def _line_start(stream, pos: int) -> int:
    """The offset of the first line that starts at or after ``pos``."""
    if pos <= 0:
        return 0
    stream.seek(pos - 1)
    stream.readline()
    return stream.tell()


def _at(stream, pos: int) -> float:
    stream.seek(pos)
    found = _AT.search(stream.readline())
    return float(found.group(1)) if found else float("inf")


def _offset(stream, size: int, at: float, after: bool = False) -> int:
    """The offset of the first line whose event is at ``at`` or later (``after``: later than ``at``).

    Events are logged in time order, so this is a binary search over byte offsets: about 30 short reads
    for a log of gigabytes.
    """
    lo, hi = 0, size
    while lo < hi:
        mid = (lo + hi) // 2
        start = _line_start(stream, mid)
        when = _at(stream, start) if start < size else float("inf")
        if (when > at) if after else (when >= at):
            hi = mid
        else:
            lo = mid + 1
    return _line_start(stream, lo)


def _search(path: Path, start: int, stop: int, markers: list[bytes], found: dict[int, dict]) -> None:
    """Parse into ``found`` (by seq) the lines of ``path[start:stop]`` that hold one of ``markers``.

    ``start`` and ``stop`` are line starts. The range is read in blocks of 1 MB cut at a line end;
    each block is searched for each marker and only the lines holding one are parsed.
    """
    rest = b""
    with open(path, "rb") as stream:
        stream.seek(start)
        left = stop - start
        while True:
            block = stream.read(min(data.BLOCK, left)) if left > 0 else b""
            left -= len(block)
            chunk = rest + block
            cut = chunk.rfind(b"\n") + 1 if block else len(chunk)
            rest, chunk = chunk[cut:], chunk[:cut]
            lines: set[tuple[int, int]] = set()
            for marker in markers:
                i = chunk.find(marker)
                while i >= 0:
                    begin = chunk.rfind(b"\n", 0, i) + 1
                    end = chunk.find(b"\n", i)
                    end = len(chunk) if end < 0 else end
                    lines.add((begin, end))
                    i = chunk.find(marker, end)
            for begin, end in lines:
                event = orjson.loads(chunk[begin:end])
                found[event["seq"]] = event
            if not block:
                return


def _events_naming(run: data.Run, spans: list[tuple[float, float | None]], ids: list[str]) -> dict[int, dict]:
    """The events within ``spans`` (from a second before each start to a second after each end; None: to the
    end of the log) whose line holds one of ``ids`` quoted, by seq."""
    path = run.folder / "events.jsonl"
    if not path.is_file():
        raise NotARunFolder(run.folder, "no events.jsonl (the event log, where a journey's steps are)")
    size = path.stat().st_size
    with open(path, "rb") as stream:
        ranges = [(_offset(stream, size, a - 1.0), size if b is None else _offset(stream, size, b + 1.0, True))
                  for a, b in spans]  # fmt: skip
    markers = [f'"{x}"'.encode() for x in ids]
    found: dict[int, dict] = {}
    try:
        for a, b in ranges:
            _search(path, a, b, markers, found)
    except orjson.JSONDecodeError as exc:
        raise NotARunFolder(run.folder, f"events.jsonl holds a line that is not JSON ({exc})") from None
    return found


def customer_events(run: data.Run, customer_id: str, registered_at: float) -> dict[int, dict]:
    """The events that name the customer (orders, services, bills, tickets ...), from its registration on."""
    return _events_naming(run, [(registered_at, None)], [customer_id])


def incident_events(run: data.Run, rec: Records) -> dict[int, dict]:
    """The events in the windows of the candidate incidents that name the customer's services, the incidents,
    their alarms or their repairs (the network's events name services, not customers)."""
    spans = _windows([_incident_window(rec, i) for i in rec.incidents.values()])
    ids = [s.id for s in rec.services] + list(rec.incidents) + list(rec.alarms) + list(rec.repairs)
    return _events_naming(run, spans, ids)
