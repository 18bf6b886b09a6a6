"""A journey shown three ways: in a terminal (rich), in ``report.html`` (an HTML fragment), as JSON.

All three show the same thing: the steps in log order, each with its time, eTOM process and level-1
groupings, sentence and records touched; then the records by domain (:func:`sim.journey.tables.sections`,
in the text and HTML views). The text view fits the terminal's width (a table too wide becomes one
record a row) and shows every name as written, never as markup; the HTML fragment is autoescaped and
loads nothing; the JSON keeps money as exact decimal text.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from decimal import Decimal

from markupsafe import Markup
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from oss_bss.money import fmt
from sim.journey.etom import ASSURANCE, BILLING, CRM, FULFILLMENT, RMO, SMO, SPRM, SUPPORT
from sim.journey.records import Journey, Step
from sim.journey.tables import Section, sections
from sim.report.files import pages

# The horizontal groupings as a step's second line shows them, and the colour of each vertical grouping.
ABBREVIATIONS = {CRM: "CRM", SMO: "SM&O", RMO: "RM&O", SPRM: "S/PRM"}
VERTICAL_COLOURS = {FULFILLMENT: "#2f6fb3", ASSURANCE: "#c0392b", BILLING: "#2e8b57", SUPPORT: "#7f8c8d"}


def _stage_label(step: Step) -> str:
    return f"{step.vertical} · {ABBREVIATIONS.get(step.layer, step.layer)}"


def _natural_width(section: Section) -> int:
    """The width a section's table takes unwrapped (cells, padding, borders)."""
    widths = [max([len(h)] + [len(row[i]) for row in section.rows]) for i, h in enumerate(section.headers)]
    return sum(widths) + 3 * len(widths)


def _section_table(section: Section, width: int) -> Table:
    """A section as a table when it fits ``width``; otherwise one record a row, its fields as ``name value`` text."""
    table = Table(title=Text(f"{section.title} — {section.where}"), title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    if _natural_width(section) <= width:
        for i, header in enumerate(section.headers):
            table.add_column(Text(header), justify="right" if i in section.numeric else "left", overflow="fold")
        for row in section.rows:
            table.add_row(*(Text(cell) for cell in row))
        return table
    table.add_column(Text(section.headers[0]), no_wrap=True)
    table.add_column(Text("; ".join(section.headers[1:])), overflow="fold", ratio=1)
    for row in section.rows:
        rest = Text()
        for header, value in zip(section.headers[1:], row[1:]):
            if value:
                rest.append(f"{header} " if rest.plain == "" else f"; {header} ", style="dim")
                rest.append(value)
        table.add_row(Text(row[0]), rest)
    table.show_header = False
    return table


def render_text(journey: Journey, width: int = 100) -> Group:
    """The journey for a terminal of ``width`` columns (also without colour, or piped): the timeline of steps
    (time, eTOM process, what happened, records touched), then the records each domain holds at the end."""
    j = journey
    head = Text()
    head.append(f"{j.name} ({j.customer_id})", style="bold")
    head.append(f": {j.segment}, {j.party_type}, site {j.site}, {j.state} at the end of the run {j.run!r}\n")
    head.append(f"{len(j.steps)} steps through {len(j.processes)} eTOM level-2 processes: " + ", ".join(j.processes))
    timeline = Table(title=Text("Journey (events.jsonl, in log order)"), title_justify="left", box=box.SIMPLE_HEAD,
                     pad_edge=False)
    timeline.add_column(Text("#"), justify="right", style="dim", no_wrap=True)
    timeline.add_column(Text("time (UTC)"), no_wrap=True)
    timeline.add_column(Text("eTOM process"), width=27)
    timeline.add_column(Text("what happened [records touched]"), ratio=1)
    for s in j.steps:
        process = Text(s.process, style="bold")
        process.append(f"\n{_stage_label(s)}", style="dim")
        what = Text(s.text)
        if s.records:
            what.append(f"\n[{', '.join(s.records)}]", style="dim")
        timeline.add_row(Text(str(s.seq)), Text(s.time.replace("T", " ")[:16]), process, what)
    return Group(head, timeline, *(_section_table(section, width) for section in sections(j)))


def render_html(journey: Journey) -> Markup:
    """The journey as an HTML fragment for ``report.html`` (``sim/templates/journey.html``; autoescaped, inline
    styles only, nothing loaded from elsewhere)."""
    j = journey
    steps = [{"seq": s.seq, "time": s.time.replace("T", " ").rstrip("Z"), "process": s.process,
              "vertical": s.vertical, "layer": ABBREVIATIONS.get(s.layer, s.layer), "type": s.type, "text": s.text,
              "records": ", ".join(s.records), "colour": VERTICAL_COLOURS.get(s.vertical, "#555")}
             for s in j.steps]  # fmt: skip
    return Markup(pages.get_template("journey.html").render(
        j=j, steps=steps, sections=sections(j), processes=j.processes,
        colours={v: c for v, c in VERTICAL_COLOURS.items() if any(s.vertical == v for s in j.steps)}))


def _plain(value):
    """A record's value as JSON: Decimal as exact text, tuples and dataclasses unpacked."""
    if isinstance(value, Decimal):
        return fmt(value)
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_json(journey: Journey) -> dict:
    """The journey as plain JSON (money as decimal text, times as seconds from the start and UTC text)."""
    out = {f.name: _plain(getattr(journey, f.name)) for f in fields(journey) if f.name != "calendar"}
    out["start"] = journey.calendar.epoch.isoformat().replace("+00:00", "Z")
    out["processes"] = list(journey.processes)
    return out
