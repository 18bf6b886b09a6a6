"""A pytest plugin: scenario files as test suites, one test item per expectation.

``pytest scenarios/`` collects every YAML file with an ``expect:`` list; each file is run once
(on first need) and each of its expectations is a test item that passes or fails with what was
expected, what was measured and the events that are the evidence. JUnit XML comes from pytest's
own ``--junitxml``; each item carries the run folder, the measure and the evidence as properties.

Options: ``--telcolab-backend NAME`` runs every scenario on that network backend (``sim``,
``mininet``); ``--telcolab-out DIR`` keeps the run folders there (default: pytest's temporary
folder). A scenario's ``tags`` become markers (``-m "not slow"``). A scenario that cannot be
loaded is a collection error naming the file, the key and the reason; a backend that cannot start
skips its items (fails them when ``TELCOLAB_REQUIRE_EMULATION=1``, as the emulation tests do).

Registered through the ``pytest11`` entry point, so it is active wherever telcolab is installed;
it imports the simulator only when it meets a scenario.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

_EXPECT = re.compile(rb"^expect\s*:", re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("telcolab", "telcolab scenarios")
    group.addoption("--telcolab-backend", default=None, metavar="NAME",
                    help="run every scenario on this network backend (sim, mininet) instead of its own")  # fmt: skip
    group.addoption("--telcolab-out", default=None, metavar="DIR",
                    help="keep each scenario's run folder in DIR/<scenario name> (default: pytest's temporary folder)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario: an expectation of a telcolab scenario file")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    """A YAML file with an ``expect:`` list; not the scenario.yaml of a run folder (the run as made, beside its
    summary.json), which is evidence, not a suite."""
    if file_path.suffix not in (".yaml", ".yml") or (file_path.parent / "summary.json").exists():
        return None
    if _EXPECT.search(file_path.read_bytes()):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFailure(Exception):
    """A scenario's run could not be made (the reason is one line) or one of its expectations failed."""


class ScenarioFile(pytest.File):
    """A scenario file: loaded at collection, run once when its first item runs."""

    def collect(self):
        from sim.expectations import names
        from sim.scenario import load_scenario

        backend = self.config.getoption("telcolab_backend")
        self.loaded = load_scenario(self.path, backend=backend)
        self.result = None
        self.error: str | None = None
        spec = self.loaded.spec
        for tag in spec.tags:
            self.config.addinivalue_line("markers", f"{tag}: a tag of telcolab scenarios")
        for index, name in enumerate(names(spec.expect)):
            item = ExpectationItem.from_parent(self, name=name.replace("::", ": "), index=index)
            item.add_marker(pytest.mark.scenario)
            for tag in spec.tags:
                item.add_marker(getattr(pytest.mark, tag))
            if spec.backend != "sim":
                item.add_marker(pytest.mark.emulation)
            yield item

    def repr_failure(self, excinfo):
        from oss_bss.errors import TelcolabError

        if isinstance(excinfo.value, TelcolabError):
            return f"error: {excinfo.value}"
        return super().repr_failure(excinfo)

    def run(self):
        """The scenario's run (made once); raises ScenarioFailure with its reason when it could not be made."""
        from oss_bss.errors import BackendUnavailable, TelcolabError
        from sim import runner
        from sim.backends import backend, require

        if self.result is None and self.error is None:
            try:
                backend(self.loaded.spec.backend)  # a name that is no backend is an error, not a skip
                try:
                    require(self.loaded.spec.backend)
                except BackendUnavailable as exc:  # a backend this machine lacks the parts for
                    self.error = f"skip: {exc}"
                else:
                    self.result = runner.run(self.loaded, self._folder())
            except TelcolabError as exc:
                self.error = f"error: {exc}"
        if self.error is not None:
            if self.error.startswith("skip: ") and os.environ.get("TELCOLAB_REQUIRE_EMULATION") != "1":
                pytest.skip(self.error.removeprefix("skip: "))
            raise ScenarioFailure(f"{self.path}: the run could not be made: {self.error.split(': ', 1)[1]}")
        return self.result

    def _folder(self) -> Path:
        """``DIR/<name>`` (``<name>-2``, ... when taken: an earlier run is evidence, never overwritten)."""
        name = self.loaded.spec.name
        out = self.config.getoption("telcolab_out")
        if out is None:
            return self.config._tmp_path_factory.mktemp(name, numbered=True) / "run"
        base = Path(out).resolve()
        folder, n = base / name, 1
        while folder.exists():
            n += 1
            folder = base / f"{name}-{n}"
        return folder


class ExpectationItem(pytest.Item):
    """One expectation of a scenario: passes when it held in the scenario's run."""

    def __init__(self, *, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def runtest(self) -> None:
        result = self.parent.run()
        outcome = result.verdict.outcomes[self.index]
        self.user_properties += [("run_folder", str(result.folder)), ("measured", outcome.measured),
                                 ("evidence_events", " ".join(map(str, outcome.evidence[:100])))]  # fmt: skip
        if not outcome.passed:
            raise ScenarioFailure(f"{outcome.explain()}\nrun folder: {result.folder} (expectations.json, "
                                  f"events.jsonl, report.html)")  # fmt: skip

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.parent.loaded.spec.name}: {self.name}"
