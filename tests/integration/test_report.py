"""``report.html`` and ``compare.html`` read back: every plot drawn inline, nothing loaded from elsewhere, and the
figures on the page equal to what the run stored (bills summed by month as Decimal, orders, services, experience)."""

from __future__ import annotations

import html
import json
import os
import shutil
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from oss_bss.errors import TelcolabError
from sim import runner
from sim.replications import numeric_leaves
from sim.report import CompareRow, NotARunFolder, compare, compare_rows, data, write_report
from sim.scenario import load_scenario
from tests import postgres
from tests.conftest import SCENARIOS

pytestmark = pytest.mark.integration

PLOTS = ("funnel", "services", "utilisation", "assurance", "restore", "revenue", "experience")

# Orders that fall out (no capacity) and are cancelled after their retries, faults (a timed link failure, planned
# work), tickets (customers who call, SLA customers ticketed at once), two bill cycles in two months, and customers
# who pay late or never (suspended, resumed, terminated; some still suspended at the end).
SMALL = """
name: report-small
description: A small run for the report's tests.
seed: 7
start: 2026-04-20
duration_days: 20
currency: EUR
topology: {{file: "{topology}", gateways: [New York, Los Angeles]}}
catalog:
  - {{id: home-100, name: Home 100, bandwidth_mbps: 5, monthly_price: "45.00", usage_price_per_gb: "0.003"}}
  - id: enterprise-vpn
    name: Enterprise Internet with SLA
    bandwidth_mbps: 1500                # the network runs out of room: orders fall out, then are cancelled
    monthly_price: "1200.00"
    usage_price_per_gb: "0.005"
    sla: {{name: gold, availability_percent: 99.9, time_to_restore: 4h, credit_percent: 10}}
population:
  customers: 300
  segments:
    residential:
      share: 0.8
      offerings: {{home-100: 1}}
      sessions_per_day: 10
      session_volume: {{median_mb: 100, sigma: 1.0}}
      patience: 1h
      payment: {{on_time: 0.5, late: 0.3, never: 0.2, late_days: {{min: 1, mode: 4, max: 8}}}}
    enterprise:
      share: 0.2
      offerings: {{enterprise-vpn: 1}}
      sessions_per_day: 30
      session_volume: {{median_mb: 150, sigma: 1.0}}
      patience: 20m
ordering:
  arrivals_per_day: 400
  install_hours: {{min: 1, mode: 4, max: 12}}
  fallout: {{retry_after: 2d, max_retries: 2}}
billing: {{cycle_days: [25, 1], payment_terms: 2d}}
dunning: {{reminder_after: 1d, suspend_after: 2d, terminate_after: 10d}}
faults:
  maintenance: [{{name: houston-upgrade, nodes: [Houston], start: "2026-04-28 02:00", duration: 2h}}]
timeline: [{{at: "2026-04-22 10:00", fail_link: Denver--Kansas City, for: 6h}}]
"""

# No fault, no bill (the first bill cycle closes after the end), so no experience index either.
QUIET = """
name: report-quiet
seed: 3
start: 2026-04-02
duration_days: 2
currency: EUR
topology: {{file: "{topology}", gateways: [New York, Los Angeles]}}
catalog: [{{id: home-100, name: Home 100, bandwidth_mbps: 5, monthly_price: "45.00"}}]
population:
  customers: 40
  segments:
    residential:
      {{share: 1, offerings: {{home-100: 1}}, sessions_per_day: 10, session_volume: {{median_mb: 100, sigma: 1}}}}
ordering: {{arrivals_per_day: 200, install_hours: {{min: 1, mode: 4, max: 12}}}}
billing: {{cycle_day: 1}}
"""


def _run(folder: Path, text: str, seed: int | None = None, db_url: str | None = None) -> Path:
    """Run a scenario's text in ``folder``; returns the run folder."""
    path = folder / "scenario.yaml"
    path.write_text(text.format(topology=SCENARIOS / "topologies" / "Abilene.graphml"))
    return runner.run(load_scenario(path, seed=seed), folder / "run", db_url=db_url).folder


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("small"), SMALL)


@pytest.fixture(scope="module")
def small_other_seed(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("small8"), SMALL, seed=8)


@pytest.fixture(scope="module")
def report(small) -> Page:
    """The small run's report, written once for the tests that only read it."""
    return page(write_report(small))


@pytest.fixture(scope="module")
def quiet(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("quiet"), QUIET)


