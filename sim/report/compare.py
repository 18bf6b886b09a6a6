"""Two runs side by side: every numeric figure of their summaries with the difference, and the same series
overlaid (``compare.html``, self-contained like ``report.html``).

The figures are those :func:`sim.replications.numeric_leaves` finds (so a comparison and a
replication table name the same figures) and, besides, every other money figure of the summaries
(prepaid charges, discounts). Money is compared as Decimal, exactly; other figures as numbers. The
difference is B - A and the relative difference (B - A) / |A|.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from markupsafe import Markup

from sim.report import data, plots
from sim.report.files import pages, write_atomically

COMPARE = "compare.html"
Number = int | float | Decimal


@dataclass(frozen=True)
class CompareRow:
    """One figure of two runs; a figure one run lacks has None there and no difference."""

    key: str  # dotted, as in summary.json
    a: Number | None
    b: Number | None
    difference: Number | None  # b - a
    relative: float | None  # (b - a) / |a|; None when a is 0 and b is not, or one is missing

    def cells(self) -> tuple[str, str, str, str, str]:
        """The row as text, for a table: key, A, B, B - A, relative (signed %)."""
        relative = "" if self.relative is None else f"{self.relative:+.2%}" if self.relative else "0.00%"
        return self.key, number(self.a), number(self.b), number(self.difference, signed=True), relative

    @property
    def differs(self) -> bool:
        return self.a != self.b


def number(value: Number | None, signed: bool = False) -> str:
    if value is None:
        return ""
    sign = "+" if signed and value else ""  # no sign on a zero difference
    if isinstance(value, Decimal):
        return format(value, f"{sign},f")
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return format(int(value), f"{sign},d")
    return format(value, f"{sign},.6g")


def _money(value) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def leaves(summary: dict, prefix: str = "") -> dict[str, Number]:
    """The summary's figures under their dotted keys: :func:`numeric_leaves`' numbers (ints kept as ints) and
    every money string as a Decimal."""
    # Imported here: sim.replications imports the runner, which writes a report at the end of each run.
    from sim.replications import SKIP, numeric_leaves

    numeric = numeric_leaves(summary)
    out: dict[str, Number] = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if path in SKIP:
                continue
            if isinstance(value, dict):
                walk(value, path + ".")
            elif (amount := _money(value)) is not None:
                out[path] = amount
            elif path in numeric:
                out[path] = value if isinstance(value, int) else float(value)

    walk(summary, prefix)
    return out


def rows_of(a: dict, b: dict) -> list[CompareRow]:
    """The rows for two summaries: A's figures in its order, then those only B has."""
    left, right = leaves(a), leaves(b)
    rows = []
    for key in list(left) + [k for k in right if k not in left]:
        x, y = left.get(key), right.get(key)
        if x is None or y is None:
            rows.append(CompareRow(key, x, y, None, None))
            continue
        if isinstance(x, Decimal) or isinstance(y, Decimal):
            x, y = Decimal(x), Decimal(y)  # both money: exact
        difference = y - x
        if x:
            relative = float(difference / abs(x))
        else:
            relative = 0.0 if not y else None
        rows.append(CompareRow(key, x, y, difference, relative))
    return rows


def compare_rows(run_a: Path, run_b: Path) -> list[CompareRow]:
    """Every numeric figure of two runs' summaries, with B - A and (B - A) / |A| (for the CLI's table)."""
    with data.open_run(Path(run_a)) as a, data.open_run(Path(run_b)) as b:
        return rows_of(a.summary, b.summary)


def _label(run: data.Run, letter: str) -> str:
    return f"{letter}: {run.name} seed {run.seed}"


def render(a: data.Run, b: data.Run) -> str:
    names = [_label(a, "A"), _label(b, "B")]
    runs = (a, b)
    currency = a.currency if a.currency == b.currency else f"{a.currency} / {b.currency}"
    figures = [
        ("services", "Active services over time", plots.services_compare([data.service_series(r) for r in runs], names),
         "Neither run had an active service."),
        ("revenue", "Revenue by month", plots.revenue_compare([data.revenue_by_month(r) for r in runs], names,
                                                              currency),
         "Neither run issued a bill."),
        ("restore", "Time to restore", plots.restore_compare([data.restore_times(r) for r in runs], names),
         "Neither run restored a trouble ticket or an unplanned incident."),
        ("utilisation", "Link utilisation", plots.utilisation_compare([data.link_kpis(r) for r in runs], names),
         "Neither run recorded link KPIs."),
    ]  # fmt: skip
    rows = rows_of(a.summary, b.summary)
    return pages.get_template("compare.html").render(
        runs=[{"letter": letter, "run": r, "start": r.calendar.epoch.strftime("%Y-%m-%d")}
              for letter, r in zip("AB", runs)],
        currency_differs=a.currency != b.currency,
        figures=[{"id": i, "title": t, "svg": Markup(s) if s is not None else None, "empty": e}
                 for i, t, s, e in figures],
        rows=rows, differing=sum(r.differs for r in rows),
    )  # fmt: skip


def compare(run_a: Path, run_b: Path, out: Path) -> Path:
    """Write the comparison page of two run folders to ``out`` (a file, or a folder to hold compare.html)."""
    out = Path(out)
    if out.is_dir():
        out = out / COMPARE
    with data.open_run(Path(run_a)) as a, data.open_run(Path(run_b)) as b:
        text = render(a, b)
    return write_atomically(out, text)
