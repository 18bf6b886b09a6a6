"""The dashboard in a real browser (Debian's headless Chromium via Playwright) during a served run."""

from __future__ import annotations

import os
import shutil
import socket
import threading

import pytest

from oss_bss.api.access import AccessKeys
from sim import runner
from sim.scenario import load_scenario
from sim.serving import ApiServer

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_dashboard_shows_a_link_go_down_and_its_alarm_appear_live(write_scenario, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is needed (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright

    path = write_scenario({"population.customers": 60, "duration_days": 1,
                           "timeline": [{"at": "10h", "fail_link": "Denver--Kansas City", "for": "6h"}]})  # fmt: skip
    lock, port, servers = threading.RLock(), free_port(), []
    keys = AccessKeys("dash-key", "dash-read")

    def start(operator):
        server = ApiServer(operator, keys, lock, port)
        server.start()
        servers.append(server)

    # Simulated time starts only once the browser shows the network (``go``): a slow browser start cannot miss the
    # link while it is up.
    ready, go = threading.Event(), threading.Event()
    outcome = {}

    def run():
        try:
            outcome["result"] = runner.run(load_scenario(path), tmp_path / "run", lock=lock, pace=0.25,
                                           on_start=lambda op: (start(op), ready.set(), go.wait(120)))  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcome["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30) and "error" not in outcome, outcome.get("error")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/?key=dash-key")
            link = page.locator('line[data-link="Denver--Kansas City"]')
            link.wait_for(timeout=15_000)
            assert link.get_attribute("data-up") == "true"  # before 10:00 simulated
            go.set()
            page.wait_for_selector('line[data-link="Denver--Kansas City"][data-up="false"]', timeout=30_000)
            page.wait_for_function(
                "document.querySelector('#alarms').innerText.includes('Denver--Kansas City')", timeout=10_000)
            assert "critical" in page.locator("#alarms").inner_text() or "major" in page.locator("#alarms").inner_text()
            assert page.locator("#clock").inner_text().startswith("2026-04-01T")
            browser.close()
    finally:
        go.set()
        thread.join(timeout=60)
        for server in servers:
            server.stop()
    assert "result" in outcome, outcome.get("error")
