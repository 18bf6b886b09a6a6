"""Queueing formulas and a packet-level queue to check them against.

The simulated network turns each link's load in an interval into delay and
loss with the **M/M/1/K** model: Poisson packet arrivals at the offered rate,
exponential transmission times of mean ``packet_bits / capacity``, and room
for ``K`` packets (one in transmission, ``K - 1`` waiting). With
``rho = offered / capacity``:

* loss ``P_K = (1 - rho) rho^K / (1 - rho^(K+1))`` (``1 / (K+1)`` at rho = 1);
* mean packets in the system ``L``, and by Little's law the mean time a
  packet spends at the link ``W = L / (lambda (1 - P_K))``.

It is exact for Poisson traffic of exponential packet sizes and an
approximation for real traffic (burstier traffic queues more). Above
``rho = 1`` the formulas stay finite: the buffer is full, delay tends to
``K`` transmission times and loss to ``1 - 1/rho``.

:func:`simulate_fifo` is the check: a single FIFO queue simulated packet by
packet with Lindley's recursion, vectorised (``W_n = P_n - min(0, min_k P_k)``).
"""

from __future__ import annotations

import numpy as np


def mm1k(rho: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Loss probability and mean number in system of M/M/1/K, for each ``rho``."""
    rho = np.asarray(rho, dtype=np.float64)
    loss = np.empty_like(rho)
    number = np.empty_like(rho)
    one = np.abs(rho - 1.0) < 1e-9
    loss[one], number[one] = 1.0 / (K + 1), K / 2.0
    low = (rho < 1.0) & ~one
    high = (rho > 1.0) & ~one
    for mask, r, mirrored in ((low, rho[low], False), (high, 1.0 / rho[high], True)):
        if not mask.any():
            continue
        # For rho > 1 the chain mirrored (n -> K - n) is the chain at 1/rho:
        # P_K(rho) = P_0(1/rho), L(rho) = K - L(1/rho). Powers of r < 1 never overflow.
        rk1 = r ** (K + 1)
        p0 = (1.0 - r) / (1.0 - rk1)
        pk = p0 * r**K
        n = r / (1.0 - r) - (K + 1) * rk1 / (1.0 - rk1)
        loss[mask] = p0 if mirrored else pk
        number[mask] = K - n if mirrored else n
    return loss, number


def link_delay_and_loss(
    offered_bps: np.ndarray, capacity_bps: np.ndarray, packet_bits: float, K: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Utilisation, mean sojourn time (s) and loss probability of each link under M/M/1/K."""
    capacity = np.asarray(capacity_bps, dtype=np.float64)
    rho = np.asarray(offered_bps, dtype=np.float64) / capacity
    loss, number = mm1k(rho, K)
    mu = capacity / packet_bits  # packets per second
    carried = rho * mu * (1.0 - loss)
    with np.errstate(divide="ignore", invalid="ignore"):
        sojourn = np.where(carried > 0, number / carried, 1.0 / mu)
    return rho, sojourn, loss


def simulate_fifo(arrival_rate: float, service_rate: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sojourn times of ``n`` packets through an M/M/1 FIFO queue (infinite buffer)."""
    interarrival = rng.exponential(1.0 / arrival_rate, n)
    service = rng.exponential(1.0 / service_rate, n)
    # Lindley: wait_n = max(0, wait_{n-1} + service_{n-1} - interarrival_n).
    steps = np.empty(n)
    steps[0] = 0.0
    steps[1:] = service[:-1] - interarrival[1:]
    walk = np.cumsum(steps)
    wait = walk - np.minimum(0.0, np.minimum.accumulate(walk))
    return wait + service


def erlang_b(load: float, servers: int) -> float:
    """Blocking probability of an M/M/C/C loss system (Erlang B), by the stable recursion."""
    b = 1.0
    for c in range(1, servers + 1):
        b = load * b / (c + load * b)
    return b
