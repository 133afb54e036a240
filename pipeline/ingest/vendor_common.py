"""Helpers shared by the GA4, Klaviyo and ad-spend readers."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import pandas as pd

from pipeline.ingest import raw
from pipeline.ingest.base import SourceFile
from pipeline.model import FileReport

logger = logging.getLogger(__name__)


def safe_score(score: Callable[[SourceFile], float]) -> Callable[[SourceFile], float]:
    """Wrap a scorer so that a file it cannot even peek at scores 0, never raises.

    Detection asks every reader about every upload, including truncated, binary
    and malformed files; a scorer's only honest answer about those is "not mine".
    """

    @functools.wraps(score)
    def wrapper(source: SourceFile) -> float:
        try:
            return float(score(source))
        except Exception as exc:  # noqa: BLE001 - any failure means "not this kind"
            logger.debug("%s could not score %s: %s", score.__qualname__,
                         source.name, exc)
            return 0.0

    return wrapper


def table_of(source: SourceFile, report: FileReport, **options) -> pd.DataFrame:
    """The file as a text table (:func:`raw.read_table`); rows that could not be
    split are counted as read and rejected, with their problems."""
    table = raw.read_table(source, **options)
    problems = raw.table_problems(table)
    report.rows_read += raw.rows_read(table)
    report.rows_rejected += len(problems)
    report.problems.extend(problems)
    return table


def column_getter(table: pd.DataFrame, cols: dict) -> Callable[[str], pd.Series]:
    """A function returning one of our fields as trimmed text (``NA`` if absent)."""
    empty = pd.Series(pd.NA, index=table.index, dtype="string")

    def get(field_name: str) -> pd.Series:
        column = cols.get(field_name)
        if column is None:
            return empty.copy()
        values = table[column].astype("string").str.strip()
        return values.mask(values == "")

    return get
