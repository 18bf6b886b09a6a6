"""State machines for the operator's entities, as tables of allowed moves.

Each entity kind declares its states and which move where; :func:`move` is the
only way a state changes, so an illegal change is an :class:`InvalidTransition`
naming the entity, never a silent corruption.
"""

from __future__ import annotations

from typing import Protocol

from oss_bss.errors import InvalidTransition


class Stateful(Protocol):
    id: str
    state: str


class Lifecycle:
    """The allowed state moves of one entity kind."""

    def __init__(self, kind: str, moves: dict[str, tuple[str, ...]]):
        self.kind = kind
        self.moves = moves
        self.states = tuple(moves)

    def move(self, entity: Stateful, target: str) -> None:
        if target not in self.moves.get(entity.state, ()):
            raise InvalidTransition(self.kind, entity.id, entity.state, target)
        entity.state = target


# TMF622 ProductOrder states (the subset the flows use so far).
# "held": fallout, waiting for a retry; "cancelled": given up after the retries.
PRODUCT_ORDER = Lifecycle(
    "ProductOrder",
    {
        "acknowledged": ("inProgress", "failed"),
        "inProgress": ("completed", "failed", "held", "cancelled"),
        "held": ("inProgress", "cancelled"),
        "completed": (),
        "failed": (),
        "cancelled": (),
    },
)
# TMF641 ServiceOrder states.
SERVICE_ORDER = Lifecycle(
    "ServiceOrder",
    {
        "acknowledged": ("inProgress", "failed"),
        "inProgress": ("completed", "failed", "held"),
        "held": ("inProgress", "failed"),
        "completed": (),
        "failed": (),
    },
)
# Field work orders (installation visits and, later, repairs).
WORK_ORDER = Lifecycle(
    "WorkOrder",
    {"issued": ("inProgress", "completed", "cancelled"), "inProgress": ("completed",), "completed": (), "cancelled": ()},
)
# TMF638 Service states.
SERVICE = Lifecycle(
    "Service",
    {
        "designed": ("active", "terminated"),
        "active": ("suspended", "terminated"),
        "suspended": ("active", "terminated"),
        "terminated": (),
    },
)
# TMF621 TroubleTicket states (the subset the flows use).
TROUBLE_TICKET = Lifecycle(
    "TroubleTicket",
    {
        "acknowledged": ("inProgress", "resolved"),
        "inProgress": ("resolved",),
        "resolved": ("closed",),
        "closed": (),
    },
)
