"""A synchronous, deterministic in-process message bus (Cosmic Python style).

Commands say what to do (``SubmitProductOrder``) and have exactly one handler,
whose return value the caller gets back; a failing command raises. Events say
what happened (``ServiceActivated``) and have any number of handlers. Events
emitted while a message is being handled are queued and dispatched in the order
they were emitted, after the handler that emitted them returns, so the order
is the same on every run. Every event is appended to the event log as it is
emitted: the log is the evidence a QA engineer reads and the story a trainer
tells. A failing event handler raises at once: in a simulator, an error
swallowed is a result silently wrong.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oss_bss.errors import TelcolabError


@dataclass(frozen=True, slots=True)
class Message:
    """A message carries ``at``: seconds since the scenario start."""

    at: float


@dataclass(frozen=True, slots=True)
class Command(Message):
    """An imperative request with exactly one handler."""


@dataclass(frozen=True, slots=True)
class Event(Message):
    """A fact in the past tense, handled by zero or more subscribers."""


class UnhandledCommand(TelcolabError):
    """A command was sent that no handler is registered for (a wiring bug)."""


class MessageBus:
    """Routes commands to their handler and events to their subscribers."""

    def __init__(self, log: Callable[[Event], None] | None = None):
        self._commands: dict[type, Callable[[Any], Any]] = {}
        self._subscribers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self._queue: deque[Event] = deque()
        self._dispatching = False
        self._logs: list[Callable[[Event], None]] = [log] if log else []

    def register(self, command_type: type, handler: Callable[[Any], Any]) -> None:
        """Make ``handler`` the one handler of ``command_type``."""
        if command_type in self._commands:
            raise ValueError(f"{command_type.__name__} already has a handler")
        self._commands[command_type] = handler

    def subscribe(self, event_type: type, handler: Callable[[Any], None]) -> None:
        """Call ``handler`` for every event of ``event_type`` (exact type)."""
        self._subscribers[event_type].append(handler)

    def add_log(self, log: Callable[[Event], None]) -> None:
        """Append every emitted event to ``log`` as well."""
        self._logs.append(log)

    def emit(self, event: Event) -> None:
        """Record ``event`` and queue it; it is dispatched once the current message is done."""
        for log in self._logs:
            log(event)
        self._queue.append(event)

    def handle(self, message: Message) -> Any:
        """Handle a command (returning its result) or an event, then drain the queue."""
        if isinstance(message, Event):
            self.emit(message)
            result = None
        else:
            handler = self._commands.get(type(message))
            if handler is None:
                raise UnhandledCommand(f"no handler for {type(message).__name__}")
            result = handler(message)
        if not self._dispatching:
            self._drain()
        return result

    def _drain(self) -> None:
        self._dispatching = True
        try:
            while self._queue:
                event = self._queue.popleft()
                for handler in self._subscribers.get(type(event), ()):
                    handler(event)
        finally:
            self._dispatching = False
            self._queue.clear()
