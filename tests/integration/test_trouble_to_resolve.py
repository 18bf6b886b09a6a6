"""scenarios/fiber-cut-sla.yaml: one fibre cut through the whole trouble-to-resolve flow."""

import json
import sqlite3
from decimal import Decimal

import numpy as np
import pytest

from oss_bss.adapters.usage_files import load as load_usage
from tests.conftest import run_library_scenario

pytestmark = pytest.mark.integration
CUT = "2026-04-14T10:15:00Z"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_library_scenario("fiber-cut-sla", tmp_path_factory)


def of(rows, kind):
    return [r for r in rows if r["type"] == kind]


def test_one_root_cause_explains_both_links_of_the_duct(run):
    result, rows = run
    with sqlite3.connect(result.folder / "run.db") as con:
        cut = con.execute("select id from alarm where alarmed_object = 'i70-duct'").fetchall()
        (root,) = cut
        links = con.execute("select alarmed_object, parent_id from alarm where alarmed_object_type = 'link' "
                            "and raised_time = (select raised_time from alarm where id = ?)", root).fetchall()  # fmt: skip
    assert sorted(links) == [("Denver--Kansas City", root[0]), ("Kansas City--Indianapolis", root[0])]
    opened = [r for r in of(rows, "IncidentOpened") if r["time"] == CUT]
    merged = of(rows, "IncidentMerged")
    assert len(opened) == 2 and len(merged) == 1  # the first link's incident joins the duct's


def test_enterprise_customers_hit_get_tickets_and_the_workforce_restores(run):
    result, rows = run
    with sqlite3.connect(result.folder / "run.db") as con:
        (incident_id, services, customers, revenue) = con.execute(
            "select id, services, customers, revenue_at_risk from incident where root_alarm_id = "
            "(select id from alarm where alarmed_object = 'i70-duct')").fetchone()
        enterprise = {c for (c,) in con.execute("select id from customer where segment = 'enterprise'")}
        automatic = con.execute("select customer_id, state, in_progress_at, resolved_at from trouble_ticket "
                                "where channel = 'automatic' and incident_id = ?", (incident_id,)).fetchall()  # fmt: skip
        repair = con.execute("select state, started_at, completed_at from work_order where kind = 'repair' "
                             "and incident_id = ?", (incident_id,)).fetchone()  # fmt: skip
    hit = set(json.loads(customers))
    assert len(json.loads(services)) == len(hit) > 10 and Decimal(revenue) > 0
    assert {t[0] for t in automatic} == hit & enterprise and hit - enterprise  # residential hit too
    state, started, completed = repair
    assert state == "completed" and completed - started >= 3 * 3600  # travel + repair, triangular
    assert all(t[1] == "closed" and t[2] == started and t[3] == completed for t in automatic)
    (resolved,) = [r for r in of(rows, "IncidentResolved") if r["incident_id"] == incident_id]
    assert resolved["at"] == completed
    # Residential customers called; a call about the known incident joined it.
    calls = [c for c in of(rows, "TroubleTicketLinked") if started <= c["at"] <= completed]
    assert calls and all(c["incident_id"] == incident_id for c in calls)
    assert result.summary["tickets"]["by_channel"]["customer"] > 0


def test_sla_credits_land_on_the_next_invoices_and_maintenance_breaches_nothing(run):
    result, rows = run
    breaches = of(rows, "SlaBreached")
    assert {b["metric"] for b in breaches} == {"availability", "time_to_restore"}
    with sqlite3.connect(result.folder / "run.db") as con:
        credits = con.execute("select b.customer_id, l.amount from bill_line l join customer_bill b "
                              "on b.id = l.bill_id where l.kind = 'sla_credit'").fetchall()  # fmt: skip
        ticketed = {c for (c,) in con.execute("select customer_id from trouble_ticket where channel = 'automatic'")}
    assert {c for c, _ in credits} == {b["customer_id"] for b in breaches} == ticketed
    # Two breaches each, 10 % of 1,200.00 per breach.
    assert {Decimal(a) for _, a in credits} == {Decimal("-240.00")}
    assert Decimal(result.summary["sla"]["credits"]) == 240 * len(credits)
    # The Houston maintenance took services down, planned: no breach came of it.
    planned = [r for r in of(rows, "LinkDown") if r["planned"] and r["service_ids"]]
    assert planned and not {s for r in planned for s in r["service_ids"]} & {b["service_id"] for b in breaches} - {
        b["service_id"] for b in breaches if b["metric"] == "time_to_restore"}


def test_no_usage_is_charged_for_the_time_a_service_was_down(run):
    result, rows = run
    (down,) = [r for r in of(rows, "LinkDown") if r["time"] == CUT and r["service_ids"]]
    (up,) = [r for r in of(rows, "LinkUp") if r["link_id"] == down["link_id"] and not r["planned"]]
    with sqlite3.connect(result.folder / "run.db") as con:
        keys = [k for (k,) in con.execute(
            f"select key from service where id in ({','.join('?' * len(down['service_ids']))})", down["service_ids"])]
    usage = load_usage(result.folder / "usage")
    mine = np.isin(usage["service_key"], keys)
    inside = mine & (usage["start"] >= np.floor(down["at"] / 3600) * 3600 + 3600) & (usage["end"] <= np.floor(up["at"] / 3600) * 3600)
    assert not inside.any()
    # The hours the cut began and ended in are billed only for the minutes the service was up.
    start_hour = mine & (usage["start"] == np.floor(down["at"] / 3600) * 3600)
    assert start_hour.any()
