#!/usr/bin/env python3
"""Run a telcolab scenario: ``python run_scenario.py SCENARIO.yaml [options]``.

Exit codes: 0 the run succeeded (and every expectation held), 1 an
expectation failed, 2 the input was invalid or a part could not start (one
line on standard error says why).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from oss_bss.errors import TelcolabError
from sim import runner
from sim.scenario import load_scenario

EXIT_OK, EXIT_EXPECTATION, EXIT_INVALID = 0, 1, 2

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
out_console = Console()
err_console = Console(stderr=True)


def _default_out(name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("runs") / f"{name}-{stamp}"


def _summary_table(summary: dict, folder: Path) -> Table:
    table = Table(title=f"{summary['scenario']}: {summary['simulated_days']:g} simulated days "
                  f"in {summary['wall_seconds']:.1f} s, {summary['peak_memory_mb']:,.0f} MB peak", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    cur = summary["currency"]
    rows = [
        ("customers", f"{summary['customers']:,}"),
        ("orders submitted", f"{summary['orders']['submitted']:,}"),
        ("orders completed", f"{summary['orders']['completed']:,}"),
        ("orders failed / cancelled after fallout", f"{summary['orders']['failed']:,} / {summary['orders']['cancelled']:,}"),
        ("services active", f"{summary['services']['active']:,}"),
        ("usage records", f"{summary['usage']['records']:,}"),
        ("usage volume", f"{summary['usage']['volume_bytes'] / 1e12:,.2f} TB"),
        ("invoices", f"{summary['invoices']['count']:,}"),
        ("revenue invoiced", f"{summary['revenue']['invoiced']} {cur}"),
        ("usage not yet billed", f"{summary['revenue']['unbilled_usage']} {cur}"),
        ("MRR / ARPU", f"{summary['revenue']['mrr']} / {summary['revenue']['arpu']} {cur}"),
        ("churn rate", f"{summary['churn']['rate']:.2%}"),
        *([("prepaid charged online", f"{summary['prepaid']['charged']} {cur}"),
           ("prepaid cut-offs", f"{summary['prepaid']['cutoffs']:,}")] if summary["prepaid"]["accounts"] else []),
        ("events", f"{summary['events']['count']:,}"),
        ("results", str(folder)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


KEY_FIGURES = (
    "orders.completed", "orders.failed", "services.active", "usage.volume_bytes", "revenue.invoiced",
    "availability.network", "availability.services", "performance.services.latency_ms.p95",
)  # fmt: skip


def _replicate(loaded, folder: Path, count: int, db: Optional[str], quiet: bool) -> list[int]:
    """Run the replications, show their table; the seeds whose run failed an expectation."""
    from sim.replications import run_replications

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed} of {task.total} seeds"),
        TimeElapsedColumn(), console=err_console, disable=quiet, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task(loaded.spec.name, total=count)
        summary = run_replications(loaded, folder, count, db_url=db, on_done=lambda n: progress.update(task, completed=n))
    failed = summary["replications"]["expectations_failed_in"]
    if quiet:
        out_console.print(str(folder), highlight=False)
        return failed
    metrics = summary["replications"]["metrics"]
    table = Table(title=f"{loaded.spec.name}: {count} replications in {summary['wall_seconds']:.1f} s")
    for column, justify in (("figure", "left"), ("mean", "right"), ("95 % interval", "right")):
        table.add_column(column, justify=justify)
    for key in KEY_FIGURES + tuple(k for k in metrics if k.startswith("blocking.per_class")):
        if key in metrics:
            m = metrics[key]
            table.add_row(key, f"{m['mean']:,.6g}", f"{m['ci95'][0]:,.6g} .. {m['ci95'][1]:,.6g}")
    table.add_row("results", str(folder), "")
    out_console.print(table)
    return failed


@app.command()
def main(
    scenario: Annotated[Path, typer.Argument(help="The scenario file (YAML).", show_default=False, metavar="SCENARIO")],
    out: Annotated[Optional[Path], typer.Option(help="Folder for the results [default: runs/<name>-<UTC time>].")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Override the scenario's seed.", min=0)] = None,
    backend: Annotated[Optional[str], typer.Option(help="Override the network backend (sim).")] = None,
    db: Annotated[Optional[str], typer.Option(help="SQLAlchemy database URL [default: run.db in the folder].")] = None,
    replications: Annotated[int, typer.Option(help="Run N seeds (seed, seed+1, ...) and report 95 % intervals.", min=1)] = 1,
    check: Annotated[bool, typer.Option("--check", help="Validate the scenario and exit without running.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    serve: Annotated[bool, typer.Option("--serve", help="Serve the TMF APIs and the dashboard while it runs, and after.")] = False,
    port: Annotated[int, typer.Option(help="Port for --serve (127.0.0.1).", min=1, max=65535)] = 8000,
    pace: Annotated[float, typer.Option(help="With --serve: real seconds per simulated hour.", min=0.001)] = 1.0,
) -> None:
    """Run a scenario and write its results; exit 1 when one of its expectations failed."""
    try:
        loaded = load_scenario(scenario, seed=seed, backend=backend)
        if check:
            from sim.backends import backend as find_backend

            find_backend(loaded.spec.backend)
            runner.prepare(loaded)
            err_console.print(f"{scenario}: ok", highlight=False)
            raise typer.Exit(EXIT_OK)
        folder = out or _default_out(loaded.spec.name)
        if replications > 1:
            failed = _replicate(loaded, folder, replications, db, quiet)
            if failed:
                err_console.print(f"FAILED: expectations failed in the runs of seeds {', '.join(map(str, failed))} "
                                  f"(their expectations.json)", highlight=False)  # fmt: skip
                raise typer.Exit(EXIT_EXPECTATION)
            return
        total = loaded.spec.duration_seconds
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("day {task.fields[day]:.1f} of {task.fields[days]:g}"),
            TimeElapsedColumn(),
            console=err_console,
            disable=quiet,
            transient=True,
        ) as progress:
            task = progress.add_task(loaded.spec.name, total=total, day=0.0, days=loaded.spec.duration_days)

            def tick(now: float) -> None:
                progress.update(task, completed=now, day=now / 86_400)

            if serve:
                result = _served(loaded, folder, db, tick, port, pace)
            else:
                result = runner.run(loaded, folder, db_url=db, on_tick=tick)
        if not quiet:
            out_console.print(_summary_table(result.summary, result.folder))
        else:
            out_console.print(str(result.folder), highlight=False)
        _show_verdict(result.verdict, quiet)
        if serve:
            err_console.print("the run is over; still serving (Ctrl-C stops)", highlight=False)
            while True:
                time.sleep(3600)
        if not result.passed:
            raise typer.Exit(EXIT_EXPECTATION)
    except TelcolabError as exc:
        err_console.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    except KeyboardInterrupt:
        err_console.print("interrupted: no results written", highlight=False)
        raise typer.Exit(130) from None


def _show_verdict(verdict, quiet: bool) -> None:
    """Each expectation passed or failed; a failure says what was expected, measured and the evidence."""
    if not verdict.outcomes:
        return
    if not quiet:
        table = Table(title=f"expectations: {len(verdict.outcomes) - len(verdict.failed)} of "
                            f"{len(verdict.outcomes)} held", title_justify="left")  # fmt: skip
        for column in ("", "expectation", "measured"):
            table.add_column(column)
        for o in verdict.outcomes:
            table.add_row("[green]pass[/]" if o.passed else "[red]FAIL[/]", o.name, o.measured)
        out_console.print(table)
    for o in verdict.failed:
        err_console.print(f"FAILED {o.name}: {o.explain()}", highlight=False, markup=False, soft_wrap=True)


def _served(loaded, folder, db, tick, port: int, pace: float):
    """Run with the API and dashboard served; the server keeps going after the run (until Ctrl-C)."""
    import threading

    from oss_bss.api.access import AccessKeys
    from sim.serving import ApiServer

    lock = threading.RLock()
    servers = []

    def start(operator):
        keys = AccessKeys(customers=lambda cid: cid in operator.records.customers)
        server = ApiServer(operator, keys, lock, port)
        server.start()
        servers.append(server)
        err_console.print(f"serving {server.url}/ (dashboard: {server.url}/?key={keys.operator_key}) "
                          f"and {server.url}/docs; operator key: {keys.operator_key}", highlight=False)  # fmt: skip

    result = runner.run(loaded, folder, db_url=db, on_tick=tick, lock=lock, pace=pace, on_start=start)
    with lock:  # the results are written: what is served from now on is the finished run, read-only
        for server in servers:
            server.app.state.read_only = True
    return result


tools = typer.Typer(add_completion=False, pretty_exceptions_enable=False, help="Work with finished runs.")


@tools.command("invoice")
def invoice(
    rundir: Annotated[Path, typer.Argument(help="A run's folder.", show_default=False)],
    bill_id: Annotated[str, typer.Argument(help="The bill's id, e.g. BILL-000001.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option(help="Write the page here [default: print it].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The TMF678 CustomerBill instead of the page.")] = False,
    db: Annotated[Optional[str], typer.Option(help="The run's database URL, if not run.db in the folder.")] = None,
) -> None:
    """An invoice from what the run stored: a page a customer can read, or TMF678 JSON."""
    import json

    from oss_bss.adapters import invoices

    try:
        summary_file = rundir / "summary.json"
        if not summary_file.is_file():
            raise TelcolabError(f"{rundir}: not a run folder (no summary.json)")
        summary = json.loads(summary_file.read_text())
        stored = invoices.load(db or f"sqlite:///{rundir / 'run.db'}", bill_id, invoices.epoch_of(summary["start"]))
        text = json.dumps(invoices.tmf678(stored), indent=2) if as_json else invoices.html(stored)
        if out is None:
            print(text)
        else:
            out.write_text(text, encoding="utf-8")
            err_console.print(str(out), highlight=False)
    except TelcolabError as exc:
        err_console.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None


@tools.command("serve")
def serve_run(
    rundir: Annotated[Path, typer.Argument(help="A finished run's folder.", show_default=False)],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.", min=1, max=65535)] = 8000,
    db: Annotated[Optional[str], typer.Option(help="The run's database URL, if not run.db in the folder.")] = None,
) -> None:
    """Serve a finished run's TMF APIs and dashboard, read-only (Ctrl-C stops)."""
    import threading

    from oss_bss.api.access import AccessKeys
    from sim.serving import ApiServer
    from sim.stored_run import StoredRun

    try:
        stored = StoredRun(rundir, db)
        keys = AccessKeys(customers=lambda cid: cid in stored.records.customers)
        server = ApiServer(stored, keys, threading.RLock(), port, read_only=True)
        server.start()
    except TelcolabError as exc:
        err_console.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    err_console.print(f"serving {rundir} read-only at {server.url}/ (dashboard: {server.url}/?key={keys.operator_key}) "
                      f"and {server.url}/docs; operator key: {keys.operator_key}", highlight=False)  # fmt: skip
    try:
        while server.thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        server.stop()