class Page(HTMLParser):
    """What the tests read of a page: every tag with its attributes, and each plot section's tags and text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.sections: dict[str, dict] = {}
        self._open: list[tuple[str, int]] = []  # (plot id, depth of its <section>)
        self._depth = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        self._depth += 1
        if tag == "section" and "data-plot" in attributes:
            self._open.append((attributes["data-plot"], self._depth))
            self.sections[attributes["data-plot"]] = {"tags": [], "text": [], "classes": []}
        for plot, _ in self._open:
            self.sections[plot]["tags"].append(tag)
            self.sections[plot]["classes"].append(attributes.get("class", ""))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self._open and tag == "section" and self._open[-1][1] == self._depth:
            self._open.pop()
        self._depth -= 1

    def handle_data(self, text):
        for plot, _ in self._open:
            self.sections[plot]["text"].append(text)

    def rows(self, attribute: str) -> dict[str, dict]:
        """Elements carrying ``attribute``, by its value."""
        return {a[attribute]: a for _, a in self.tags if attribute in a}

    def text(self, plot: str) -> str:
        return " ".join(" ".join(self.sections[plot]["text"]).split())


def page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def assert_self_contained(p: Page) -> None:
    """Nothing the browser would fetch: links only within the page, images only as data: URIs, no script."""
    outside = []
    for tag, attributes in p.tags:
        for name, value in attributes.items():
            if name in ("src", "href", "xlink:href", "action", "poster", "srcset") and value is not None:
                if not (value.startswith("#") or value.startswith("data:")):
                    outside.append(f"<{tag} {name}={value!r}>")
        assert tag not in ("script", "iframe", "object", "embed"), tag
        assert not (tag == "link" and attributes.get("rel") == "stylesheet")
    assert outside == []


def test_write_report_draws_every_plot_inline_and_loads_nothing(small):
    path = write_report(small)
    assert path == small / "report.html"
    text = path.read_text(encoding="utf-8")
    p = Page(text)
    assert set(p.sections) == set(PLOTS)
    for plot in PLOTS:
        assert "svg" in p.sections[plot]["tags"], f"{plot}: no <svg>"
        assert "empty" not in p.sections[plot]["classes"], f"{plot} says it is empty"
    assert_self_contained(p)
    assert "@import" not in text and "url(http" not in text
    # The scenario's name, description and seed.
    scenario = p.rows("data-seed")["7"]
    assert scenario["data-name"] == "report-small"
    assert "A small run for the report's tests." in html.unescape(text)
    assert not list(small.glob(".report.html.partial-*"))


def test_the_heat_map_and_the_timeline_name_what_the_run_stored(small, report):
    p = report
    summary = json.loads((small / "summary.json").read_text())
    assert "image" in p.sections["utilisation"]["tags"]  # the heat map, as an embedded PNG
    assert summary["performance"]["links"]["utilisation"]["busiest"] in p.text("utilisation")
    with sqlite3.connect(small / "run.db") as con:
        incidents = [i for (i,) in con.execute("select id from incident where state != 'merged'")]
        objects = {o for (o,) in con.execute("select alarmed_object from alarm")}
    assert incidents and objects
    timeline = p.text("assurance")
    for ident in incidents:
        assert ident in timeline
    for obj in objects:
        assert obj in timeline


def bills_by_month(folder: Path, start: str) -> dict[str, Decimal]:
    epoch = datetime.fromisoformat(start).replace(tzinfo=UTC)
    months: dict[str, Decimal] = defaultdict(Decimal)
    with sqlite3.connect(folder / "run.db") as con:
        for issued_at, amount in con.execute("select issued_at, amount from customer_bill"):
            months[(epoch + timedelta(seconds=issued_at)).strftime("%Y-%m")] += Decimal(amount)
    return dict(months)


def test_revenue_by_month_is_the_bills_summed_by_month_as_decimal(small, report):
    p = report
    summary = json.loads((small / "summary.json").read_text())
    shown = {month: Decimal(row["data-invoiced"]) for month, row in p.rows("data-month").items()}
    expected = bills_by_month(small, summary["start"])
    assert len(expected) == 2  # two bill cycles, in April and in May
    assert shown == expected
    total = Decimal(p.rows("data-total-invoiced").popitem()[0])
    assert total == sum(expected.values()) == Decimal(summary["revenue"]["invoiced"])
    with sqlite3.connect(small / "run.db") as con:
        counts = dict(con.execute("select strftime('%Y-%m', '2026-04-20', issued_at || ' seconds'), count(*) "
                                  "from customer_bill group by 1"))  # fmt: skip
    assert {m: int(r["data-bills"]) for m, r in p.rows("data-month").items()} == counts


def test_the_funnel_counts_are_the_summary_orders(small, report):
    p = report
    orders = json.loads((small / "summary.json").read_text())["orders"]
    stages = {k: int(r["data-count"]) for k, r in p.rows("data-stage").items()}
    outcomes = {k: int(r["data-count"]) for k, r in p.rows("data-outcome").items()}
    assert orders["cancelled"] and orders["fallout_retries"]  # not every order completed
    assert stages["submitted"] == stages["acknowledged"] == stages["in_progress"] == orders["submitted"]
    assert stages["completed"] == orders["completed"]
    assert outcomes == {k: orders[k] for k in ("completed", "in_progress", "held", "failed", "cancelled")}


def test_active_services_at_the_end_are_the_summary_less_the_suspended(small, report):
    summary = json.loads((small / "summary.json").read_text())
    assert summary["dunning"]["suspended"] and summary["dunning"]["resumed"] and summary["dunning"]["terminated"]
    p = report
    end = p.rows("data-active").popitem()[1]
    assert int(end["data-active"]) == summary["services"]["active"]
    assert int(end["data-suspended"]) == summary["services"]["by_state"]["suspended"] > 0


def test_events_are_found_across_block_boundaries(small, monkeypatch):
    path = small / "events.jsonl"
    kinds = ("ServiceSuspended", "ServiceResumed", "ServiceTerminated")
    expected = [e for e in map(orjson.loads, path.read_bytes().splitlines()) if e["type"] in kinds]
    assert len(expected) > 100
    assert data.scan_events(path, kinds) == expected
    monkeypatch.setattr(data, "BLOCK", 997)  # lines and markers cut in every way
    assert data.scan_events(path, kinds) == expected


def test_time_to_restore_is_the_tickets_and_incidents_stored(small, report):
    summary = json.loads((small / "summary.json").read_text())
    rows = report.rows("data-restore")
    restored, still_open = int(rows["tickets"]["data-count"]), int(rows["tickets"]["data-open"])
    assert restored > 0 and restored + still_open == summary["tickets"]["opened"]
    assert float(rows["tickets"]["data-mean-hours"]) == pytest.approx(summary["tickets"]["mttr_hours"], abs=1e-4)
    with sqlite3.connect(small / "run.db") as con:
        hours = [(r - o) / 3600 for o, r in con.execute(
            "select opened_at, resolved_at from incident where state != 'merged' and not planned")]  # fmt: skip
    assert int(rows["incidents"]["data-count"]) == len(hours) > 0
    assert float(rows["incidents"]["data-mean-hours"]) == pytest.approx(sum(hours) / len(hours))


def test_experience_by_segment_is_the_summary(small, report):
    p = report
    summary = json.loads((small / "summary.json").read_text())
    shown = {k: float(r["data-mean"]) for k, r in p.rows("data-segment").items()}
    assert shown == pytest.approx(summary["experience"]["by_segment"], abs=0.006)


def test_a_report_is_the_same_bytes_each_time(small, report):
    first = (small / "report.html").read_bytes()  # written by the fixture (or since, by a test: the same bytes)
    assert write_report(small).read_bytes() == first


def test_a_run_with_no_fault_and_no_bill_says_so_instead_of_drawing(quiet):
    p = page(write_report(quiet))
    assert_self_contained(p)
    for plot in ("assurance", "restore", "revenue", "experience"):
        assert "svg" not in p.sections[plot]["tags"], plot
        assert "empty" in p.sections[plot]["classes"], plot
    assert "no fault" in p.text("assurance")
    assert "No bill was issued" in p.text("revenue")
    for plot in ("funnel", "services", "utilisation"):
        assert "svg" in p.sections[plot]["tags"], plot


def test_compare_gives_every_figure_with_its_difference(small, small_other_seed):
    a = json.loads((small / "summary.json").read_text())
    b = json.loads((small_other_seed / "summary.json").read_text())
    rows = compare_rows(small, small_other_seed)
    by_key = {r.key: r for r in rows}
    assert set(numeric_leaves(a)) | set(numeric_leaves(b)) <= set(by_key)
    assert "prepaid.charged" in by_key  # money outside numeric_leaves' sections too
    differing = [r for r in rows if r.differs]
    assert len(differing) > 10  # another seed, another run
    for r in rows:
        if r.a is None or r.b is None:
            assert r.difference is None
            continue
        assert r.difference == r.b - r.a
        if r.a:
            assert r.relative == pytest.approx(float(r.b - r.a) / abs(float(r.a)))
    invoiced = by_key["revenue.invoiced"]  # money: exact
    assert invoiced.a == Decimal(a["revenue"]["invoiced"]) and invoiced.b == Decimal(b["revenue"]["invoiced"])
    assert invoiced.difference == Decimal(b["revenue"]["invoiced"]) - Decimal(a["revenue"]["invoiced"])
    completed = by_key["usage.records"]
    assert completed.difference == b["usage"]["records"] - a["usage"]["records"]
    assert by_key["customers"] == CompareRow("customers", 300, 300, 0, 0.0)


def test_compare_writes_a_self_contained_page_with_both_runs(small, small_other_seed, tmp_path):
    out = compare(small, small_other_seed, tmp_path / "compare.html")
    assert out == tmp_path / "compare.html"
    p = page(out)
    assert_self_contained(p)
    for plot in ("services", "revenue", "restore", "utilisation"):
        assert "svg" in p.sections[plot]["tags"], plot
        assert "seed 7" in p.text(plot) and "seed 8" in p.text(plot), plot
    shown = p.rows("data-key")
    rows = compare_rows(small, small_other_seed)
    assert set(shown) == {r.key for r in rows}
    invoiced = shown["revenue.invoiced"]
    assert Decimal(invoiced["data-difference"]) == Decimal(invoiced["data-b"]) - Decimal(invoiced["data-a"])
    # A folder as the destination holds compare.html.
    assert compare(small, small_other_seed, tmp_path) == tmp_path / "compare.html"
    assert [f.name for f in tmp_path.iterdir()] == ["compare.html"]


def test_a_folder_that_is_not_a_run_is_named_with_what_it_misses(small, tmp_path):
    with pytest.raises(NotARunFolder, match=r"summary\.json") as caught:
        write_report(tmp_path)
    assert str(tmp_path) in str(caught.value) and isinstance(caught.value, TelcolabError)
    assert not (tmp_path / "report.html").exists()
    with pytest.raises(NotARunFolder, match="no such folder"):
        write_report(tmp_path / "nowhere")
    for part, words in (("kpi", "kpi/links.npz"), ("run.db", "run.db"), ("scenario.yaml", "scenario.yaml")):
        copy = tmp_path / f"without-{part}"
        shutil.copytree(small, copy)
        target = copy / part
        shutil.rmtree(target) if target.is_dir() else target.unlink()
        with pytest.raises(NotARunFolder, match=words.replace(".", r"\.")) as caught:
            write_report(copy)
        assert str(copy) in str(caught.value)
        assert not (copy / part).exists()  # nothing made up in its place (SQLite would create an empty run.db)
        with pytest.raises(NotARunFolder, match=str(copy)):
            compare(small, copy, tmp_path / "c.html")
    replications = tmp_path / "replications"
    replications.mkdir()
    (replications / "summary.json").write_text(json.dumps({"replications": {"count": 2}}))
    with pytest.raises(NotARunFolder, match="replications"):
        compare_rows(small, replications)
    assert not (tmp_path / "c.html").exists()


def test_a_failed_write_leaves_the_previous_report_whole(small, monkeypatch):
    before = write_report(small).read_bytes()

    def broken(run):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr("sim.report.page.render", broken)
    with pytest.raises(RuntimeError):
        write_report(small)
    assert (small / "report.html").read_bytes() == before
    assert not list(small.glob(".report.html*"))


@pytest.mark.postgres
def test_a_run_stored_in_postgresql_reports_the_same_figures(small, report, tmp_path):
    try:
        with postgres.private_server() as url:
            folder = _run(tmp_path, SMALL, db_url=url)
            with pytest.raises(NotARunFolder, match=r"no run\.db"):
                write_report(folder)
            p = page(write_report(folder, url))
    except postgres.Unavailable as exc:
        if os.environ.get("TELCOLAB_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (TELCOLAB_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(str(exc))
    for attribute in ("data-month", "data-stage", "data-outcome", "data-segment", "data-restore", "data-active"):
        mine, sqlite = p.rows(attribute), report.rows(attribute)
        assert mine.keys() == sqlite.keys(), attribute
        for key, row in mine.items():
            for name, value in row.items():  # money as NUMERIC(18, 6) in PostgreSQL: the same Decimal
                other = sqlite[key][name]
                same = Decimal(value) == Decimal(other) if name in ("data-invoiced", "data-paid") else value == other
                assert same, (attribute, key, name, value, other)
