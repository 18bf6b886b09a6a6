"""The one exception tree of telcolab.

Every error a user or a caller can meet derives from :class:`TelcolabError`::

    TelcolabError
    ├── NotFound            an id that names nothing (TMF status 404)
    ├── InvalidTransition   a state change the lifecycle forbids (409)
    ├── ValidationError     bad field values, with a field -> message map (400)
    ├── ScenarioError       a scenario file that cannot be run (file, key path, reason)
    └── BackendUnavailable  a network backend or a store that cannot start

The API layer maps them onto the TMF ``Error`` shape (``code``, ``reason``,
``message``, ``status``); ``run_scenario.py`` turns them into one line and
exit code 2.
"""

from __future__ import annotations


class TelcolabError(Exception):
    """Root of every error telcolab raises on purpose.

    ``args`` are the constructor's arguments, so an error can be rebuilt from
    them (SimPy re-raises a process's exception as ``type(exc)(*exc.args)``);
    the text is :meth:`message`.
    """

    status = 500
    code = "error"
    _text: str | None = None

    def _say(self, text: str, *args) -> None:
        self._text = text
        Exception.__init__(self, *args)

    def __str__(self) -> str:
        return self._text if self._text is not None else super().__str__()

    @property
    def reason(self) -> str:
        return type(self).__name__


class NotFound(TelcolabError):
    """An entity looked up by id does not exist."""

    status = 404
    code = "notFound"

    def __init__(self, kind: str, ident: str):
        self._say(f"{kind} {ident!r} not found", kind, ident)
        self.kind = kind
        self.ident = ident


class InvalidTransition(TelcolabError):
    """An entity was asked to move to a state its lifecycle does not allow."""

    status = 409
    code = "invalidTransition"

    def __init__(self, kind: str, ident: str, state: str, target: str):
        self._say(f"{kind} {ident!r} cannot go from {state!r} to {target!r}", kind, ident, state, target)
        self.kind, self.ident, self.state, self.target = kind, ident, state, target


class ValidationError(TelcolabError):
    """Input values are wrong; ``errors`` maps each field to its reason."""

    status = 400
    code = "validationError"

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        self._say("; ".join(f"{k}: {v}" for k, v in self.errors.items()), self.errors)


class ScenarioError(TelcolabError):
    """A scenario file cannot be run: names the file, the key path and why."""

    status = 400
    code = "scenarioError"

    def __init__(self, file: str, reason: str, key: str | None = None):
        self.file, self.key, self.why = file, key, reason
        where = f"{file}: {key}" if key else file
        self._say(f"{where}: {reason}", file, reason, key)


class BackendUnavailable(TelcolabError):
    """A network backend or a store could not start (missing part, bad URL)."""

    status = 503
    code = "backendUnavailable"
