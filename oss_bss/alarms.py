"""Fault management: alarms in the TMF642 shape, repeats counted, history kept.

An alarm is about one alarmed object (a link, a node, a shared-risk group)
and one probable cause. While it is active, the same fault again raises no
new alarm: its ``count`` grows and its history says so. It is cleared when
the object recovers; a cleared alarm is kept, with its history, for audit.
Severities and probable causes follow X.733, which TMF642 uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from oss_bss.errors import InvalidTransition

# X.733 probable causes the flows use.
LOSS_OF_SIGNAL = "lossOfSignal"  # a link lost
EQUIPMENT_MALFUNCTION = "equipmentMalfunction"  # a node lost
CABLE_CUT = "cableTamper"  # X.733's nearest to a duct or cable cut: a shared-risk group lost
THRESHOLD_CROSSED = "thresholdCrossed"  # a KPI over its threshold


@dataclass(slots=True)
class Alarm:
    id: str
    alarmed_object: str
    alarmed_object_type: str  # "link", "node", "srlg"
    alarm_type: str  # communicationsAlarm, equipmentAlarm
    perceived_severity: str  # critical, major, minor, warning
    probable_cause: str
    specific_problem: str
    raised_time: float
    planned: bool = False  # raised by planned maintenance
    state: str = "raised"  # raised, cleared
    ack_state: str = "unacknowledged"
    cleared_time: float | None = None
    ack_time: float | None = None
    count: int = 1
    is_root_cause: bool = True  # until a correlation finds its cause
    parent_id: str | None = None  # the root-cause alarm that explains this one
    incident_id: str | None = None
    history: list[tuple[float, str]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state != "cleared"

    def repeat(self, at: float) -> None:
        self.count += 1
        self.history.append((at, "repeated"))

    def acknowledge(self, at: float) -> None:
        if self.ack_state == "acknowledged":
            raise InvalidTransition("Alarm", self.id, self.ack_state, "acknowledged")
        self.ack_state, self.ack_time = "acknowledged", at
        self.history.append((at, "acknowledged"))

    def clear(self, at: float) -> None:
        if not self.active:
            raise InvalidTransition("Alarm", self.id, self.state, "cleared")
        self.state, self.cleared_time = "cleared", at
        self.history.append((at, "cleared"))

    def correlate(self, parent: "Alarm", at: float) -> None:
        """This alarm is a symptom of ``parent``."""
        self.parent_id, self.is_root_cause = parent.id, False
        self.perceived_severity = "major" if self.perceived_severity == "critical" else self.perceived_severity
        self.history.append((at, f"correlated to {parent.id}"))


class AlarmList:
    """Every alarm of the run, and the active one per (object, probable cause)."""

    def __init__(self) -> None:
        self.all: dict[str, Alarm] = {}
        self._active: dict[tuple[str, str], Alarm] = {}

    def active(self, obj: str, cause: str) -> Alarm | None:
        return self._active.get((obj, cause))

    def active_items(self):
        return self._active.items()

    def add(self, alarm: Alarm) -> None:
        self.all[alarm.id] = alarm
        self._active[(alarm.alarmed_object, alarm.probable_cause)] = alarm
        alarm.history.append((alarm.raised_time, "raised"))

    def clear(self, obj: str, cause: str, at: float) -> Alarm | None:
        alarm = self._active.pop((obj, cause), None)
        if alarm is not None:
            alarm.clear(at)
        return alarm

    def __iter__(self):
        return iter(self.all.values())

    def __len__(self) -> int:
        return len(self.all)
