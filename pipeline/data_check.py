"""The Overview's data check in words: short names for file kinds, and the verdict on
where the rows of the uploads went.

:func:`short_kind` names a file kind in a table heading or cell ("Shopify orders");
:func:`data_check_verdict` says whether every row was used, or how many rows were
rejected and where to see why; :func:`unusable_reasons` gives each upload that
could not be used with its whole reason and what to do, :func:`why_no_row_loaded`
why a file loaded no row, and :func:`where` a problem's row and column in words.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.ingest.checks import HEADER_ONLY, plural
from pipeline.model import FileReport

SHORT_KINDS: dict[str, str] = {
    "shopify_orders": "Shopify orders",
    "shopify_checkouts": "Shopify checkouts",
    "shopify_customers": "Shopify customers",
    "events_csv": "Events CSV",
    "transactions": "Transaction log",
    "mapped": "Mapped table",
    "ga4_report": "GA4 report",
    "ga4_exploration": "GA4 exploration",
    "ga4_bigquery": "GA4 BigQuery",
    "klaviyo_profiles": "Klaviyo profiles",
    "klaviyo_events": "Klaviyo events",
    "klaviyo_report": "Klaviyo report",
    "meta_ads": "Meta Ads",
    "google_ads": "Google Ads",
    "attribution_paths": "Conversion paths",
    "unknown": "Unknown",
    "unreadable": "Unreadable",
}
"""A file kind in two or three words, for table headings and cells."""


def short_kind(kind: str) -> str:
    """A file kind in a few words: ``short_kind("shopify_orders") == "Shopify orders"``.

    A kind without a short name is written with its underscores as spaces.
    """
    return SHORT_KINDS.get(kind, kind.replace("_", " "))


def data_check_verdict(
    reports: Sequence[FileReport], flagged: int = 0
) -> tuple[str, str]:
    """What the data check says of the uploads as a whole, and how loudly.

    Parameters
    ----------
    reports
        Every file's report.
    flagged
        Rows listed in the page's problem table (rows of files that were used).

    Returns
    -------
    tuple of str
        The level (``"success"``, ``"warning"`` or ``"error"``) and the sentence.
        Only when no row was rejected, no file failed and no row was flagged is it
        a success: "Every row read was loaded, ...". Otherwise the sentence counts
        the rejected rows by file and says where the reasons are.
    """
    failed = [r for r in reports if r.meta.get("failed")]
    rejected = sum(r.rows_rejected for r in reports)
    if not failed and not rejected and not flagged:
        return "success", (
            "Every row read was loaded, excluded by a rule or counted as a duplicate."
        )

    # who lost rows, and where the page shows why
    parts = []
    if rejected:
        by_file = "; ".join(_rejected_in(r) for r in reports if r.rows_rejected)
        was = "was" if rejected == 1 else "were"
        parts.append(f"{plural(rejected, 'row')} {was} rejected: {by_file}.")
    unread = [r.file for r in failed if not r.rows_rejected]
    if unread:
        parts.append(f"{', '.join(unread)} could not be used.")
    if failed:
        parts.append(
            "Each file that could not be used is named above, with why and what to do."
        )
    if flagged == 1:
        parts.append(
            "The flagged row of the files used is listed below with its column and "
            "reason; if it was not rejected, it is loaded but doubtful."
        )
    elif flagged:
        parts.append(
            f"The {plural(flagged, 'flagged row')} of the files used are listed below, "
            "sorted by file and row, each with its column and reason; flagged rows "
            "that were not rejected are loaded but doubtful."
        )
    level = "error" if rejected or failed else "warning"
    return level, " ".join(parts)


def _rejected_in(report: FileReport) -> str:
    """How many of a file's rows were rejected, in words."""
    count, read = report.rows_rejected, report.rows_read
    if count == read:
        rows = "the only row" if count == 1 else f"all {count:,} rows"
    else:
        rows = f"{count:,} of the {read:,} rows"
    failed = ", which could not be used" if report.meta.get("failed") else ""
    return f"{rows} of {report.file}{failed}"


def unusable_reasons(reports: Sequence[FileReport]) -> list[tuple[str, str]]:
    """Each upload that could not be used, with its whole reason (what to do
    included) ending with a full stop: ``[("zero.csv", "the file is empty: ...")]``."""
    reasons = [r.problems[0].message if r.problems else "not used" for r in reports]
    return [
        (r.file, reason.rstrip(".") + ".")
        for r, reason in zip(reports, reasons, strict=True)
    ]


def where(row: int | None, column: str | None) -> str:
    """``"row 39, column 'Total': "``, or less, or nothing for a whole-file problem."""
    parts = [
        part
        for part in (
            f"row {row}" if row is not None else "",
            f"column {column!r}" if column else "",
        )
        if part
    ]
    return ", ".join(parts) + ": " if parts else ""


def why_no_row_loaded(report: FileReport) -> str:
    """Why one file loaded no row, in a clause that says what to do when it can."""
    header_only = [note for note in report.notes if HEADER_ONLY in note]
    first = report.problems[0] if report.problems else None
    if header_only:
        return header_only[0]
    if report.rows_read == 0 or report.meta.get("failed"):
        return first.message if first else "the file holds no rows"
    parts = []
    if report.rows_rejected:
        share = "all" if report.rows_rejected == report.rows_read else "some"
        parts.append(f"{share} {plural(report.rows_rejected, 'row')} rejected")
    if report.rows_excluded:
        why = ", ".join(sorted(report.excluded_by))
        parts.append(
            f"{plural(report.rows_excluded, 'row')} excluded"
            + (f" ({why})" if why else " by a rule")
        )
    if report.rows_duplicate:
        parts.append(
            f"{plural(report.rows_duplicate, 'row')} duplicate rows of another file"
        )
    reason = ", ".join(parts) or "no row loaded"
    if first is not None:
        reason += f"; the first, {where(first.row, first.column)}{first.message}"
    return reason
