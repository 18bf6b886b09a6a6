"""Whole runs with the fidelity models on: real topologies, faults, sessions, streams."""

import json

import numpy as np
import pytest

from oss_bss.adapters.usage_files import load as load_usage
from sim import runner
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

pytestmark = pytest.mark.integration

TOPOLOGIES = ["Abilene", "AttMpls", "Geant2012", "Cogentco"]


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_every_real_topology_loads_and_runs(name, write_scenario, tmp_path):
    path = write_scenario({
        "topology": {"file": str(SCENARIOS / "topologies" / f"{name}.graphml")},
        "population.customers": 80, "duration_days": 3, "ordering.arrivals_per_day": 400,
        "faults": {"links": {"mtbf": "20d", "mttr": "4h"}},
    })  # fmt: skip
    s = runner.run(load_scenario(path), tmp_path / "run").summary
    assert s["orders"]["completed"] > 0 and s["usage"]["records"] > 0
    assert s["topology"]["name"] == name
    assert set(s["availability"]["links"]) and 0 < s["availability"]["network"] <= 1


def events(folder, kind=None):
    rows = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    return [r for r in rows if kind is None or r["type"] == kind]


def test_the_cogent_scenario_reports_availability_blocking_and_performance(tmp_path):
    loaded = load_scenario(SCENARIOS / "cogent-backbone.yaml")
    short = loaded.model_copy(update={"spec": loaded.spec.model_copy(update={"duration_days": 14})})
    result = runner.run(short, tmp_path / "run")
    s = result.summary
    assert s["topology"] == {"name": "Cogentco", "nodes": 197, "links": 245}
    assert 0.9 < s["availability"]["network"] < 1 and 0.9 < s["availability"]["services"] < 1
    trunk = s["blocking"]["per_class"]["voice-trunk"]
    assert trunk["offered"] > 10_000 and 0 < trunk["probability"] < 1
    assert sum(c["voice-trunk"]["blocked"] for c in s["blocking"]["per_link"].values()) == trunk["blocked"]
    assert s["performance"]["links"]["utilisation"]["max"] > 0
    assert s["performance"]["services"]["latency_ms"]["p95"] >= s["performance"]["services"]["latency_ms"]["mean"] * 0.5
    # The timeline's fibre cut on 12 June 14:30 for 6 hours, and protection at work.
    cut = [e for e in events(result.folder, "LinkDown") if e["link_id"] == "Washington--Paris"]
    assert any(e["time"] == "2026-06-12T14:30:00Z" for e in cut)
    assert events(result.folder, "ServiceRerouted")
    maintenance = [e for e in events(result.folder, "NodeDown") if e["planned"]]
    assert [e["time"] for e in maintenance][:2] == ["2026-06-03T02:00:00Z", "2026-06-10T02:00:00Z"]
    kpi = np.load(result.folder / "kpi" / "links.npz")
    assert kpi["utilisation"].shape == (14 * 24, 245)
    # Assurance: every node failure is one root cause explaining its links' alarms.
    assert s["alarms"]["raised"] > s["alarms"]["root_causes"] >= s["incidents"]["count"] > 0
    import sqlite3

    with sqlite3.connect(result.folder / "run.db") as con:
        nodes = con.execute("select id from alarm where alarmed_object_type = 'node'").fetchall()
        assert nodes
        for (node_alarm,) in nodes:
            children = con.execute("select count(*) from alarm where parent_id = ?", (node_alarm,)).fetchone()[0]
            assert children >= 1
        rows = con.execute("select count(*) from alarm").fetchone()[0]
        assert rows == s["alarms"]["raised"]


