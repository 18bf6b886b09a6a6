"""Parameter sweeps: every combination of some scenario values, N seeds each, with 95 % intervals.

A sweep is a plan (the combinations of the swept values, the seeds), the runs of that plan (one run
folder per combination and seed, ``<out>/<NN-slug>/seed-<n>/``, each a complete run that can be
opened afterwards), and the table they make: for every combination and every numeric figure of the
runs' summaries, the mean and the 95 % confidence interval of the mean (Student's t, as
:mod:`sim.replications`). The sweep folder holds ``sweep.csv``, ``sweep.json`` and ``sweep.html``
and, like a run folder, is written under a temporary name and renamed when everything is done.

Every combination runs the same seeds (the scenario's seed, seed + 1, ...): common random numbers,
so two combinations differ by the swept values, not by luck.

Where the runs go: a local process pool (the default, one worker per core), a Dask cluster (a
scheduler address), or this process (one worker). A run depends only on its scenario text, its
overrides and its seed, and the table is put together in plan order, not in the order runs finish,
so the table is the same whichever way the sweep ran. A task carries the scenario file's text and
the topology file's content, not paths, so a worker on another machine can run it; it sends back the
run's summary and the folder it wrote, never the run's files.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import multiprocessing
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

from oss_bss.errors import BackendUnavailable, ScenarioError, TelcolabError, ValidationError
from sim import runner
from sim.outputs import RunFolder, write_json
from sim.replications import numeric_leaves
from sim.scenario import LoadedScenario, load_scenario
from sim.stats import mean_ci

__all__ = ["Combination", "Plan", "RunTask", "RunOutcome", "SweepResult", "parse_set", "parse_sets", "read_value",
           "plan", "run_task", "sweep", "key_table", "scheduler_address"]  # fmt: skip

CONNECT_TIMEOUT = "10s"  # to a Dask scheduler
_KEY = re.compile(r"^[^\s.=,]+(\.[^\s.=,]+)*$")
_OPEN, _CLOSE = "[{(", "]})"


def _option(option: str, reason: str) -> ValidationError:
    """A user's mistake on the command line: ``<option>: <reason>`` on one line."""
    return ValidationError({option: reason})


# --- What the user asks for ------------------------------------------------------------------------


def parse_set(text: str) -> tuple[str, list[str]]:
    """``KEY=V1,V2,...`` (a ``--set`` option) as the key and the values as written.

    Values are split at commas outside brackets and quotes, so a YAML flow list (``[a, b]``) or a
    quoted text with a comma is one value. Each value must read as YAML (:func:`read_value`); the
    text is kept, so ``12.90`` is shown as typed while the scenario gets the number.
    """
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise _option("--set", f"expected KEY=VALUE[,VALUE...], got {text!r}")
    _check_key(key)
    if not rest.strip():
        raise _option(f"--set {key}", "no values (give KEY=V1,V2,...)")
    values = _split(rest, key)
    _check_values(key, values)
    return key, values


def parse_sets(texts: Sequence[str]) -> dict[str, list[str]]:
    """Every ``--set`` option, in order, as ``{key: values as written}``; a key may be given once."""
    sets: dict[str, list[str]] = {}
    for text in texts:
        key, values = parse_set(text)
        if key in sets:
            raise _option(f"--set {key}", "given twice (list all its values in one --set)")
        sets[key] = values
    return sets


def read_value(text: str, key: str = "") -> object:
    """A value from the command line, read as YAML: ``0.5`` a number, ``true`` a boolean, ``[a, b]`` a list.

    Money may be written as a number (``12.90``): the scenario reads it as a decimal (``12.9``).
    """
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _option(f"--set {key}", f"cannot read {text!r} as a value: {problem}") from None


def _check_key(key: str) -> None:
    if not _KEY.match(key):
        raise _option("--set", f"{key!r} is not a dotted key path (like catalog.0.monthly_price)")
    if key == "seed":
        raise _option("--set seed", "the seeds come from --replications (seed, seed + 1, ...); sweep other keys")


