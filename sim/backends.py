"""Network backends by name: the composition root picks one from here.

Each entry builds a network that implements ``oss_bss.ports.NetworkPort``
from the scenario's topology and the callable it publishes network events
with. The emulated network (Mininet + os-ken) registers as ``mininet`` when
it exists; a name not here is a clear error, not a traceback.
"""

from __future__ import annotations

from collections.abc import Callable

from oss_bss.errors import BackendUnavailable
from sim.network import SimulatedNetwork

BACKENDS: dict[str, Callable] = {"sim": SimulatedNetwork}


def backend(name: str) -> Callable:
    try:
        return BACKENDS[name]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise BackendUnavailable(f"unknown network backend {name!r} (available: {known})") from None
