"""The plots of a run's report and of a comparison of two runs, each an inline ``<svg>`` element.

Drawn by matplotlib's Agg backend on a figure of their own (no pyplot state, safe in any thread);
text is kept as text (the browser's font, no glyph paths), a heat map as an embedded PNG, and the
SVG ids are salted with a fixed text and carry no date, so the same run gives the same page. A plot
whose data is empty returns None: the page says so in words instead of drawing an empty axis.

Time axes are calendar dates in a report and days from the start in a comparison (two runs may
start on different dates). Money arrives as Decimal and becomes float only here, to be drawn.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from collections.abc import Callable, Sequence
from typing import ParamSpec

import numpy as np
from matplotlib import dates as mdates
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from oss_bss.periods import DAY, Calendar
from sim.report.data import (AlarmSpan, Funnel, IncidentSpan, LinkKpis, Month, RestoreTimes,
                             ServiceSeries)  # fmt: skip

WIDTH = 9.0  # inches; 100 dpi
# Same run, same bytes: SVG ids salted with a fixed text; text as text (the browser's font, a tenth of glyph paths).
STYLE = {"font.size": 9.0, "svg.hashsalt": "telcolab-report", "svg.fonttype": "none"}
BLUE, ORANGE, RED, GREY, GREEN, PURPLE = "#2f6db5", "#e08a1e", "#c8372d", "#8a93a3", "#3a9a5b", "#7a4bb0"
RUN_COLOURS = (BLUE, ORANGE)  # run A, run B in a comparison
SEVERITY = {"critical": RED, "major": ORANGE, "minor": "#e3c23a", "warning": "#4f9bd9", "indeterminate": GREY}
MAX_LINKS = 50  # rows of the utilisation heat map
MAX_ROWS = 30  # rows of the alarm timeline
P = ParamSpec("P")
THOUSANDS = FuncFormatter(lambda value, _: f"{value:,.0f}")


def _figure(height: float = 3.4) -> Figure:
    fig = Figure(figsize=(WIDTH, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def svg(fig: Figure) -> str:
    """``fig`` as an ``<svg>`` element: no XML prolog, no metadata, no date."""
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


# matplotlib's settings are one global dict, and rc_context changes it for a while: two threads drawing at once
# (a sweep's runs on Dask threads each write a report) would leave each other's settings behind. One lock for all.
_SETTINGS = threading.RLock()


@contextlib.contextmanager
def style(settings: dict):
    """Draw under ``settings``, with no other thread of this process changing matplotlib's settings meanwhile."""
    with _SETTINGS, rc_context(settings):
        yield


def styled(draw: Callable[P, str | None]) -> Callable[P, str | None]:
    """Draw (and write) a plot under the report's style, whatever matplotlib's global settings are."""

    @functools.wraps(draw)
    def drawn(*args: P.args, **kwargs: P.kwargs) -> str | None:
        with style(STYLE):
            return draw(*args, **kwargs)

    return drawn