def _split(text: str, key: str) -> list[str]:
    """``text`` cut at the commas outside brackets and quotes, each piece stripped."""
    pieces, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth < 0:
                break
        elif ch == "," and depth == 0:
            pieces.append(text[start:i].strip())
            start = i + 1
    if quote or depth:
        raise _option(f"--set {key}", f"unbalanced brackets or quotes in {text!r}")
    pieces.append(text[start:].strip())
    if not all(pieces):
        raise _option(f"--set {key}", f"an empty value in {text!r} (two commas together, or one at an end)")
    return pieces


def _canonical(value: object) -> str:
    return json.dumps(_jsonable(value), sort_keys=True)


def _check_values(key: str, values: Sequence) -> None:
    """Each value readable, none given twice (it would make the same combination twice)."""
    if not values:
        raise _option(f"--set {key}", "no values (give KEY=V1,V2,...)")
    seen: dict[str, str] = {}
    for item in values:
        label = item if isinstance(item, str) else str(item)
        value = read_value(item, key) if isinstance(item, str) else item
        canonical = _canonical(value)
        if canonical in seen:
            raise _option(f"--set {key}", f"{label!r} is the same value as {seen[canonical]!r}")
        seen[canonical] = label


def _jsonable(value: object) -> object:
    """A YAML value as JSON has it (dates as ISO text)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# --- The plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Combination:
    """One point of the sweep: a value for every swept key (``labels``: the values as the user wrote them)."""

    index: int
    values: dict[str, object]
    labels: dict[str, str]
    folder: str  # under the sweep folder


@dataclass(frozen=True)
class Plan:
    """Every combination, validated, with the seeds each one runs and what a worker needs to run it."""

    scenario: LoadedScenario  # the first combination, for the scenario's name and seed
    scenario_text: str
    keys: tuple[str, ...]
    combinations: tuple[Combination, ...]
    seeds: tuple[int, ...]
    topologies: tuple[tuple[str, bytes, str] | None, ...]  # per combination: file name, content, path

    def tasks(self, work: Path) -> list[RunTask]:
        """One task per combination and seed, in plan order, writing under ``work``."""
        name = self.scenario.path.name
        return [
            RunTask(c.index, seed, name, self.scenario_text, dict(c.values), self.topologies[c.index],
                    str(work / c.folder / f"seed-{seed}"))  # fmt: skip
            for c in self.combinations
            for seed in self.seeds
        ]


def plan(scenario_path: Path, sets: Mapping[str, Sequence], replications: int, *, seed: int | None = None) -> Plan:
    """Check everything a sweep needs before it runs anything: the sets, every combination, the topologies.

    ``sets`` maps dotted keys to their values, in the order of the ``--set`` options; a value that
    is a ``str`` is read as YAML (as written on the command line), any other is taken as it is.
    """
    if replications < 1:
        raise _option("--replications", "must be at least 1")
    if not sets:
        raise _option("--set", "give at least one KEY=V1,V2,... to sweep")
    keys = tuple(sets)
    for key in keys:
        _check_key(key)
        _check_values(key, sets[key])
    for a, b in itertools.permutations(keys, 2):
        if b.startswith(a + "."):
            raise _option(f"--set {b}", f"is inside {a}, which is swept too")
    path = Path(scenario_path)
    labels = {k: [v if isinstance(v, str) else str(v) for v in sets[k]] for k in keys}
    parsed = {k: [read_value(v, k) if isinstance(v, str) else v for v in sets[k]] for k in keys}
    width = len(str(_count(parsed)))
    shorts = _short_names(keys)
    combinations, topologies, contents, first = [], [], {}, None
    for index, picks in enumerate(itertools.product(*(range(len(parsed[k])) for k in keys))):
        values = {k: parsed[k][i] for k, i in zip(keys, picks)}
        shown = {k: labels[k][i] for k, i in zip(keys, picks)}
        combination = Combination(index, values, shown, _slug(index, width, keys, shows=shown, shorts=shorts))
        loaded = _check_combination(path, combination, seed)
        first = first or loaded
        topologies.append(_topology(loaded, contents))
        combinations.append(combination)
    try:  # sent to the workers; load_scenario has just read it
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), f"cannot read: {exc.strerror}") from None
    base = first.spec.seed
    return Plan(first, text, keys, tuple(combinations), tuple(base + i for i in range(replications)), tuple(topologies))


def _count(parsed: dict[str, list]) -> int:
    n = 1
    for values in parsed.values():
        n *= len(values)
    return n


def _short_names(keys: Sequence[str]) -> dict[str, str]:
    """A key's last part that is not an index (``monthly_price``), unless two keys would share it."""
    shorts = {k: next((p for p in reversed(k.split(".")) if not p.isdigit()), k) for k in keys}
    return shorts if len(set(shorts.values())) == len(keys) else {k: k for k in keys}


