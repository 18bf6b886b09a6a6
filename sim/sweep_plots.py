"""``sweep.html``: a sweep's key figures against the swept values, one self-contained page.

Each key figure is a plot (inline SVG drawn by matplotlib's Agg backend, no pyplot state): its
mean with the 95 % interval as error bars, against the first swept key's values, one line for
each combination of the other keys' values. A number axis when every value of the first key is a
number, one tick per value otherwise. The page needs no network and no file beside it, except the
links to each run's folder.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from markupsafe import Markup
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.report.files import pages
from sim.report.plots import style

KEY_FIGURES = (
    "orders.completed", "orders.failed", "orders.cancelled", "services.active", "usage.volume_bytes",
    "revenue.invoiced", "revenue.mrr", "revenue.arpu", "churn.rate", "availability.network",
    "availability.services", "tickets.mttr_hours", "sla.breaches", "sla.credits", "experience.mean",
    "performance.services.latency_ms.p95",
)  # fmt: skip



def figures_of(document: dict) -> tuple[list[str], dict[str, float]]:
    """The key figures every combination has (and each service class's blocking), in a fixed order:
    those that vary, to plot, and those with one value in every run of the sweep (figure -> value)."""
    combinations = document["combinations"]
    every = [k for k in combinations[0]["metrics"] if all(k in c["metrics"] for c in combinations)]
    blocking = [k for k in every if k.startswith("blocking.per_class.")]
    varying, constant = [], {}
    for key in [k for k in KEY_FIGURES if k in every] + blocking:
        values = {v for c in combinations for v in c["metrics"][key]["values"]}
        if len(values) == 1:
            constant[key] = values.pop()
        else:
            varying.append(key)
    return varying, constant


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Same sweep, same bytes: no date, fixed ids; text as text (the browser's font), a tenth of the size of glyph paths.
STYLE = {"svg.hashsalt": "telcolab-sweep", "svg.fonttype": "none"}


def plot_svg(document: dict, metric: str) -> str:
    """``metric``'s mean and 95 % interval against the first swept key, as an ``<svg>`` element."""
    with style(STYLE):  # drawn and written under one setting, which no other thread changes meanwhile
        return _plot_svg(document, metric)


def _plot_svg(document: dict, metric: str) -> str:
    keys: Sequence[str] = document["keys"]
    x_key, others = keys[0], keys[1:]
    combinations = document["combinations"]
    x_labels = list(dict.fromkeys(c["labels"][x_key] for c in combinations))
    x_value = {c["labels"][x_key]: c["values"][x_key] for c in combinations}
    numeric = all(_is_number(x_value[label]) for label in x_labels)
    lines: dict[tuple[str, ...], list[dict]] = {}
    for c in combinations:
        lines.setdefault(tuple(c["labels"][k] for k in others), []).append(c)
    fig = Figure(figsize=(6.4, 3.4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    spread = 0.06 if not numeric and len(lines) > 1 else 0.0  # side by side at a shared tick
    for n, (line, members) in enumerate(lines.items()):
        points = sorted(
            ((x_value[c["labels"][x_key]] if numeric else x_labels.index(c["labels"][x_key]) + spread *
              (n - (len(lines) - 1) / 2), c["metrics"][metric]) for c in members),
            key=lambda p: p[0],
        )  # fmt: skip
        xs = [x for x, _ in points]
        means = [m["mean"] for _, m in points]
        below = [m["mean"] - m["ci95"][0] for _, m in points]
        above = [m["ci95"][1] - m["mean"] for _, m in points]
        # One other key: its name titles the legend and each line is its value.
        label = (line[0] if len(others) == 1 else ", ".join(f"{k} = {v}" for k, v in zip(others, line))) or None
        ax.errorbar(xs, means, yerr=[below, above], marker="o", markersize=4, capsize=4, linewidth=1.2, label=label)
    if not numeric:
        ax.set_xticks(range(len(x_labels)), x_labels)
    elif len(x_labels) <= 12:  # a tick at each swept value, written as the user wrote it
        ax.set_xticks([x_value[label] for label in x_labels], x_labels)
    ax.set_xlabel(x_key)
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    if others:
        ax.legend(fontsize="small", title=others[0] if len(others) == 1 else None, title_fontsize="small")
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _cell(m: dict) -> str:
    return f"{m['mean']:,.6g} [{m['ci95'][0]:,.6g} .. {m['ci95'][1]:,.6g}]"


def page(document: dict) -> str:
    """The sweep's page from its ``sweep.json`` document."""
    figures, constant = figures_of(document)
    plots = [{"metric": f, "svg": Markup(plot_svg(document, f))} for f in figures]
    rows = [
        {"labels": [c["labels"][k] for k in document["keys"]], "cells": [_cell(c["metrics"][f]) for f in figures],
         "runs": [(run.rsplit("/", 1)[-1], run) for run in c["runs"]]}
        for c in document["combinations"]
    ]  # fmt: skip
    return pages.get_template("sweep.html").render(doc=document, figures=figures, plots=plots, rows=rows,
                                                  constant={k: f"{v:,.6g}" for k, v in constant.items()})
