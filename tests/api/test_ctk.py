"""The TM Forum TMF620 conformance test kit (../shared/ctk), run with newman against the served API.

The kit is in tests/ctk (from ../shared/ctk, with its TM Forum notice). Its requests carry the operator key, as the kit's own runner adds the
headers of its config.json to every request. The server is the real one
(uvicorn on loopback, access control on).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from oss_bss.api.access import AccessKeys
from oss_bss.api.app import create_app
from tests.api.conftest import OPERATOR_KEY, READ_KEY

pytestmark = pytest.mark.integration
KIT = Path(__file__).resolve().parents[1] / "ctk" / "TMF620" / "ctk"  # copied with its notice


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(operator):
    port = free_port()
    app = create_app(operator, AccessKeys(OPERATOR_KEY, READ_KEY))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_tmf620_conformance_kit_passes_with_no_failed_assertion(served, tmp_path):
    if shutil.which("npx") is None:
        pytest.fail("npx (Node.js) is needed to run newman")
    collection = json.loads((KIT / "CTK-Product_Catalog-4.0.0.postman_collection.json").read_text())

    def with_key(items):
        for item in items:
            if "item" in item:
                with_key(item["item"])
            else:
                item["request"].setdefault("header", []).append({"key": "Authorization", "value": f"Bearer {OPERATOR_KEY}"})

    with_key(collection["item"])
    (tmp_path / "ctk.json").write_text(json.dumps(collection))
    report = tmp_path / "results.json"
    run = subprocess.run(
        ["npx", "--yes", "newman@6", "run", str(tmp_path / "ctk.json"), "-e", str(KIT / "TMFENV-V4.0.0.postman_environment.json"),
         "--env-var", f"Product_Catalog={served}/tmf-api/productCatalogManagement/v4/",
         "--reporters", "json", "--reporter-json-export", str(report)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert report.exists(), run.stderr[-2000:]
    results = json.loads(report.read_text())["run"]
    failures = [f"{f['source'].get('name')}: {f['error'].get('test')}: {f['error'].get('message')}"
                for f in results["failures"]]  # fmt: skip
    print("TMF620 CTK:", {k: v["total"] for k, v in results["stats"].items()})
    assert failures == []
    assert results["stats"]["assertions"]["total"] > 300 and results["stats"]["requests"]["total"] == 47