def _slug(index: int, width: int, keys: Sequence[str], *, shows: dict[str, str], shorts: dict[str, str]) -> str:
    """``03-monthly_price-12.90_customers-50``: numbered (so always unique), readable, safe as a folder name."""
    text = "_".join(f"{shorts[k]}-{shows[k]}" for k in keys)
    text = re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_.")[:80]
    number = f"{index + 1:0{width}d}"
    return f"{number}-{text}" if text else number


def _dotted(key: str) -> str:
    return re.sub(r"\[(\d+)\]", r".\1", key)


def _check_combination(path: Path, combination: Combination, seed: int | None) -> LoadedScenario:
    """The scenario with this combination's values, validated and its topology checked, as a run would."""
    try:
        loaded = load_scenario(path, seed=seed, overrides=combination.values)
        runner.prepare(loaded)
        from sim.backends import backend

        backend(loaded.spec.backend)
        return loaded
    except ScenarioError as exc:
        raise _named(exc, combination) from None


def _named(exc: ScenarioError, combination: Combination) -> TelcolabError:
    """A scenario error caused by a swept value names the ``--set`` and the value; any other stays the file's."""
    if not exc.key:
        return exc
    key = _dotted(exc.key)
    for swept, label in combination.labels.items():
        if key == swept or key.startswith(swept + ".") or swept.startswith(key + "."):
            where = "" if key == swept else f"{exc.key}: "
            return _option(f"--set {swept}={label}", f"{where}{exc.why}")
    return exc


def _topology(loaded: LoadedScenario, contents: dict[Path, bytes]) -> tuple[str, bytes, str] | None:
    """The topology file a combination runs on: its name, its content (read once) and its absolute path."""
    if loaded.spec.topology.file is None:
        return None
    where = loaded.resolve(loaded.spec.topology.file)
    if where not in contents:
        try:
            contents[where] = where.read_bytes()
        except OSError as exc:
            raise ScenarioError(str(loaded.path), f"cannot read {where}: {exc.strerror}", "topology.file") from None
    return where.name, contents[where], str(where)


# --- One run, wherever it runs -----------------------------------------------------------------------


@dataclass(frozen=True)
class RunTask:
    """What a worker needs for one run: texts and values, no path it would have to share with us.

    ``out`` is the run folder to write; on a worker of another machine it is a path on that
    machine (the same path: share the sweep folder's file system to see the runs here).
    """

    combination: int
    seed: int
    scenario_name: str
    scenario_text: str
    overrides: dict
    topology: tuple[str, bytes, str] | None  # file name, content, the path the run's scenario.yaml names
    out: str


@dataclass(frozen=True)
class RunOutcome:
    """What a worker sends back: the run's summary and where it wrote the run."""

    combination: int
    seed: int
    folder: str
    summary: dict


def run_task(task: RunTask) -> RunOutcome:
    """Run one combination with one seed from the texts the task carries.

    The scenario (and its topology file) are written to a temporary folder of the worker and
    loaded from there; the run's ``scenario.yaml`` then names the topology by the path it had
    where the sweep started, as a run started there would.
    """
    with tempfile.TemporaryDirectory(prefix="telcolab-sweep-") as tmp:
        scenario_file = Path(tmp) / task.scenario_name
        scenario_file.write_text(task.scenario_text, encoding="utf-8")
        overrides = dict(task.overrides)
        if task.topology is not None:
            name, content, _ = task.topology
            topology_file = Path(tmp) / "topology" / name
            topology_file.parent.mkdir()
            topology_file.write_bytes(content)
            overrides["topology.file"] = str(topology_file)
        loaded = load_scenario(scenario_file, seed=task.seed, overrides=overrides)
        result = runner.run(loaded, Path(task.out))
    if task.topology is not None:
        _name_topology(result.folder / "scenario.yaml", task.topology[2])
    return RunOutcome(task.combination, task.seed, str(result.folder), result.summary)


