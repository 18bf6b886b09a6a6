"""Shared fixtures: the project root, the quickstart, a way to call the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python run_scenario.py ARGS`` as a user would type it."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_scenario.py"), *map(str, args)],
        capture_output=True, text=True, cwd=cwd or ROOT, timeout=300,
    )  # fmt: skip


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def write_scenario(tmp_path):
    """Write a variant of the quickstart (a dict of changes, or raw text) and return its path."""

    def write(changes: dict | None = None, text: str | None = None, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        if text is None:
            data = yaml.safe_load((SCENARIOS / "quickstart.yaml").read_text())
            data["topology"]["file"] = str(SCENARIOS / "topologies" / "Abilene.graphml")
            for key, value in (changes or {}).items():
                node = data
                *parents, last = key.split(".")
                for p in parents:
                    node = node[int(p)] if isinstance(node, list) else node[p]
                if isinstance(node, list):
                    last = int(last)
                if value is None:
                    del node[last]
                else:
                    node[last] = value
            text = yaml.safe_dump(data, sort_keys=False)
        path.write_text(text)
        return path

    return write


def tiny_quickstart(folder: Path, customers: int, days: float, name: str = "tiny.yaml") -> Path:
    """The quickstart made small, written in ``folder`` with its topology file beside it (a relative path, as in
    the library), so the folder can be sent elsewhere whole."""
    import shutil

    (folder / "topologies").mkdir(exist_ok=True)
    shutil.copy(SCENARIOS / "topologies" / "Abilene.graphml", folder / "topologies" / "Abilene.graphml")
    data = yaml.safe_load((SCENARIOS / "quickstart.yaml").read_text())
    assert data["topology"]["file"] == "topologies/Abilene.graphml"
    data["population"]["customers"] = customers
    data["duration_days"] = days
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def read_events(folder: Path, kind: str | None = None) -> list[dict]:
    """The run's events.jsonl, optionally only events of one type."""
    import json

    rows = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    return [r for r in rows if kind is None or r["type"] == kind]


def run_library_scenario(name: str, tmp_path_factory):
    """Run ``scenarios/<name>.yaml`` into a temporary folder; (result, its events)."""
    from sim import runner
    from sim.scenario import load_scenario

    result = runner.run(load_scenario(SCENARIOS / f"{name}.yaml"), tmp_path_factory.mktemp(name) / "run")
    return result, read_events(result.folder)
