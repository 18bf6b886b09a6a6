from dataclasses import dataclass

import pytest

from oss_bss.bus import Command, Event, MessageBus, UnhandledCommand
from oss_bss.errors import TelcolabError


@dataclass(frozen=True, slots=True)
class Ping(Command):
    n: int


@dataclass(frozen=True, slots=True)
class Pinged(Event):
    n: int


@dataclass(frozen=True, slots=True)
class Echoed(Event):
    n: int


def test_command_returns_its_handlers_result_and_events_follow_in_emit_order():
    log, seen = [], []
    bus = MessageBus(log.append)

    def ping(cmd):
        bus.emit(Pinged(cmd.at, cmd.n))
        bus.emit(Pinged(cmd.at, cmd.n + 1))
        return "pong"

    bus.register(Ping, ping)
    bus.subscribe(Pinged, lambda ev: (seen.append(ev.n), bus.emit(Echoed(ev.at, ev.n))))
    bus.subscribe(Echoed, lambda ev: seen.append(-ev.n))
    assert bus.handle(Ping(1.0, 10)) == "pong"
    # Breadth first: both Pinged before the Echoed they cause.
    assert seen == [10, 11, -10, -11]
    assert [type(e).__name__ for e in log] == ["Pinged", "Pinged", "Echoed", "Echoed"]


def test_a_command_sent_from_an_event_handler_runs_at_once_and_its_events_queue():
    order = []
    bus = MessageBus()
    bus.register(Ping, lambda cmd: (order.append(f"cmd{cmd.n}"), bus.emit(Echoed(cmd.at, cmd.n)))[0])
    bus.subscribe(Pinged, lambda ev: bus.handle(Ping(ev.at, ev.n)))
    bus.subscribe(Echoed, lambda ev: order.append(f"echo{ev.n}"))
    bus.handle(Pinged(0.0, 1))
    assert order == ["cmd1", "echo1"]


def test_unhandled_command_and_failing_handlers_raise():
    bus = MessageBus()
    with pytest.raises(UnhandledCommand):
        bus.handle(Ping(0.0, 1))
    assert issubclass(UnhandledCommand, TelcolabError)

    def boom(ev):
        raise RuntimeError("handler bug")

    bus.subscribe(Pinged, boom)
    with pytest.raises(RuntimeError):
        bus.handle(Pinged(0.0, 1))
    # The failed dispatch leaves nothing queued behind.
    seen = []
    bus.subscribe(Echoed, seen.append)
    bus.handle(Echoed(0.0, 2))
    assert [e.n for e in seen] == [2]


def test_a_command_has_exactly_one_handler():
    bus = MessageBus()
    bus.register(Ping, lambda c: None)
    with pytest.raises(ValueError):
        bus.register(Ping, lambda c: None)
