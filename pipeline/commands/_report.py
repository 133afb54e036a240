"""Each file's rejected rows on standard error, the way ``stages`` reports them."""

from __future__ import annotations

import sys

from pipeline.model import Dataset

MAX_PROBLEMS_SHOWN = 5


def report_problems(dataset: Dataset, limit: int = MAX_PROBLEMS_SHOWN) -> int:
    """Write each file's rejected rows and problems to standard error.

    One line per file with problems (``FILE (KIND): R of N rows rejected``), then up
    to ``limit`` problems as ``  row 39, column 'Total': message`` and a count of
    the rest. Returns the number of files with problems.
    """
    files = 0
    for report in dataset.reports:
        if not (report.rows_rejected or report.problems):
            continue
        files += 1
        sys.stderr.write(
            f"{report.file} ({report.kind}): {report.rows_rejected} of "
            f"{report.rows_read} rows rejected\n"
        )
        for problem in report.problems[:limit]:
            where = ", ".join(
                part
                for part in (
                    f"row {problem.row}" if problem.row is not None else "",
                    f"column {problem.column!r}" if problem.column else "",
                )
                if part
            )
            text = f"{where}: {problem.message}" if where else problem.message
            sys.stderr.write(f"  {text}\n")
        if len(report.problems) > limit:
            sys.stderr.write(f"  … and {len(report.problems) - limit} more\n")
    return files