def _name_topology(scenario_yaml: Path, topology_path: str) -> None:
    data = yaml.safe_load(scenario_yaml.read_text(encoding="utf-8"))
    data["topology"]["file"] = topology_path
    partial = scenario_yaml.with_name(f".{scenario_yaml.name}.partial")
    partial.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    os.replace(partial, scenario_yaml)


# --- Executors: this process, a process pool, a Dask cluster ----------------------------------------


def _in_process(tasks: list[RunTask], take: Callable[[RunOutcome], None]) -> None:
    for task in tasks:
        take(run_task(task))


def _pool(tasks: list[RunTask], workers: int, take: Callable[[RunOutcome], None]) -> None:
    # forkserver: workers are forked from a clean server that has imported the simulator once, not
    # from this process (which may hold threads: a progress bar, a Dask client).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.sweep"])
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context)
    try:
        futures = [pool.submit(run_task, task) for task in tasks]
        for future in as_completed(futures):
            take(future.result())
    except BrokenProcessPool:
        raise BackendUnavailable("--workers: a worker process died (out of memory?); no results written") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # no worker left writing into a folder being removed


def scheduler_address(text: str) -> str:
    """A Dask scheduler address, checked (``host:port`` means ``tcp://host:port``).

    ``inproc://`` (a cluster in this process, as ``LocalCluster(processes=False)`` makes) has no port.
    """
    from distributed.comm.addressing import get_address_host_port, normalize_address, parse_address

    try:
        address = normalize_address(text.strip())
        if parse_address(address)[0] == "inproc":
            return address
        host, _ = get_address_host_port(address)
    except (ValueError, TypeError) as exc:
        raise _option("--scheduler", f"{text!r} is not a scheduler address like tcp://host:8786 ({exc})") from None
    if not host:
        raise _option("--scheduler", f"{text!r} names no host (like tcp://host:8786)")
    return address


def _dask(tasks: list[RunTask], address: str, take: Callable[[RunOutcome], None]) -> None:
    from distributed import Client, KilledWorker
    from distributed import as_completed as completed

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError):
        raise BackendUnavailable(f"--scheduler: cannot reach {address}") from None
    with client:
        futures = client.map(run_task, tasks, pure=False)
        try:
            for future in completed(futures, loop=client.loop):
                take(future.result())
        except ImportError as exc:  # a worker without telcolab cannot even read the task
            client.cancel(futures)
            raise BackendUnavailable(f"--scheduler: a worker of {address} cannot run telcolab (install it on "
                                     f"every worker): {exc}") from None  # fmt: skip
        except KilledWorker:
            client.cancel(futures)
            raise BackendUnavailable(f"--scheduler: a run killed the workers of {address} (out of memory?)") from None
        except BaseException:
            client.cancel(futures)
            raise


# --- The sweep ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its folder and what ``sweep.json`` holds."""

    folder: Path
    keys: tuple[str, ...]
    seeds: tuple[int, ...]
    combinations: list[dict]  # each: index, folder, values, labels, runs, metrics {key: {mean, ci95, values}}
    executor: dict  # kind ("process", "pool" or "dask"), workers, scheduler
    wall_seconds: float


