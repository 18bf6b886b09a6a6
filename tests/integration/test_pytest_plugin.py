"""The pytest plugin, run as a QA engineer runs it: ``pytest`` on a folder of scenario files, in a subprocess,
with JUnit XML; and the published JSON Schema of scenario files, checked against the library."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml

from sim.scenario import json_schema
from tests.conftest import SCENARIOS

pytestmark = pytest.mark.integration

TINY = {"population.customers": 60, "duration_days": 3}


def tiny(name: str, expect: list, tags: list | None = None, **changes) -> dict:
    data = yaml.safe_load((SCENARIOS / "quickstart.yaml").read_text())
    data["topology"]["file"] = str(SCENARIOS / "topologies" / "Abilene.graphml")
    data["name"] = name
    data["population"]["customers"] = 60
    data["duration_days"] = 3
    data["expect"] = expect
    if tags:
        data["tags"] = tags
    data.update(changes)
    return data


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``pytest ARGS`` in ``folder``, as a separate process (the plugin comes from the installed entry point)."""
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=folder,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("suite")
    (folder / "good.yaml").write_text(yaml.safe_dump(tiny("good", [
        {"name": "every order completes", "rate": {"of": "ProductOrderCompleted", "per": "ProductOrderSubmitted"},
         "at_least": "60%"},
        {"name": "no order fails", "count": "ProductOrderFailed", "equals": 0},
        {"name": "orders within a minute", "duration": {"from": "ProductOrderSubmitted", "to": "ProductOrderCompleted"},
         "at_most": "1m"},
        {"check": "invoice_totals_equal_lines"},
    ], tags=["smoke"])))  # fmt: skip
    (folder / "other.yaml").write_text(yaml.safe_dump(tiny("other", [
        {"name": "some usage", "metric": "usage.records", "above": 0}], tags=["billing"])))
    plain = tiny("plain", [])
    del plain["expect"]
    (folder / "no-expectations.yaml").write_text(yaml.safe_dump(plain))
    (folder / "not-a-scenario.yaml").write_text("colour: blue\n")
    return folder


@pytest.fixture(scope="module")
def ran(suite):
    result = pytest_in(suite, "--junitxml=junit.xml", "--telcolab-out=runs", "-rA")
    return result, ET.parse(suite / "junit.xml").getroot()


def test_one_item_per_expectation_with_its_outcome(ran):
    result, junit = ran
    cases = {c.get("name"): c for c in junit.iter("testcase")}
    assert set(cases) == {"every order completes", "no order fails", "orders within a minute",
                          "check invoice_totals_equal_lines", "some usage"}  # fmt: skip
    assert result.returncode == 1, result.stdout
    failed = {n for n, c in cases.items() if c.find("failure") is not None}
    assert failed == {"orders within a minute"}
    assert "1 failed, 4 passed" in result.stdout


def test_a_failure_says_what_was_expected_measured_and_where_the_evidence_is(ran, suite):
    result, junit = ran
    (case,) = [c for c in junit.iter("testcase") if c.get("name") == "orders within a minute"]
    message = case.find("failure").get("message")
    assert "expected max time from ProductOrderSubmitted to ProductOrderCompleted (by order_id) at most 1 min" in message
    assert "measured" in message and "evidence: events.jsonl seq" in message
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    folder = Path(properties["run_folder"])
    assert folder == suite / "runs" / "good" and (folder / "expectations.json").is_file()
    seqs = [int(s) for s in properties["evidence_events"].split()]
    lines = (folder / "events.jsonl").read_text().splitlines()
    assert json.loads(lines[seqs[0] - 1])["type"] == "ProductOrderSubmitted"
    assert "Traceback" not in result.stdout


def test_a_scenario_is_run_once_for_all_its_expectations(ran, suite):
    assert sorted(p.name for p in (suite / "runs").iterdir()) == ["good", "other"]


def test_tags_select_scenarios(suite, tmp_path):
    result = pytest_in(suite, "-m", "billing", f"--telcolab-out={tmp_path}")
    assert result.returncode == 0, result.stdout
    assert "1 passed, 4 deselected" in result.stdout  # the run folders of the first pytest run are not collected


def test_a_broken_scenario_is_a_collection_error_naming_the_file_and_key(tmp_path):
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(tiny("broken", [{"count": "OrderShipped", "equals": 0}])))
    result = pytest_in(tmp_path)
    assert result.returncode == 2, result.stdout
    assert f"error: {tmp_path / 'broken.yaml'}: expect[0].count.event: 'OrderShipped' is not an event type" in result.stdout


def test_the_backend_option_runs_every_scenario_on_that_backend(suite, tmp_path):
    result = pytest_in(suite, "--telcolab-backend=nonesuch", "-k", "some and usage")
    assert result.returncode == 1
    assert "the run could not be made" in result.stdout and "nonesuch" in result.stdout


# -- the JSON Schema of scenario files ---------------------------------------------------------------------------


def as_yaml_reader_sees_it(path: Path):
    """The file as an editor's YAML reader gives it to a JSON Schema validator (dates as text)."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


def test_the_published_schema_is_the_one_the_code_makes():
    published = json.loads((SCENARIOS / "schema.json").read_text())
    assert published == json_schema(), "regenerate it: python run_scenario.py schema --out scenarios/schema.json"
    jsonschema.Draft202012Validator.check_schema(published)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_library_scenario_is_valid_against_the_schema_and_names_it(path):
    assert path.read_text().startswith("# yaml-language-server: $schema=schema.json")
    jsonschema.validate(as_yaml_reader_sees_it(path), json.loads((SCENARIOS / "schema.json").read_text()))


@pytest.mark.parametrize(
    "change, valid",
    [
        ({"colour": "blue"}, False),  # an unknown key, as the loader says too
        ({"faults": {"maintenance": [{"name": "m", "links": ["a--b"], "start": "2026-04-02 02:00",
                                      "duration": "2h 30m"}]}}, True),  # fmt: skip
        ({"faults": {"maintenance": [{"name": "m", "links": ["a--b"], "start": "soon", "duration": "2h"}]}}, False),
        ({"expect": [{"count": "ProductOrderFailed", "equals": 0}]}, True),
        ({"expect": [{"count": "ProductOrderFailled", "equals": 0}]}, False),
        ({"ordering": {"arrivals_per_day": 10, "install_hours": {"min": 1, "mode": 2, "max": 3}, "fallout":
                       {"retry_after": "two days"}}}, False),  # fmt: skip
    ],
)
def test_the_schema_accepts_what_the_loader_accepts_and_refuses_what_it_refuses(write_scenario, change, valid):
    from oss_bss.errors import ScenarioError
    from sim.scenario import load_scenario

    path = write_scenario(change)
    schema = json.loads((SCENARIOS / "schema.json").read_text())
    schema_ok = not list(jsonschema.Draft202012Validator(schema).iter_errors(as_yaml_reader_sees_it(path)))
    try:
        load_scenario(path)
        loader_ok = True
    except ScenarioError:
        loader_ok = False
    assert schema_ok == loader_ok == valid


def test_the_schema_command_prints_it(cli):
    result = cli("schema")
    assert result.returncode == 0 and json.loads(result.stdout) == json_schema()