def _fail(exc: TelcolabError) -> typer.Exit:
    err_console.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
    return typer.Exit(EXIT_INVALID)


@tools.command("report")
def report(
    rundir: Annotated[Path, typer.Argument(help="A run's folder.", show_default=False)],
    db: Annotated[Optional[str], typer.Option(help="The run's database URL, if not run.db in the folder.")] = None,
) -> None:
    """Write the run's report.html again (plots, key figures, expectations, a customer's journey)."""
    from sim.report import write_report

    try:
        out_console.print(str(write_report(rundir, db)), highlight=False)
    except TelcolabError as exc:
        raise _fail(exc) from None


@tools.command("compare")
def compare_runs(
    run_a: Annotated[Path, typer.Argument(help="The first run's folder (A).", show_default=False)],
    run_b: Annotated[Path, typer.Argument(help="The second run's folder (B).", show_default=False)],
    out: Annotated[Path, typer.Option(help="Where to write the page (a file, or a folder for compare.html).")] = Path(
        "compare.html"),
    every: Annotated[bool, typer.Option("--all", help="Show every figure, not only those that differ.")] = False,
) -> None:
    """Two runs side by side: every figure with B - A, and compare.html with the plots overlaid."""
    from sim.report import compare, compare_rows

    try:
        rows = compare_rows(run_a, run_b)
        page = compare(run_a, run_b, out)
    except TelcolabError as exc:
        raise _fail(exc) from None
    shown = [r for r in rows if every or r.differs]
    table = Table(title=f"A: {run_a}  B: {run_b}  ({sum(r.differs for r in rows)} of {len(rows)} figures differ)",
                  title_justify="left")  # fmt: skip
    for column, justify in (("figure", "left"), ("A", "right"), ("B", "right"), ("B - A", "right"), ("%", "right")):
        table.add_column(column, justify=justify)
    for row in shown:
        table.add_row(*row.cells())
    out_console.print(table)
    out_console.print(str(page), highlight=False)


