"""What a run leaves behind, and how it is written.

A run folder holds ``events.jsonl`` (every bus event, in order, one JSON
object a line), ``summary.json``, ``run.db`` (SQLite, unless a database URL was
given) and ``usage/`` (rated usage records, columnar). It is written under a
temporary name beside its final place and renamed when the run succeeds, so
a failed or interrupted run never leaves a half-written folder where a
finished one is expected.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import IO

import orjson

from oss_bss.bus import Event
from oss_bss.errors import BackendUnavailable
from oss_bss.periods import Calendar


def _plain(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


class EventLog:
    """Appends each event as one JSON line and counts them by type."""

    def __init__(self, stream: IO[bytes] | None, calendar: Calendar):
        self.stream = stream
        self.calendar = calendar
        self.count = 0
        self.by_type: Counter[str] = Counter()
        self._fields: dict[type, tuple[str, ...]] = {}

    def fields(self, event_type: type) -> tuple[str, ...]:
        names = self._fields.get(event_type)
        if names is None:
            names = tuple(f.name for f in dataclasses.fields(event_type) if f.name != "at")
            self._fields[event_type] = names
        return names

    def __call__(self, event: Event) -> None:
        self.count += 1
        name = type(event).__name__
        self.by_type[name] += 1
        if self.stream is None:
            return
        record = {"seq": self.count, "type": name, "at": event.at, "time": self.calendar.isoformat(event.at)}
        for field in self.fields(type(event)):
            record[field] = _plain(getattr(event, field))
        self.stream.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))


class RunFolder:
    """A run's output folder, made atomically: work in ``.partial``, rename on success."""

    def __init__(self, final: Path):
        self.final = Path(final)
        if self.final.exists() and (not self.final.is_dir() or any(self.final.iterdir())):
            raise BackendUnavailable(f"output folder {self.final} exists and is not empty")
        self.work = self.final.with_name(f".{self.final.name}.partial-{os.getpid()}")

    def __enter__(self) -> Path:
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            if self.work.exists():
                shutil.rmtree(self.work)
            self.work.mkdir()
        except OSError as exc:
            raise BackendUnavailable(f"cannot create output folder {self.final}: {exc.strerror}") from None
        return self.work

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.work, ignore_errors=True)
            return
        if self.final.exists():
            self.final.rmdir()
        os.replace(self.work, self.final)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