def _dates(calendar: Calendar, seconds) -> np.ndarray:
    """Simulated seconds as matplotlib date numbers (days since 1970-01-01 UTC)."""
    return mdates.date2num(calendar.epoch) + np.asarray(seconds, dtype=np.float64) / DAY


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _grid(ax, axis: str = "y") -> None:
    ax.grid(axis=axis, alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


# -- a run ----------------------------------------------------------------------------------------------------------

STAGE_LABELS = {"submitted": "submitted", "acknowledged": "acknowledged", "in_progress": "in progress",
                "completed": "completed"}  # fmt: skip
OUTCOME_LABELS = {"held": "held (fallout)", "failed": "failed", "cancelled": "cancelled",
                  "in_progress": "still open at the end"}  # fmt: skip


@styled
def funnel_plot(f: Funnel) -> str | None:
    """Stages every order passed (reached at least), then where those that did not complete ended."""
    if not f.stages["submitted"]:
        return None
    labels = [STAGE_LABELS[k] for k in f.stages] + [OUTCOME_LABELS[k] for k in OUTCOME_LABELS]
    values = list(f.stages.values()) + [f.outcomes[k] for k in OUTCOME_LABELS]
    colours = [BLUE] * len(f.stages) + [ORANGE, RED, PURPLE, GREY]
    fig = _figure(3.2)
    ax = fig.add_subplot()
    y = np.arange(len(values))[::-1]
    ax.barh(y, values, color=colours, height=0.7)
    ax.set_yticks(y, labels)
    top = max(values)
    for yi, v in zip(y, values):
        share = f" ({v / f.stages['submitted']:.1%})" if v else ""
        ax.text(v + top * 0.01, yi, f"{v:,}{share}", va="center", fontsize=8)
    ax.set_xlim(0, top * 1.2)
    ax.axhline(len(OUTCOME_LABELS) - 0.5, color="#c4c9d4", linewidth=0.8)
    ax.set_xlabel("product orders")
    _grid(ax, "x")
    return svg(fig)


@styled
def services_plot(s: ServiceSeries, calendar: Calendar) -> str | None:
    if not (s.active.any() or s.suspended.any()):
        return None
    fig = _figure()
    ax = fig.add_subplot()
    x = _dates(calendar, s.at)
    ax.step(x, s.active, where="post", color=BLUE, linewidth=1.4, label="active")
    if s.suspended.any():
        ax.step(x, s.suspended, where="post", color=RED, linewidth=1.2, label="suspended")
        ax.legend(fontsize="small", loc="best")
    ax.set_ylabel("services")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(THOUSANDS)
    _date_axis(ax)
    _grid(ax)
    return svg(fig)


def busiest_links(k: LinkKpis, limit: int = MAX_LINKS) -> list[int]:
    """Link columns by peak utilisation, busiest first (ties in the topology's order), at most ``limit``."""
    peak = k.utilisation.max(axis=0)
    return [int(i) for i in np.argsort(-peak, kind="stable")[:limit]]


def _interval_edges(ends: np.ndarray) -> tuple[float, float]:
    step = float(np.median(np.diff(ends))) if len(ends) > 1 else 3600.0
    return float(ends[0]) - step, float(ends[-1])


@styled
def utilisation_heatmap(k: LinkKpis, calendar: Calendar, limit: int = MAX_LINKS) -> str | None:
    """Links (rows, busiest first) x intervals; the colour scale runs from 0 to the run's peak."""
    if not k.utilisation.size:
        return None
    rows = busiest_links(k, limit)
    data = k.utilisation[:, rows].T
    peak = float(data.max())
    first, last = _interval_edges(k.interval_end)
    fig = _figure(1.4 + 0.16 * len(rows))
    ax = fig.add_subplot()
    image = ax.imshow(data, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0.0, vmax=peak or 1.0,
                      extent=(*_dates(calendar, [first, last]), len(rows) - 0.5, -0.5))  # fmt: skip
    ax.set_yticks(range(len(rows)), [k.link_ids[i] for i in rows], fontsize=6 if len(rows) > 20 else 7)
    _date_axis(ax)
    bar = fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03, aspect=max(20, 2 * len(rows)))
    bar.set_label("utilisation (share of capacity)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return svg(fig)


def timeline_rows(alarms: Sequence[AlarmSpan], incidents: Sequence[IncidentSpan], end: float,
                  limit: int = MAX_ROWS) -> tuple[list[IncidentSpan], list[str]]:  # fmt: skip
    """What the timeline shows, at most ``limit`` rows: incidents and alarmed objects, the longest ones when there
    are more (incidents keep at least a third of the rows), each in the order they began."""

    def length(start: float, stop: float | None) -> float:
        return (end if stop is None else stop) - start

    alarmed: dict[str, float] = {}
    first: dict[str, float] = {}
    for a in alarms:
        alarmed[a.object] = alarmed.get(a.object, 0.0) + length(a.raised, a.cleared)
        first.setdefault(a.object, a.raised)
    room = min(len(incidents), max(limit // 3, limit - len(alarmed)))
    shown = sorted(incidents, key=lambda i: -length(i.opened, i.resolved))[:room]
    shown.sort(key=lambda i: (i.opened, i.id))
    objects = sorted(alarmed, key=lambda o: -alarmed[o])[: limit - len(shown)]
    objects.sort(key=lambda o: (first[o], o))
    return shown, objects


@styled
def assurance_timeline(alarms: Sequence[AlarmSpan], incidents: Sequence[IncidentSpan], calendar: Calendar,
                       end: float) -> str | None:  # fmt: skip
    """Incidents (open to resolved) above the alarms of each alarmed object (raised to cleared), by severity."""
    if not alarms and not incidents:
        return None
    shown, objects = timeline_rows(alarms, incidents, end)
    labels = [f"{i.id} ({i.root_object})" for i in shown] + objects
    row = {o: len(shown) + n for n, o in enumerate(objects)}
    # A bar of at least a 400th of the run, so a short alarm stays visible.
    least = end / 400.0
    fig = _figure(1.3 + 0.24 * len(labels))
    ax = fig.add_subplot()
    for n, i in enumerate(shown):
        width = max((end if i.resolved is None else i.resolved) - i.opened, least) / DAY
        ax.broken_barh([(_dates(calendar, i.opened), width)], (n - 0.35, 0.7), facecolors=GREY if i.planned else PURPLE,
                       edgecolor="black" if i.resolved is None else "none", linewidth=0.6)  # fmt: skip
    for a in alarms:
        if a.object not in row:
            continue
        width = max((end if a.cleared is None else a.cleared) - a.raised, least) / DAY
        ax.broken_barh([(_dates(calendar, a.raised), width)], (row[a.object] - 0.3, 0.6),
                       facecolors=SEVERITY.get(a.severity, GREY), hatch="////" if a.planned else None,
                       edgecolor="black" if a.root_cause else "none", linewidth=0.6, alpha=0.9)  # fmt: skip
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(*_dates(calendar, [0.0, end]))
    if shown and objects:
        ax.axhline(len(shown) - 0.5, color="#c4c9d4", linewidth=0.8)
    _date_axis(ax)
    _grid(ax, "x")
    severities = sorted({a.severity for a in alarms}, key=list(SEVERITY).index)
    legend = [Patch(facecolor=PURPLE, label="incident")] if any(not i.planned for i in shown) else []
    legend += [Patch(facecolor=GREY, label="planned work")] if any(i.planned for i in shown) else []
    legend += [Patch(facecolor=SEVERITY.get(s, GREY), label=f"{s} alarm") for s in severities]
    if any(a.root_cause for a in alarms):
        legend.append(Patch(facecolor="white", edgecolor="black", label="root cause"))
    ax.legend(handles=legend, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(legend), 6),
              frameon=False)  # fmt: skip
    return svg(fig)


def _hist_bins(*samples: np.ndarray) -> np.ndarray:
    every = np.concatenate([s for s in samples if len(s)])
    edges = np.histogram_bin_edges(every, bins="auto")
    return edges if len(edges) <= 41 else np.linspace(every.min(), every.max(), 41)


@styled
def restore_plot(rt: RestoreTimes) -> str | None:
    """Histograms of hours to restore, tickets and incidents on shared bins, medians marked."""
    if not len(rt.tickets) and not len(rt.incidents):
        return None
    bins = _hist_bins(rt.tickets, rt.incidents)
    fig = _figure()
    ax = fig.add_subplot()
    for values, name, colour in ((rt.tickets, "trouble tickets", BLUE), (rt.incidents, "incidents", PURPLE)):
        if len(values):
            ax.hist(values, bins=bins, color=colour, alpha=0.55, label=f"{name} ({len(values):,})")
            ax.axvline(float(np.median(values)), color=colour, linestyle="--", linewidth=1)
    ax.set_xlabel("hours from opening to restoration (dashed: median)")
    ax.set_ylabel("count")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize="small")
    _grid(ax)
    return svg(fig)


@styled
def revenue_plot(months: Sequence[Month], currency: str) -> str | None:
    if not months:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(months))
    invoiced = [float(m.invoiced) for m in months]
    paid = [float(m.paid) for m in months]
    ax.bar(x - 0.2, invoiced, width=0.4, color=BLUE, label="invoiced")
    ax.bar(x + 0.2, paid, width=0.4, color=GREEN, label="paid by the end of the run")
    for xi, m in zip(x, months):
        ax.text(xi - 0.2, float(m.invoiced), f"{m.invoiced:,.0f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [m.month for m in months])
    ax.set_xlim(-0.8, len(months) - 0.2)
    ax.set_ylabel(currency)
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_xlabel("month the bills were issued in")
    ax.legend(fontsize="small")
    _grid(ax)
    return svg(fig)


@styled
def experience_plot(by_segment: dict[str, np.ndarray]) -> str | None:
    """Per segment: the spread of the index (box: quartiles, whiskers: 5th-95th percentiles), mean as a dot."""
    segments = [s for s, v in by_segment.items() if len(v)]
    if not segments:
        return None
    fig = _figure(1.2 + 0.55 * len(segments))
    ax = fig.add_subplot()
    data = [by_segment[s] for s in segments]
    y = np.arange(len(segments))
    ax.boxplot(data, positions=y, orientation="horizontal", whis=(5, 95), showfliers=False, widths=0.5,
               patch_artist=True, boxprops={"facecolor": "#dbe6f5", "edgecolor": BLUE},
               medianprops={"color": BLUE})  # fmt: skip
    ax.plot([float(d.mean()) for d in data], y, "o", color=ORANGE, label="mean")
    ax.set_yticks(y, [f"{s} ({len(by_segment[s]):,})" for s in segments])
    ax.set_ylim(len(segments) - 0.5, -0.5)
    low = min(float(np.percentile(d, 1)) for d in data)
    ax.set_xlim(max(0.0, np.floor(low / 10.0) * 10.0 - 10.0), 100.5)
    ax.set_xlabel("customer experience index (100: no outage, no delay, no loss, no ticket, no bill shock)")
    ax.legend(fontsize="small", loc="lower left")
    _grid(ax, "x")
    return svg(fig)


# -- two runs -------------------------------------------------------------------------------------------------------


@styled
def services_compare(series: Sequence[ServiceSeries], names: Sequence[str]) -> str | None:
    if not any(s.active.any() for s in series):
        return None
    fig = _figure()
    ax = fig.add_subplot()
    for s, name, colour in zip(series, names, RUN_COLOURS):
        ax.step(s.at / DAY, s.active, where="post", color=colour, linewidth=1.4, label=name)
    ax.set_xlabel("day of the run")
    ax.set_ylabel("active services")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    _grid(ax)
    return svg(fig)


@styled
def revenue_compare(months: Sequence[Sequence[Month]], names: Sequence[str], currency: str) -> str | None:
    labels = sorted({m.month for run in months for m in run})
    if not labels:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    for n, (run, name, colour) in enumerate(zip(months, names, RUN_COLOURS)):
        of = {m.month: float(m.invoiced) for m in run}
        ax.bar(x + (n - 0.5) * 0.4, [of.get(label, 0.0) for label in labels], width=0.4, color=colour, label=name)
    ax.set_xticks(x, labels)
    ax.set_xlim(-0.8, len(labels) - 0.2)
    ax.set_ylabel(f"invoiced ({currency})")
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_xlabel("month the bills were issued in")
    ax.legend(fontsize="small")
    _grid(ax)
    return svg(fig)


@styled
def restore_compare(times: Sequence[RestoreTimes], names: Sequence[str]) -> str | None:
    """Cumulative distributions of hours to restore: tickets solid, incidents dashed."""
    if not any(len(t.tickets) or len(t.incidents) for t in times):
        return None
    fig = _figure()
    ax = fig.add_subplot()
    for t, name, colour in zip(times, names, RUN_COLOURS):
        for values, what, style in ((t.tickets, "tickets", "-"), (t.incidents, "incidents", "--")):
            if len(values):
                v = np.sort(values)
                ax.step(np.concatenate([[0.0], v]), np.arange(len(v) + 1) / len(v), where="post", color=colour,
                        linestyle=style, linewidth=1.3, label=f"{name}: {what} ({len(v):,})")  # fmt: skip
    ax.set_xlabel("hours from opening to restoration")
    ax.set_ylabel("share restored within")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small", loc="lower right")
    _grid(ax)
    return svg(fig)


@styled
def utilisation_compare(kpis: Sequence[LinkKpis], names: Sequence[str]) -> str | None:
    """Mean utilisation over all links (solid) and the busiest link's (dashed), interval by interval."""
    if not any(k.utilisation.size for k in kpis):
        return None
    fig = _figure()
    ax = fig.add_subplot()
    for k, name, colour in zip(kpis, names, RUN_COLOURS):
        if k.utilisation.size:
            days = k.interval_end / DAY
            ax.plot(days, k.utilisation.mean(axis=1), color=colour, linewidth=1.1, label=f"{name}: mean of links")
            ax.plot(days, k.utilisation.max(axis=1), color=colour, linewidth=0.9, linestyle="--",
                    label=f"{name}: busiest link")  # fmt: skip
    ax.set_xlabel("day of the run")
    ax.set_ylabel("utilisation (share of capacity)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small", loc="upper right")
    _grid(ax)
    return svg(fig)