@tools.command("trace")
def trace(
    rundir: Annotated[Path, typer.Argument(help="A run's folder.", show_default=False)],
    customer: Annotated[Optional[str], typer.Option(help="The customer's id [default: the richest journey].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The journey as JSON.")] = False,
    db: Annotated[Optional[str], typer.Option(help="The run's database URL, if not run.db in the folder.")] = None,
) -> None:
    """One customer's journey through the operator's processes (eTOM), with the records each domain holds."""
    import json

    from sim import journey

    try:
        ident = customer or journey.default_customer(rundir, db)
        if ident is None:
            raise TelcolabError(f"{rundir}: the run has no customer to trace")
        found = journey.trace(rundir, ident, db)
    except TelcolabError as exc:
        raise _fail(exc) from None
    if as_json:
        print(json.dumps(journey.to_json(found), indent=2))
    else:
        # A terminal's width; 100 columns when piped or redirected (rich would take 80).
        console = out_console if out_console.is_terminal else Console(width=100)
        console.print(journey.render_text(found, width=min(console.width, 120)))


@tools.command("check")
def check_run(
    rundir: Annotated[Path, typer.Argument(help="A finished run's folder.", show_default=False)],
    scenario: Annotated[Optional[Path], typer.Option(help="Take the expectations from this scenario file "
                                                         "[default: the run's scenario.yaml].")] = None,
    db: Annotated[Optional[str], typer.Option(help="The run's database URL, if not run.db in the folder.")] = None,
) -> None:
    """Check expectations against a finished run without running it again; exit 1 when one fails."""
    from sim.expectations import evaluate
    from sim.report.data import open_run

    try:
        open_run(rundir, db).close()  # a folder that is not a run is named, with what it misses
        source = scenario or rundir / "scenario.yaml"
        expect = _expectations_of(source)
        if not expect:
            raise TelcolabError(f"{source}: no expectations (an 'expect:' list) to check")
        verdict = evaluate(rundir, expect, db_url=db)
    except TelcolabError as exc:
        raise _fail(exc) from None
    _show_verdict(verdict, quiet=False)
    if not verdict.passed:
        raise typer.Exit(EXIT_EXPECTATION)


