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


def _simulated(topology, publish, spec):
    return SimulatedNetwork(topology, publish=publish, packet_bytes=spec.topology.packet_bytes,
                            buffer_packets=spec.topology.buffer_packets)  # fmt: skip


def _emulated(topology, publish, spec):
    """Mininet + Open vSwitch + os-ken; imported only when asked for (it needs root and system parts)."""
    from controllers.emulated import EmulatedNetwork, EmulationSettings

    e = spec.emulation
    settings = EmulationSettings(e.seconds_per_hour, e.volume_scale, e.max_switches)
    return EmulatedNetwork(topology, publish, settings=settings)


BACKENDS: dict[str, Callable] = {"sim": _simulated, "mininet": _emulated}


def backend(name: str) -> Callable:
    """The factory ``(topology, publish, scenario) -> network`` of a backend name."""
    try:
        return BACKENDS[name]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise BackendUnavailable(f"unknown network backend {name!r} (available: {known})") from None


def _emulation_parts() -> None:
    from controllers.emulated import require_emulation

    require_emulation()


# What each backend needs of the machine, checked before a run: raises BackendUnavailable naming it.
REQUIREMENTS: dict[str, Callable[[], None]] = {"mininet": _emulation_parts}


def require(name: str) -> None:
    """Check that the backend ``name`` exists and that this machine has what it needs to run."""
    backend(name)
    check = REQUIREMENTS.get(name)
    if check is not None:
        check()