def sweep(
    scenario_path: Path,
    sets: Mapping[str, Sequence],
    replications: int,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    seed: int | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run every combination of ``sets`` with ``replications`` seeds into ``out`` and tabulate them.

    ``workers`` processes run the sweep (default: one per core; 1: in this process), or the
    workers of the Dask cluster whose ``scheduler`` address is given. ``seed`` replaces the
    scenario's first seed. ``on_done(done, total)`` is called after each run.
    """
    started = time.perf_counter()
    if scheduler is not None and workers is not None:
        raise _option("--workers", "not with --scheduler: the Dask cluster's workers run the sweep")
    if workers is not None and workers < 1:
        raise _option("--workers", "must be at least 1")
    address = scheduler_address(scheduler) if scheduler is not None else None
    the_plan = plan(scenario_path, sets, replications, seed=seed)
    if address is not None:
        executor = {"kind": "dask", "workers": None, "scheduler": address}
    else:
        count = workers or os.cpu_count() or 1
        executor = {"kind": "process" if count == 1 else "pool", "workers": count, "scheduler": None}
    with RunFolder(out) as work:
        tasks = the_plan.tasks(work)
        summaries: dict[tuple[int, int], dict] = {}

        def take(outcome: RunOutcome) -> None:
            summaries[outcome.combination, outcome.seed] = outcome.summary
            if on_done is not None:
                on_done(len(summaries), len(tasks))

        if address is not None:
            _dask(tasks, address, take)
        elif executor["workers"] == 1:
            _in_process(tasks, take)
        else:
            _pool(tasks, executor["workers"], take)
        combinations = aggregate(the_plan, summaries)
        result = SweepResult(Path(out), the_plan.keys, the_plan.seeds, combinations, executor,
                             round(time.perf_counter() - started, 3))  # fmt: skip
        document = as_document(the_plan, result)
        write_json(work / "sweep.json", document)
        (work / "sweep.csv").write_text(as_csv(result), encoding="utf-8")
        from sim.sweep_plots import page

        (work / "sweep.html").write_text(page(document), encoding="utf-8")
    return result


def aggregate(the_plan: Plan, summaries: Mapping[tuple[int, int], dict]) -> list[dict]:
    """Per combination, in plan order: every figure found in all its runs, with mean and 95 % interval.

    A figure missing from one run (a count of an event type that never happened, an MTTR without
    tickets) is left out for that combination, as :mod:`sim.replications` does.
    """
    out = []
    for c in the_plan.combinations:
        leaves = [numeric_leaves(summaries[c.index, seed]) for seed in the_plan.seeds]
        metrics = {}
        for key in leaves[0]:
            if all(key in x for x in leaves):
                values = [x[key] for x in leaves]
                mean, low, high = mean_ci(values)
                metrics[key] = {"mean": mean, "ci95": [low, high], "values": values}
        out.append({
            "index": c.index,
            "folder": c.folder,
            "values": {k: _jsonable(v) for k, v in c.values.items()},
            "labels": dict(c.labels),
            "runs": [f"{c.folder}/seed-{seed}" for seed in the_plan.seeds],
            "metrics": metrics,
        })  # fmt: skip
    return out


def as_document(the_plan: Plan, result: SweepResult) -> dict:
    """``sweep.json``: the plan, the executor and the table (every figure of every combination)."""
    spec = the_plan.scenario.spec
    return {
        "scenario": spec.name,
        "file": str(the_plan.scenario.path),
        "backend": spec.backend,
        "simulated_days": spec.duration_days,
        "keys": list(result.keys),
        "seeds": list(result.seeds),
        "replications": len(result.seeds),
        "executor": result.executor,
        "wall_seconds": result.wall_seconds,
        "combinations": result.combinations,
    }


CSV_COLUMNS = ("metric", "n", "mean", "ci95_low", "ci95_high", "runs")


def as_csv(result: SweepResult) -> str:
    """``sweep.csv``: one row per combination and figure; the swept keys first, their values as written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*result.keys, *CSV_COLUMNS])
    for c in result.combinations:
        shown = [c["labels"][k] for k in result.keys]
        for metric, m in c["metrics"].items():
            writer.writerow([*shown, metric, len(m["values"]), repr(m["mean"]), repr(m["ci95"][0]),
                             repr(m["ci95"][1]), c["folder"]])  # fmt: skip
    return buffer.getvalue()


def key_table(result: SweepResult, figures: Sequence[str] | None = None) -> tuple[list[str], list[list[str]]]:
    """A header and rows for a terminal table: each combination's values and ``figures`` as ``mean [low .. high]``.

    Without ``figures``: the key figures that vary across the sweep (those plotted in ``sweep.html``).
    """
    if figures is None:
        from sim.sweep_plots import figures_of

        figures = figures_of({"combinations": result.combinations})[0]
    shown = [f for f in figures if all(f in c["metrics"] for c in result.combinations)]
    rows = []
    for c in result.combinations:
        cells = [c["labels"][k] for k in result.keys]
        for f in shown:
            m = c["metrics"][f]
            cells.append(f"{m['mean']:,.6g} [{m['ci95'][0]:,.6g} .. {m['ci95'][1]:,.6g}]")
        rows.append(cells)
    return [*result.keys, *shown], rows
