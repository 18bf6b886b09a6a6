"""Reports on finished runs: ``report.html`` in every run folder, and ``compare.html`` for two runs.

- :func:`write_report` (``run_scenario.py report RUNDIR``; the runner calls it at the end of a run)
  writes one run's page: the scenario, the key figures, the plots, one customer's journey.
- :func:`compare` writes two runs' page: every numeric figure with its difference, and the same
  series of both runs overlaid; :func:`compare_rows` gives the figures as rows for a table.

Both read the smallest files that hold what they show (the database, ``kpi/links.npz``,
``summary.json``; ``events.jsonl`` only for suspensions) and write their page atomically. A folder
that is not a finished run's, or misses a part, raises :class:`NotARunFolder` naming the folder and
the part.

Modules: ``data`` (what is read, as series and tables), ``plots`` (inline SVG), ``page`` (the run's
page), ``compare`` (two runs), ``files`` (templates and atomic writes).
"""

from __future__ import annotations

from sim.report.compare import CompareRow, compare, compare_rows
from sim.report.data import NotARunFolder
from sim.report.files import CannotWrite
from sim.report.page import REPORT, write_report

__all__ = ["write_report", "compare", "compare_rows", "CompareRow", "NotARunFolder", "CannotWrite", "REPORT"]
