"""Emulation tests: real Open vSwitch switches, Mininet hosts and the os-ken controller.

They skip with the reason when the system parts are missing (not root, no
Open vSwitch, no Mininet or os-ken: `sudo make setup-emulation`), and fail
instead when TELCOLAB_REQUIRE_EMULATION=1 (CI sets it). Each test builds its
own small network and stops it; a check after each test finds none of our
bridges, links or processes left.
"""

from __future__ import annotations

import os
import subprocess

import networkx as nx
import pytest

from oss_bss.errors import BackendUnavailable

REQUIRED = os.environ.get("TELCOLAB_REQUIRE_EMULATION") == "1"


def leftovers() -> list[str]:
    """Our bridges (ts*), hosts' links (t*-eth*) and processes still around."""
    found = []
    bridges = subprocess.run(["ovs-vsctl", "--timeout=5", "list-br"], capture_output=True, text=True).stdout.split()
    found += [f"bridge {b}" for b in bridges if b.startswith("ts")]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()
    found += [f"link {line.split(':')[1].strip()}" for line in links
              if line.split(":")[1].strip().split("@")[0].startswith(("ts", "th", "tg"))]  # fmt: skip
    procs = subprocess.run(["pgrep", "-af", "controllers.launcher|iperf3 -s -p 52"], capture_output=True, text=True)
    found += [f"process {p}" for p in procs.stdout.splitlines() if "pgrep" not in p]
    return found


@pytest.fixture(scope="session")
def emulation():
    from controllers.emulated import require_emulation

    try:
        require_emulation()
    except BackendUnavailable as exc:
        if REQUIRED:
            pytest.fail(f"TELCOLAB_REQUIRE_EMULATION=1 but {exc}")
        pytest.skip(str(exc))
    stale = leftovers()
    assert not stale, f"left from an earlier run: {stale}"


def ring():
    """a - b - gw - c - a, 100 Mb/s links, New York-ish latencies; gw is the gateway."""
    from sim.topology import Topology

    g = nx.MultiGraph()
    for a, b in (("a", "b"), ("b", "gw"), ("gw", "c"), ("c", "a")):
        lid = f"{a}--{b}"
        g.add_edge(a, b, key=lid, id=lid, capacity_bps=100_000_000, latency_s=0.002)
    return Topology("ring", g, ("gw",))


@pytest.fixture
def network(emulation):
    from controllers.emulated import EmulatedNetwork

    published = []
    net = EmulatedNetwork(ring(), published.append)
    net.published = published
    try:
        yield net
    finally:
        net.close()
        assert leftovers() == []
