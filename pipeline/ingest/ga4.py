"""Google Analytics 4 readers: UI reports, Explorations and the BigQuery export.

Registers three kinds with :func:`pipeline.ingest.base.register`:

``ga4_report``
    "Download CSV" reports from the GA4 interface (:mod:`.ga4_reports`).
``ga4_exploration``
    Exploration exports, also read by :mod:`.ga4_reports`.
``ga4_bigquery``
    The BigQuery event export as NDJSON or Parquet, and flattened CSVs made from it
    by users' queries (:mod:`.ga4_bigquery`).
"""

from __future__ import annotations

from pipeline.ingest import ga4_bigquery, ga4_reports
from pipeline.ingest.base import register
from pipeline.ingest.vendor_common import safe_score

register(
    "ga4_report",
    safe_score(ga4_reports.score_report),
    ga4_reports.read_report,
    "GA4 report (Download CSV): channel aggregates by week, day or dimension",
)
register(
    "ga4_exploration",
    safe_score(ga4_reports.score_exploration),
    ga4_reports.read_exploration,
    "GA4 Exploration export: channel aggregates",
)
register(
    "ga4_bigquery",
    safe_score(ga4_bigquery.score),
    ga4_bigquery.read,
    "GA4 BigQuery event export (NDJSON, Parquet or a flattened CSV): events",
)
