"""``report.html``: one run on one self-contained page, for an architect or a trainer.

The scenario (name, description, seed), a table of the summary's key figures, and plots: the
order funnel, active services over time, link utilisation as a heat map, the alarms and incidents
timeline, the time-to-restore distribution, revenue by month and customer experience by segment,
each with the figures behind it as a table (``data-*`` attributes carry exact values, money as
Decimal text). Then one customer's journey. The page loads nothing: no script, font or image
from elsewhere; the plots are inline SVG.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
from markupsafe import Markup

from sim.report import data, plots
from sim.report.files import pages, write_atomically

REPORT = "report.html"
MAX_INCIDENT_ROWS = 25

# (label, dotted key in summary.json, how to show it); a key the summary lacks is left out.
KEY_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("customers", "customers", "int"),
    ("orders submitted", "orders.submitted", "int"),
    ("orders completed", "orders.completed", "int"),
    ("orders failed / cancelled", "orders.failed|orders.cancelled", "int"),
    ("fallout retries", "orders.fallout_retries", "int"),
    ("services active at the end", "services.active", "int"),
    ("services modified / moved / cancelled", "changes.modified|changes.moved|changes.cancelled", "int"),
    ("usage records", "usage.records", "int"),
    ("usage volume", "usage.volume_bytes", "bytes"),
    ("invoices", "invoices.count", "int"),
    ("revenue invoiced", "revenue.invoiced", "money"),
    ("usage not yet billed", "revenue.unbilled_usage", "money"),
    ("MRR", "revenue.mrr", "money"),
    ("ARPU", "revenue.arpu", "money"),
    ("cash collected", "revenue.collected", "money"),
    ("receivables", "revenue.receivables", "money"),
    ("DSO", "revenue.dso_days", "days"),
    ("revenue leakage", "revenue_assurance.leakage", "money"),
    ("prepaid charged online", "prepaid.charged", "money"),
    ("churn rate", "churn.rate", "percent"),
    ("dunning reminders / services suspended / terminated", "dunning.reminders|dunning.suspended|dunning.terminated", "int"),
    ("alarms raised (root causes)", "alarms.raised|alarms.root_causes", "int"),
    ("incidents", "incidents.count", "int"),
    ("trouble tickets opened", "tickets.opened", "int"),
    ("mean time to restore (tickets)", "tickets.mttr_hours", "hours"),
    ("SLA breaches", "sla.breaches", "int"),
    ("SLA credits", "sla.credits", "money"),
    ("network availability", "availability.network", "availability"),
    ("service availability", "availability.services", "availability"),
    ("link utilisation mean / peak", "performance.links.utilisation.mean|performance.links.utilisation.max", "percent"),
    ("busiest link", "performance.links.utilisation.busiest", "text"),
    ("service latency mean / p95", "performance.services.latency_ms.mean|performance.services.latency_ms.p95", "ms"),
    ("customer experience index (mean)", "experience.mean", "float"),
    ("events logged", "events.count", "int"),
    ("wall time of the run", "wall_seconds", "seconds"),
)  # fmt: skip


def _get(summary: dict, key: str):
    node = summary
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def show(value, kind: str, currency: str = "") -> str:
    """A figure as a reader wants it: thousands separated, money to the cent with its currency, shares in %."""
    if value is None:
        return "n/a"
    if kind == "int":
        return f"{value:,}"
    if kind == "money":
        return f"{Decimal(value):,.2f} {currency}".strip()
    if kind == "bytes":
        for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
            if value >= size:
                return f"{value / size:,.2f} {unit}"
        return f"{value:,} B"
    if kind == "percent":
        return f"{value:.2%}"
    if kind == "availability":
        return f"{value:.4%}"
    if kind == "hours":
        return f"{value:,.2f} h"
    if kind == "days":
        return f"{value:,.1f} days"
    if kind == "ms":
        return f"{value:,.2f} ms"
    if kind == "seconds":
        return f"{value:,.1f} s"
    if kind == "float":
        return f"{value:,.2f}"
    return str(value)


def key_figures(summary: dict) -> list[tuple[str, str]]:
    rows = []
    for label, keys, kind in KEY_FIGURES:
        values = [_get(summary, k) for k in keys.split("|")]
        if all(v is None for v in values):
            continue
        if keys.startswith("prepaid.") and not _get(summary, "prepaid.accounts"):
            continue
        rows.append((label, " / ".join(show(v, kind, summary.get("currency", "")) for v in values)))
    return rows


def _plot(ident: str, title: str, svg: str | None, empty: str, note: str = "") -> dict:
    return {"id": ident, "title": title, "svg": Markup(svg) if svg is not None else None, "empty": empty,
            "note": note}  # fmt: skip


def _hours(values: np.ndarray) -> dict:
    if not len(values):
        return {"count": 0, "median": "", "p90": "", "max": "", "mean": "", "exact_mean": None}
    return {"count": len(values), "median": f"{np.median(values):,.2f}", "p90": f"{np.percentile(values, 90):,.2f}",
            "max": f"{values.max():,.2f}", "mean": f"{values.mean():,.2f}",
            "exact_mean": float(values.mean())}  # fmt: skip


def _when(run: data.Run, at: float | None) -> str:
    return "still open" if at is None else run.calendar.to_datetime(at).strftime("%Y-%m-%d %H:%M")


def expectations(folder: Path) -> dict | None:
    """What ``expectations.json`` holds (written after the run when the scenario had expectations), or None."""
    import json

    path = Path(folder) / "expectations.json"
    if not path.is_file():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise data.NotARunFolder(Path(folder), f"expectations.json is not valid JSON ({exc})") from None
    return found if isinstance(found, dict) and "expectations" in found else None


def journey_section(folder: Path, db_url: str | None = None) -> dict:
    """The journey of the customer whose journey crosses the most processes, for a trainer (:mod:`sim.journey`)."""
    from sim import journey

    customer = journey.default_customer(folder, db_url)
    if customer is None:
        return {"available": False, "customer": None, "html": None}
    return {"available": True, "customer": customer, "html": journey.render_html(journey.trace(folder, customer, db_url))}


def _links_note(kpis: data.LinkKpis) -> str:
    if not kpis.utilisation.size:
        return ""
    shown, every = len(plots.busiest_links(kpis)), len(kpis.link_ids)
    which = f"All {every} links" if shown == every else f"The {shown} busiest of {every} links"
    return (f"{which}, busiest (highest peak) at the top; one column per interval; colour from 0 to the run's peak, "
            f"{float(kpis.utilisation.max()):.2%} of a link's capacity.")


def _timeline_note(alarms: list[data.AlarmSpan], incidents: list[data.IncidentSpan], end: float) -> str:
    if not alarms and not incidents:
        return ""
    shown, objects = plots.timeline_rows(alarms, incidents, end)
    alarmed = len({a.object for a in alarms})
    note = (f"{len(incidents)} incident{'s' if len(incidents) != 1 else ''} and {len(alarms)} "
            f"alarm{'s' if len(alarms) != 1 else ''} on {alarmed} object{'s' if alarmed != 1 else ''}")
    if len(shown) < len(incidents) or len(objects) < alarmed:
        note += f"; shown: the {len(shown)} longest incidents and the {len(objects)} objects alarmed longest"
    return note + ". Hatched: planned work; outlined: root-cause alarms; a bar is at least 1/400 of the run wide."


def render(run: data.Run) -> str:
    """The report page of ``run``."""
    s = run.summary
    funnel = data.funnel(run)
    services = data.service_series(run)
    kpis = data.link_kpis(run)
    alarms, incidents = data.alarms(run), data.incidents(run)
    restore = data.restore_times(run)
    months = data.revenue_by_month(run)
    experience = data.experience(run)

    links_note = _links_note(kpis)
    timeline_note = _timeline_note(alarms, incidents, run.duration)
    figures = [
        _plot("funnel", "Order funnel", plots.funnel_plot(funnel), "No product order was submitted in this run.",
              "Stages each order reached (every order is acknowledged and decomposed when submitted), then where "
              "the orders stand at the end of the run."),
        _plot("services", "Active services over time", plots.services_plot(services, run.calendar),
              "No service was active at any time in this run.",
              "Services activated and not terminated, less those suspended (non-payment, customer request, prepaid "
              "balance), hourly."),
        _plot("utilisation", "Link utilisation", plots.utilisation_heatmap(kpis, run.calendar),
              "No link KPIs were recorded in this run (no interval of traffic ended).", links_note),
        _plot("assurance", "Alarms and incidents", plots.assurance_timeline(alarms, incidents, run.calendar,
                                                                            run.duration),
              "No alarm was raised and no incident opened: the network had no fault in this run.", timeline_note),
        _plot("restore", "Time to restore", plots.restore_plot(restore),
              "Nothing was restored in this run: no trouble ticket or unplanned incident was resolved.",
              "Trouble tickets: from the customer's ticket to restoration; incidents: from the root alarm to "
              "resolution (planned work left out)."),
        _plot("revenue", "Revenue by month", plots.revenue_plot(months, run.currency),
              "No bill was issued in this run (no bill cycle closed before its end).",
              "The bills issued each month, summed exactly; prepaid charges are taken online and are not billed."),
        _plot("experience", "Customer experience by segment", plots.experience_plot(experience),
              "No customer experience index was measured (one is stored per account at each bill run).",
              "One index per account and bill period; box: quartiles, whiskers: 5th to 95th percentile, dot: mean."),
    ]  # fmt: skip
    incident_rows = [
        {"id": i.id, "root": i.root_object, "planned": i.planned, "opened": _when(run, i.opened),
         "resolved": _when(run, i.resolved),
         "hours": "" if i.resolved is None else f"{(i.resolved - i.opened) / 3600:,.2f}", "services": i.services,
         "customers": i.customers, "at_risk": show(i.revenue_at_risk, "money", run.currency)}
        for i in incidents[:MAX_INCIDENT_ROWS]
    ]  # fmt: skip
    experience_rows = [
        {"segment": k, "count": len(v), "mean": f"{v.mean():.2f}", "p5": f"{np.percentile(v, 5):.2f}",
         "median": f"{np.median(v):.2f}", "min": f"{v.min():.2f}",
         "full": f"{(v >= 100.0).mean():.1%}"}
        for k, v in experience.items() if len(v)
    ]  # fmt: skip
    return pages.get_template("report.html").render(
        run=run, s=s, figures={f["id"]: f for f in figures}, key_figures=key_figures(s),
        funnel=funnel, stage_labels=plots.STAGE_LABELS, outcome_labels=plots.OUTCOME_LABELS,
        services_end={"active": int(services.active[-1]), "suspended": int(services.suspended[-1])},
        months=months, total_invoiced=sum((m.invoiced for m in months), Decimal(0)),
        total_paid=sum((m.paid for m in months), Decimal(0)),
        incidents=incident_rows, incidents_more=max(0, len(incidents) - MAX_INCIDENT_ROWS),
        restore={"tickets": _hours(restore.tickets), "incidents": _hours(restore.incidents),
                 "tickets_open": restore.tickets_open, "incidents_open": restore.incidents_open},
        experience=experience_rows, journey=journey_section(run.folder, run.db_url), expectations=expectations(run.folder),
        start=run.calendar.epoch.strftime("%Y-%m-%d"),
    )  # fmt: skip


def write_report(folder: Path, db_url: str | None = None) -> Path:
    """Write ``report.html`` into the run folder ``folder`` (atomically) and return its path.

    ``db_url``: the database the run was written to, when not ``run.db`` in the folder.
    Raises :class:`~sim.report.data.NotARunFolder` naming the folder and the part it misses.
    """
    with data.open_run(Path(folder), db_url) as run:
        text = render(run)
    return write_atomically(Path(folder) / REPORT, text)

