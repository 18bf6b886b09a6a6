"""scenarios/emulated-quickstart.yaml end to end on the emulated network, and a run interrupted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from sim import runner
from sim.scenario import load_scenario
from tests.conftest import ROOT, SCENARIOS, read_events
from tests.emulation.conftest import leftovers

pytestmark = pytest.mark.emulation


def test_the_emulated_quickstart_activates_bills_and_raises_alarms_on_a_real_link_cut(emulation, tmp_path):
    result = runner.run(load_scenario(SCENARIOS / "emulated-quickstart.yaml", backend="mininet"), tmp_path / "run")
    # The scenario's own expectations (make test deselects their plugin items, which would run it a second time).
    assert result.passed, [f"{o.name}: {o.explain()}" for o in result.verdict.failed]
    s = result.summary
    assert s["backend"] == "mininet" and s["orders"]["completed"] == 12
    assert s["emulation"]["switches"] == 11 and s["emulation"]["flows_installed"] >= 12 * 4
    assert s["usage"]["records"] > 100 and s["usage"]["volume_bytes"] > 10**6  # from the switches' counters
    assert s["invoices"]["lines_by_kind"]["usage"] > 0
    assert s["revenue_assurance"]["leakage"] == "0.00"  # every counted byte rated
    assert s["alarms"]["raised"] >= 1 and s["incidents"]["count"] >= 1 and s["tickets"]["opened"] >= 1
    downs = read_events(result.folder, "LinkDown")
    assert [d["link_id"] for d in downs] == ["Chicago--Indianapolis"]
    assert all(ms < 2000 for ms in s["emulation"]["link_event_ms"])
    assert leftovers() == []


def test_an_interrupted_emulated_run_leaves_nothing_behind(emulation, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "run_scenario.py", "scenarios/emulated-quickstart.yaml", "--backend",
                             "mininet", "--out", str(out), "-q"], cwd=ROOT, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp_path.glob(".run.partial-*/usage")):
        time.sleep(0.2)
    time.sleep(3)  # services active, traffic flowing
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130, proc.stderr.read().decode()
    assert not out.exists() and not list(tmp_path.glob(".run.partial-*"))
    assert leftovers() == []
