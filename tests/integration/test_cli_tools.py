"""The tools of run_scenario.py on finished runs, as a user types them: report, compare, sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, tiny_quickstart

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return tiny_quickstart(tmp_path_factory.mktemp("tiny"), customers=40, days=2)


@pytest.fixture(scope="module")
def two_runs(tiny):
    runs = tiny.parent / "runs"
    for seed in (1, 2):
        result = run_cli(tiny, "--seed", seed, "--out", runs / f"seed-{seed}", "-q")
        assert result.returncode == 0, result.stderr
    return runs / "seed-1", runs / "seed-2"


def test_report_rebuilds_the_page_of_a_finished_run(two_runs):
    run = two_runs[0]
    first = (run / "report.html").read_bytes()
    (run / "report.html").unlink()
    result = run_cli("report", run)
    assert result.returncode == 0 and result.stdout.strip() == str(run / "report.html")
    assert (run / "report.html").read_bytes() == first


def test_compare_prints_the_figures_that_differ_and_writes_the_page(two_runs, tmp_path):
    a, b = two_runs
    result = run_cli("compare", a, b, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "compare.html").is_file() and str(tmp_path / "compare.html") in result.stdout
    sa, sb = (json.loads((r / "summary.json").read_text()) for r in (a, b))
    assert sa["usage"]["records"] != sb["usage"]["records"]
    line = next(x for x in result.stdout.splitlines() if "usage.records" in x)
    assert f"{sa['usage']['records']:,}" in line and f"{sb['usage']['records'] - sa['usage']['records']:+,}" in line
    assert "customers " not in result.stdout  # the same in both: shown with --all only
    assert "customers " in run_cli("compare", a, b, "--out", tmp_path, "--all").stdout


def test_compare_names_a_folder_that_is_not_a_run(two_runs, tmp_path):
    result = run_cli("compare", two_runs[0], tmp_path, "--out", tmp_path)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {tmp_path}: not a run folder")


def test_sweep_runs_every_combination_and_prints_the_intervals(tiny, tmp_path):
    out = tmp_path / "sweep"
    result = run_cli("sweep", tiny, "--set", "catalog.0.monthly_price=12.90,29.90", "--replications", "2",
                     "--workers", "2", "--out", out)  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "sweep.json").read_text())
    assert [c["labels"] for c in document["combinations"]] == [{"catalog.0.monthly_price": "12.90"},
                                                                 {"catalog.0.monthly_price": "29.90"}]  # fmt: skip
    assert document["executor"] == {"kind": "pool", "workers": 2, "scheduler": None}
    mrr = [c["metrics"]["revenue.mrr"] for c in document["combinations"]]
    for m in mrr:
        assert m["ci95"][0] <= m["mean"] <= m["ci95"][1] and len(m["values"]) == 2
    assert mrr[1]["mean"] > mrr[0]["mean"]
    assert "revenue.mrr" in result.stdout and "12.90" in result.stdout and "29.90" in result.stdout
    assert {p.name for p in out.iterdir()} >= {"sweep.json", "sweep.csv", "sweep.html", "1-monthly_price-12.90"}


def test_a_bad_sweep_is_one_line_and_writes_nothing(tiny, tmp_path):
    result = run_cli("sweep", tiny, "--set", "catalog.0.monthly_price=-3", "--out", tmp_path / "sweep")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: --set catalog.0.monthly_price=-3:") and not (tmp_path / "sweep").exists()


def test_trace_prints_a_customers_journey_by_etom_process(two_runs):
    run = two_runs[0]
    result = run_cli("trace", run, "--customer", "CUS-000002")
    assert result.returncode == 0, result.stderr
    assert "CUS-000002" in result.stdout and "Order Handling" in result.stdout
    assert "Service Configuration" in result.stdout and max(map(len, result.stdout.splitlines())) <= 100
    as_json = json.loads(run_cli("trace", run, "--customer", "CUS-000002", "--json").stdout)
    assert as_json["customer_id"] == "CUS-000002" and as_json["steps"]
    missing = run_cli("trace", run, "--customer", "CUS-999999")
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "CUS-999999" in missing.stderr
    assert "Traceback" not in missing.stderr
