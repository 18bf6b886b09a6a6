"""Parameter sweeps: every combination x N seeds, the table of means and intervals, on every executor.

One tiny scenario (50 customers, 2 days, the Abilene topology by a path relative to the scenario),
two swept keys with two values each, two seeds: 8 runs of ~0.1 s per executor.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import socket
import statistics
import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from scipy import stats

from oss_bss.errors import BackendUnavailable, ScenarioError, TelcolabError, ValidationError
from sim import sweep as sweeps
from sim.replications import numeric_leaves
from sim.scenario import load_scenario
from sim.sweep import parse_set, sweep
from sim.sweep_plots import KEY_FIGURES
from tests.conftest import tiny_quickstart

pytestmark = pytest.mark.integration

SETS = {"catalog.0.monthly_price": ["12.90", "29.90"], "ordering.arrivals_per_day": ["20", "200"]}
SEEDS = (42, 43)
FOLDERS = ["1-monthly_price-12.90_arrivals_per_day-20", "2-monthly_price-12.90_arrivals_per_day-200",
           "3-monthly_price-29.90_arrivals_per_day-20", "4-monthly_price-29.90_arrivals_per_day-200"]  # fmt: skip


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    """The quickstart, made tiny, with its topology file beside it (a relative path, as in the library)."""
    return tiny_quickstart(tmp_path_factory.mktemp("scenario"), customers=50, days=2)


@pytest.fixture(scope="module")
def runs(scenario, tmp_path_factory) -> dict:
    """The same sweep in this process, on a pool of 2, and on local Dask clusters of 2 processes and 2 threads."""
    from distributed import LocalCluster

    base = tmp_path_factory.mktemp("sweeps")
    done: dict[str, dict] = {}

    def one(name: str, **where) -> None:
        progress = []
        started = time.perf_counter()
        result = sweep(scenario, SETS, 2, base / name, on_done=lambda n, total: progress.append((n, total)), **where)
        done[name] = {"result": result, "seconds": time.perf_counter() - started, "progress": progress}

    one("process", workers=1)
    one("pool", workers=2)
    for processes in (True, False):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=":0") as cluster:
            one("dask-processes" if processes else "dask-threads", scheduler=cluster.scheduler_address)
    print("sweep of 8 runs: " + ", ".join(f"{k} {v['seconds']:.2f} s" for k, v in done.items()))
    return done


def run_summaries(folder: Path, combination: str) -> list[dict]:
    return [json.loads((folder / combination / f"seed-{s}" / "summary.json").read_text()) for s in SEEDS]


def test_the_means_and_intervals_are_those_of_the_runs_summaries(runs):
    result = runs["process"]["result"]
    document = json.loads((result.folder / "sweep.json").read_text())
    assert document["keys"] == list(SETS) and document["seeds"] == list(SEEDS) and document["replications"] == 2
    assert [c["folder"] for c in document["combinations"]] == FOLDERS
    t = stats.t.ppf(0.975, len(SEEDS) - 1)
    checked = 0
    for combination in document["combinations"]:
        leaves = [numeric_leaves(s) for s in run_summaries(result.folder, combination["folder"])]
        common = [k for k in leaves[0] if all(k in x for x in leaves)]
        assert list(combination["metrics"]) == common
        for key, m in combination["metrics"].items():
            values = [x[key] for x in leaves]
            assert m["values"] == values
            mean, half = statistics.fmean(values), t * statistics.stdev(values) / math.sqrt(len(values))
            assert m["mean"] == pytest.approx(mean, rel=1e-12, abs=1e-12)
            assert m["ci95"] == pytest.approx([mean - half, mean + half], rel=1e-9, abs=1e-9)
            checked += 1
    assert checked > 200
    # The swept values took effect: same seeds, same customers, a dearer fibre-100 makes a larger MRR.
    mrr = {c["folder"]: c["metrics"]["revenue.mrr"]["mean"] for c in document["combinations"]}
    assert mrr[FOLDERS[2]] > mrr[FOLDERS[0]] and mrr[FOLDERS[3]] > mrr[FOLDERS[1]]
    orders = {c["folder"]: c["metrics"]["orders.submitted"]["mean"] for c in document["combinations"]}
    assert orders[FOLDERS[1]] > orders[FOLDERS[0]]  # 200 arrivals a day, not 20


def test_the_csv_holds_the_json_table_with_the_values_as_written(runs):
    result = runs["process"]["result"]
    rows = list(csv.DictReader(io.StringIO((result.folder / "sweep.csv").read_text())))
    document = json.loads((result.folder / "sweep.json").read_text())
    expected = [(c["labels"], k, m) for c in document["combinations"] for k, m in c["metrics"].items()]
    assert len(rows) == len(expected)
    for row, (labels, key, m) in zip(rows, expected):
        assert row["catalog.0.monthly_price"] == labels["catalog.0.monthly_price"]
        assert row["metric"] == key and int(row["n"]) == 2
        assert (float(row["mean"]), float(row["ci95_low"]), float(row["ci95_high"])) == (m["mean"], *m["ci95"])
    assert {r["catalog.0.monthly_price"] for r in rows} == {"12.90", "29.90"}  # as typed, not 12.9


def test_every_combination_has_its_runs_each_with_the_overridden_scenario(runs, scenario):
    result = runs["process"]["result"]
    written = sorted(p.name for p in result.folder.iterdir())
    assert written == sorted(FOLDERS + ["sweep.csv", "sweep.html", "sweep.json"])
    for folder, (price, arrivals) in zip(FOLDERS, [("12.90", 20), ("12.90", 200), ("29.90", 20), ("29.90", 200)]):
        for seed in SEEDS:
            run = result.folder / folder / f"seed-{seed}"
            files = {p.name for p in run.iterdir()}
            assert {"summary.json", "events.jsonl", "run.db", "usage", "kpi", "scenario.yaml"} <= files
            as_run = yaml.safe_load((run / "scenario.yaml").read_text())
            assert Decimal(as_run["catalog"][0]["monthly_price"]) == Decimal(price)
            assert as_run["ordering"]["arrivals_per_day"] == arrivals and as_run["seed"] == seed
            # The topology by the path it has here, not the worker's temporary copy: loadable as is.
            assert as_run["topology"]["file"] == str(scenario.parent / "topologies" / "Abilene.graphml")
            again = load_scenario(run / "scenario.yaml")
            assert again.spec.catalog[0].monthly_price == Decimal(price) and again.spec.seed == seed
            assert json.loads((run / "summary.json").read_text())["seed"] == seed
    assert not list(result.folder.parent.glob(".*partial*"))


def test_the_table_is_the_same_whichever_way_the_sweep_ran(runs):
    def table(name):
        folder = runs[name]["result"].folder
        document = json.loads((folder / "sweep.json").read_text())
        executor = document.pop("executor")
        document.pop("wall_seconds")
        html = (folder / "sweep.html").read_text()
        return {
            "csv": (folder / "sweep.csv").read_text(),
            "json": document,
            "plots": re.findall(r"<svg.*?</svg>", html, re.S),
            "scenarios": [(folder / f / f"seed-{s}" / "scenario.yaml").read_text() for f in FOLDERS for s in SEEDS],
        }, executor

    reference, executor = table("process")
    assert executor == {"kind": "process", "workers": 1, "scheduler": None}
    assert len(reference["plots"]) >= 4
    for name in ("pool", "dask-processes", "dask-threads"):
        other, executor = table(name)
        assert executor["kind"] == ("pool" if name == "pool" else "dask")
        for part in reference:
            assert other[part] == reference[part], f"{name}: {part} differs"


def test_progress_counts_every_run(runs):
    for name, done in runs.items():
        assert sorted(done["progress"]) == [(n, 8) for n in range(1, 9)], name


def test_the_page_is_self_contained_and_escapes_what_users_typed(runs, scenario, tmp_path):
    folder = runs["process"]["result"].folder
    html = (folder / "sweep.html").read_text()
    combinations = json.loads((folder / "sweep.json").read_text())["combinations"]
    common = [k for k in KEY_FIGURES if all(k in c["metrics"] for c in combinations)]
    varying = [k for k in common if len({v for c in combinations for v in c["metrics"][k]["values"]}) > 1]
    same = [k for k in common if k not in varying]
    assert "revenue.mrr" in varying and "orders.failed" in same
    # One plot per key figure that varies; those that do not are named once, with their value.
    assert html.count("<svg") == len(varying) and re.findall(r"<figcaption>(.*?)</figcaption>", html) == varying
    assert all(f"<code>{k}</code> = " in html for k in same)
    assert "12.90" in html and "catalog.0.monthly_price" in html
    assert not re.search(r"<(script|link|img)\b", html) and 'src="http' not in html
    for folder in FOLDERS:
        assert f'href="{folder}/seed-42/"' in html
    # A text value: a category axis, and what the user typed is shown, not interpreted.
    result = sweep(scenario, {"catalog.0.name": ["<i>Fibre</i>", "Fibre & more"]}, 1, tmp_path / "names", workers=1)
    page = (result.folder / "sweep.html").read_text()
    assert "<i>Fibre</i>" not in page and "&lt;i&gt;Fibre&lt;/i&gt;" in page and "Fibre &amp; more" in page
    assert [c["folder"] for c in result.combinations] == ["1-name-_i_Fibre_i", "2-name-Fibre_more"]


@pytest.mark.parametrize(
    "text,message",
    [
        ("monthly_price", "--set: expected KEY=VALUE[,VALUE...], got 'monthly_price'"),
        ("=1,2", "--set: expected KEY=VALUE"),
        ("catalog..price=1", "--set: 'catalog..price' is not a dotted key path"),
        ("population.customers=", "--set population.customers: no values"),
        ("population.customers=1,,2", "--set population.customers: an empty value"),
        ("population.customers=1,2,", "--set population.customers: an empty value"),
        ("topology.gateways=[Chicago, Denver", "--set topology.gateways: unbalanced brackets"),
        ("population.customers=5,5", "--set population.customers: '5' is the same value as '5'"),
        ("catalog.0.monthly_price=12.9,12.90", "'12.90' is the same value as '12.9'"),
        ("seed=1,2", "--set seed: the seeds come from --replications"),
        ("catalog.0.name=a: b: c", "--set catalog.0.name: cannot read 'a: b: c'"),
    ],
)
def test_bad_set_syntax_is_one_line_naming_the_option(text, message):
    with pytest.raises(ValidationError) as caught:
        parse_set(text)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_key_set_twice_is_refused_and_the_order_of_the_sets_is_kept():
    assert list(sweeps.parse_sets(["b.x=1,2", "a.y=3"])) == ["b.x", "a.y"]
    with pytest.raises(ValidationError, match=r"^--set a\.y: given twice"):
        sweeps.parse_sets(["a.y=1", "b.x=2", "a.y=3"])


def test_the_terminal_table_shows_the_key_figures_that_vary(runs):
    result = runs["process"]["result"]
    header, rows = sweeps.key_table(result)
    assert header[:2] == list(SETS) and "revenue.mrr" in header and "orders.failed" not in header
    assert [r[:2] for r in rows] == [["12.90", "20"], ["12.90", "200"], ["29.90", "20"], ["29.90", "200"]]
    m = result.combinations[0]["metrics"]["revenue.mrr"]
    assert rows[0][header.index("revenue.mrr")] == f"{m['mean']:,.6g} [{m['ci95'][0]:,.6g} .. {m['ci95'][1]:,.6g}]"


def test_values_are_yaml_scalars_and_lists_stay_whole():
    assert parse_set("catalog.0.monthly_price=12.90, 29.90") == ("catalog.0.monthly_price", ["12.90", "29.90"])
    key, values = parse_set("topology.gateways=[New York, Chicago],[Denver],'a, b'")
    assert values == ["[New York, Chicago]", "[Denver]", "'a, b'"]
    assert [sweeps.read_value(v) for v in values] == [["New York", "Chicago"], ["Denver"], "a, b"]
    assert [sweeps.read_value(v) for v in ("0.5", "12.90", "200", "true", "2d 10h")] == [0.5, 12.9, 200, True, "2d 10h"]


@pytest.mark.parametrize(
    "sets,message",
    [
        ({"population.custmers": ["5", "6"]}, "--set population.custmers=5: unknown key"),
        ({"catalog.0.monthly_price": ["cheap", "1"]}, "--set catalog.0.monthly_price=cheap: "),
        ({"catalog.0.monthly_price": ["1", "-2"]}, "--set catalog.0.monthly_price=-2: "),
        ({"catalog.7.monthly_price": ["1"]}, "--set catalog.7.monthly_price=1: catalog.7: no item '7' in a list of 3"),
        ({"population.segments.business.share": ["0.15", "0.5"]},
         "--set population.segments.business.share=0.5: population.segments: segment shares must add up to 1"),
        ({"topology.gateways": ["[New York]", "[Atlantis]"]}, "--set topology.gateways=[Atlantis]: "),
        ({"population.customers": []}, "--set population.customers: no values"),
        ({}, "--set: give at least one"),
        ({"catalog": ["[]"], "catalog.0.monthly_price": ["1"]}, "--set catalog.0.monthly_price: is inside catalog"),
    ],
)  # fmt: skip
def test_a_bad_key_or_value_is_one_line_naming_the_set_and_nothing_is_written(scenario, tmp_path, sets, message):
    out = tmp_path / "out"
    with pytest.raises(TelcolabError) as caught:
        sweep(scenario, sets, 2, out, workers=1)
    assert message in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_a_broken_scenario_file_is_named_as_the_file(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        sweep(tmp_path / "nope.yaml", {"population.customers": ["5"]}, 1, tmp_path / "out", workers=1)
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: file not found"


@pytest.mark.parametrize(
    "options,message",
    [
        ({"replications": 0}, "--replications: must be at least 1"),
        ({"workers": 0}, "--workers: must be at least 1"),
        ({"workers": 2, "scheduler": "tcp://127.0.0.1:8786"}, "--workers: not with --scheduler"),
        ({"scheduler": "nonsense"}, "--scheduler: 'nonsense' is not a scheduler address"),
        ({"scheduler": "tcp://:8786"}, "--scheduler: 'tcp://:8786' names no host"),
        ({"scheduler": "carrier://pigeon:1"}, "--scheduler: 'carrier://pigeon:1' is not a scheduler address"),
    ],
)
def test_bad_options_are_one_line_naming_the_option(scenario, tmp_path, options, message):
    replications = options.pop("replications", 2)
    with pytest.raises(ValidationError) as caught:
        sweep(scenario, {"population.customers": ["5"]}, replications, tmp_path / "out", **options)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_named(scenario, tmp_path, monkeypatch):
    monkeypatch.setattr(sweeps, "CONNECT_TIMEOUT", "1s")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BackendUnavailable) as caught:
        sweep(scenario, {"population.customers": ["5"]}, 1, tmp_path / "out", scheduler=f"127.0.0.1:{port}")
    assert str(caught.value) == f"--scheduler: cannot reach tcp://127.0.0.1:{port}"
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_an_existing_output_folder_is_refused(scenario, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(BackendUnavailable, match="exists and is not empty"):
        sweep(scenario, {"population.customers": ["5"]}, 1, tmp_path / "out", workers=1)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