def _expectations_of(path: Path):
    """The ``expect:`` list of a scenario file, validated as a run would validate it."""
    import yaml
    from pydantic import TypeAdapter, ValidationError

    from oss_bss.errors import ScenarioError
    from sim.expectations import Expectation
    from sim.scenario import scenario_error

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(str(path), f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), f"YAML syntax error: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(str(path), "a scenario must be a mapping of keys to values")
    try:
        return TypeAdapter(list[Expectation]).validate_python(data.get("expect") or [])
    except ValidationError as exc:
        error = scenario_error(path, exc)
        raise ScenarioError(str(path), error.why, f"expect{error.key if error.key.startswith('[') else ''}") from None


@tools.command("sweep")
def sweep_command(
    scenario: Annotated[Path, typer.Argument(help="The scenario file (YAML).", show_default=False)],
    sets: Annotated[list[str], typer.Option("--set", help="KEY=V1,V2,...: a dotted key and the values to sweep "
                                                          "(repeat for more keys: every combination runs).")],
    replications: Annotated[int, typer.Option(help="Seeds per combination (seed, seed+1, ...).", min=1)] = 1,
    workers: Annotated[Optional[int], typer.Option(help="Local processes [default: one per core].", min=1)] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Run on this Dask cluster (tcp://host:8786).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder for the sweep [default: runs/<name>-sweep-<UTC time>].")] = None,
    seed: Annotated[Optional[int], typer.Option(help="The first seed [default: the scenario's].", min=0)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
) -> None:
    """Every combination of the --set values with N seeds: mean and 95 % interval per figure, with plots."""
    from sim.sweep import key_table, parse_sets, sweep

    try:
        parsed = parse_sets(sets)
        folder = out or _default_out(f"{scenario.stem}-sweep")
        # Shown from the first finished run on: the sweep checks every combination before it runs any, and
        # a mistake found then is one line, with no bar drawn before it.
        progress = Progress(TextColumn("[bold]sweep"), BarColumn(), TextColumn("{task.completed} of {task.total} runs"),
                            TimeElapsedColumn(), console=err_console, disable=quiet, transient=True)  # fmt: skip
        task = progress.add_task("sweep", total=None)

        def done(n: int, total: int) -> None:
            if not progress.live.is_started:
                progress.start()
            progress.update(task, completed=n, total=total)

        try:
            result = sweep(scenario, parsed, replications, folder, workers=workers, scheduler=scheduler, seed=seed,
                           on_done=done)  # fmt: skip
        finally:
            if progress.live.is_started:
                progress.stop()
    except TelcolabError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        err_console.print("interrupted: no results written", highlight=False)
        raise typer.Exit(130) from None
    if quiet:
        out_console.print(str(result.folder), highlight=False)
        return
    # One block of rows per combination (the figures that vary across the sweep): readable at any width.
    header, rows = key_table(result)
    keys = len(result.keys)
    table = Table(title=f"{len(result.combinations)} combinations x {len(result.seeds)} seeds in "
                        f"{result.wall_seconds:.1f} s", title_justify="left")  # fmt: skip
    for column, justify in (("figure", "left"), ("mean [95 % interval]", "right")):
        table.add_column(column, justify=justify)
    for row in rows:
        table.add_section()
        table.add_row(", ".join(f"{k}={v}" for k, v in zip(header[:keys], row[:keys])), "", style="bold")
        for figure, cell in zip(header[keys:], row[keys:]):
            table.add_row(f"  {figure}", cell)
    out_console.print(table)
    out_console.print(f"{result.folder}/sweep.html, sweep.csv, sweep.json", highlight=False)


@tools.command("schema")
def schema(
    out: Annotated[Optional[Path], typer.Option(help="Write it here [default: print it].")] = None,
) -> None:
    """The JSON Schema of a scenario file (scenarios/schema.json), for editors to complete and check scenarios."""
    import json

    from sim.scenario import json_schema

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        err_console.print(str(out), highlight=False)


TOOLS = {"invoice", "serve", "report", "compare", "trace", "check", "sweep", "schema"}


def _interrupt(signum, frame):
    """SIGTERM ends a run like Ctrl-C: the half-written run folder is removed."""
    raise KeyboardInterrupt


def entry() -> int | None:
    """``run_scenario.py SCENARIO ...`` runs a scenario; ``run_scenario.py sweep ...`` runs many;
    ``report``, ``compare``, ``trace``, ``check``, ``invoice`` and ``serve`` work with finished runs."""
    import signal

    signal.signal(signal.SIGTERM, _interrupt)
    if len(sys.argv) > 1 and sys.argv[1] in TOOLS:
        return tools(args=sys.argv[1:], prog_name="run_scenario.py")
    return app()


if __name__ == "__main__":
    sys.exit(entry())