def test_a_fibre_cut_stops_usage_of_the_services_across_it_until_repair(write_scenario, tmp_path):
    path = write_scenario({
        "population.customers": 200, "duration_days": 4, "ordering.arrivals_per_day": 2000,
        "ordering.install_hours": {"min": 1, "mode": 2, "max": 4},
        "timeline": [{"at": "2d", "fail_link": "Chicago--Indianapolis", "for": "10h"}],
    })  # fmt: skip
    result = runner.run(load_scenario(path), tmp_path / "run")
    (down,) = events(result.folder, "LinkDown")
    (up,) = events(result.folder, "LinkUp")
    assert (down["at"], up["at"]) == (2 * 86400, 2 * 86400 + 36000) and down["service_ids"]
    import sqlite3

    with sqlite3.connect(result.folder / "run.db") as con:
        keys = [k for (k,) in con.execute(
            f"select key from service where id in ({','.join('?' * len(down['service_ids']))})", down["service_ids"])]
    usage = load_usage(result.folder / "usage")
    hit = np.isin(usage["service_key"], keys)
    during = hit & (usage["start"] >= down["at"]) & (usage["end"] <= up["at"])
    assert not during.any()  # nothing carried, nothing billed, while the path was cut
    assert (hit & (usage["start"] >= up["at"])).any()  # and usage comes back after the repair
    changes = events(result.folder, "ServiceStateChanged")
    assert {c["service_id"] for c in changes if c["operational_state"] == "down"} == set(down["service_ids"])


def test_adding_a_model_does_not_change_the_draws_of_another(write_scenario, tmp_path):
    base = {"population.customers": 150, "duration_days": 5, "ordering.arrivals_per_day": 1000}
    plain = runner.run(load_scenario(write_scenario(base, name="a.yaml")), tmp_path / "a").summary
    more = {**base, "capacity": {"classes": [{"name": "calls", "from": "Denver", "to": "Seattle",
                                             "arrivals_per_hour": 30, "holding": "5m", "bandwidth_mbps": 1}]}}
    with_calls = runner.run(load_scenario(write_scenario(more, name="b.yaml")), tmp_path / "b").summary
    assert with_calls["blocking"]["per_class"]["calls"]["offered"] > 1000
    assert with_calls["usage"] == plain["usage"]  # same customers, same traffic, to the byte
    assert with_calls["revenue"] == plain["revenue"]


def test_runs_with_faults_and_sessions_are_reproducible(write_scenario, tmp_path):
    changes = {"population.customers": 100, "duration_days": 6, "ordering.arrivals_per_day": 500,
               "faults": {"links": {"mtbf": "3d", "mttr": "5h", "distribution": "weibull", "shape": 1.5},
                          "nodes": {"mtbf": "10d", "mttr": "2h"}}}  # fmt: skip
    path = write_scenario(changes)
    a = runner.run(load_scenario(path), tmp_path / "a")
    b = runner.run(load_scenario(path), tmp_path / "b")
    assert (a.folder / "events.jsonl").read_bytes() == (b.folder / "events.jsonl").read_bytes()
    assert (a.folder / "kpi" / "links.npz").read_bytes() == (b.folder / "kpi" / "links.npz").read_bytes()
    assert events(a.folder, "LinkDown")


def test_replications_report_a_confidence_interval_per_figure(cli, write_scenario, tmp_path):
    path = write_scenario({"population.customers": 40, "duration_days": 2, "ordering.arrivals_per_day": 400})
    result = cli(path, "--replications", "3", "--out", tmp_path / "reps")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "reps" / "summary.json").read_text())
    reps = summary["replications"]
    assert reps["seeds"] == [42, 43, 44] and reps["count"] == 3
    assert sorted(p.name for p in (tmp_path / "reps").iterdir()) == ["seed-42", "seed-43", "seed-44", "summary.json"]
    volume = reps["metrics"]["usage.volume_bytes"]
    assert len(volume["values"]) == 3 and volume["ci95"][0] <= volume["mean"] <= volume["ci95"][1]
    per_seed = [json.loads((tmp_path / "reps" / f"seed-{s}" / "summary.json").read_text()) for s in (42, 43, 44)]
    assert volume["values"] == [float(s["usage"]["volume_bytes"]) for s in per_seed]
    assert "revenue.invoiced" in reps["metrics"]
