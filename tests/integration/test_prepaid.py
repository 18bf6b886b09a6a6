"""scenarios/prepaid.yaml: balances run out, the network cuts the service, top-ups restore it."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from decimal import Decimal

import numpy as np
import pytest

from oss_bss.adapters.usage_files import load as load_usage
from oss_bss.money import from_micros
from tests.conftest import run_library_scenario

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_library_scenario("prepaid", tmp_path_factory)


def test_every_cent_topped_up_is_either_charged_for_usage_or_still_on_a_balance(run):
    result, events = run
    p = result.summary["prepaid"]
    topped = sum(Decimal(e["amount"]) for e in events if e["type"] == "PrepaidToppedUp")
    assert Decimal(p["topped_up"]) == topped
    assert Decimal(p["charged"]) + Decimal(p["balance"]) == topped  # exact, in micro-units
    usage = load_usage(result.folder / "usage")
    assert from_micros(int(usage["charge_micros"].sum())) == Decimal(p["charged"])  # each record charged once
    assert result.summary["invoices"]["count"] == 0  # prepaid is never billed
    assert all(Decimal(e["balance"]) >= 0 for e in events if e["type"] == "PrepaidBalanceExhausted")


def test_a_cut_off_service_carries_nothing_until_a_top_up_resumes_it(run):
    result, events = run
    with sqlite3.connect(result.folder / "run.db") as con:
        key_of = dict(con.execute("select id, key from service"))
    usage = load_usage(result.folder / "usage")
    windows = defaultdict(list)  # service -> [cut, resumed]
    last_top_up = {}
    for e in events:
        if e["type"] == "ServiceSuspended":
            assert e["reason"] == "prepaid balance exhausted"
            windows[e["service_id"]].append([e["at"], np.inf])
        elif e["type"] == "PrepaidToppedUp":
            last_top_up[e["customer_id"]] = e["at"]
        elif e["type"] == "ServiceResumed":
            assert last_top_up[e["customer_id"]] == e["at"]  # resumed by a top-up, at once
            windows[e["service_id"]][-1][1] = e["at"]
    assert result.summary["prepaid"]["cutoffs"] == sum(len(w) for w in windows.values()) > 50
    resumed = sum(1 for w in windows.values() for _, end in w if end < np.inf)
    never = sum(1 for w in windows.values() if w[-1][1] == np.inf)
    assert resumed > 0 and never > 0
    assert result.summary["services"]["by_state"]["suspended"] == never
    for service_id, spans in windows.items():
        starts = usage["start"][usage["service_key"] == key_of[service_id]]
        for cut, back in spans:
            # The hour in which the cut happened was granted before it; nothing after until resumed.
            assert not ((starts >= cut) & (starts < back - 3600)).any()
