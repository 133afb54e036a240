"""Paths: the array form every attribution model works on, and aggregated path files.

A :class:`PathSet` holds many journeys at once as flat numpy arrays: the touches of
journey ``p`` are ``touch_channel[offsets[p]:offsets[p + 1]]``, oldest first, and
each journey carries how many conversions, how much revenue and how many
non-converting journeys (``nulls``) it stands for. A journey built from events
stands for one order (or one lead that never bought); a row of an aggregated path
file stands for many. A journey with no touch and a conversion is credited to
:data:`UNATTRIBUTED` by every model.

Aggregated path files look like ChannelAttribution's sample data::

    path;total_conversions;total_conversion_value;total_null
    eta > iota > alpha > eta;1;0.244;3

They are read by the ``attribution_paths`` reader registered here; the paths land
in ``report.meta["paths"]`` as a DataFrame, since the data model has no paths table.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import chain

import numpy as np
import pandas as pd

from pipeline.ingest.base import ReadContext, ReadResult, SourceFile, register
from pipeline.model import FileReport, InputError, Problem

log = logging.getLogger(__name__)

UNATTRIBUTED = "(unattributed)"
"""Where a conversion with no touch in the lookback window is credited."""

PATH_SEPARATOR = ">"

PATH_COLUMNS = ("path", "total_conversions", "total_conversion_value", "total_null")


@dataclass
class PathSet:
    """Journeys as flat arrays (see the module docstring).

    Attributes
    ----------
    channels
        Channel names; ``touch_channel`` holds indexes into it.
    offsets
        ``int64`` array of length ``n_paths + 1``.
    touch_channel
        ``int32`` channel index of every touch, journeys one after another.
    conversions, value, nulls
        ``float64`` per journey: conversions, their revenue, non-converting journeys.
    touch_age_days
        Days from each touch to the journey's end (its conversion), or ``None``
        when the input has no times (aggregated path files).
    touch_campaign
        Campaign or flow of each touch (``None`` when unknown).
    path_key
        Per journey: the order id or ``"null:<person>"`` (``None`` for path files).
    """

    channels: tuple[str, ...]
    offsets: np.ndarray
    touch_channel: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray
    touch_age_days: np.ndarray | None = None
    touch_campaign: np.ndarray | None = None
    path_key: np.ndarray | None = None

    @property
    def n_paths(self) -> int:
        return len(self.offsets) - 1

    @cached_property
    def lengths(self) -> np.ndarray:
        """Touches per journey (computed once)."""
        return np.diff(self.offsets)

    @cached_property
    def touch_path(self) -> np.ndarray:
        """The journey index of every touch (computed once)."""
        return np.repeat(np.arange(self.n_paths), self.lengths)

    @cached_property
    def touch_position(self) -> np.ndarray:
        """The 0-based position of every touch in its journey (computed once)."""
        return np.arange(len(self.touch_channel)) - self.offsets[self.touch_path]

    @property
    def has_times(self) -> bool:
        return self.touch_age_days is not None


def path_set_from_lists(
    paths: list[list[str]],
    conversions: np.ndarray | list,
    value: np.ndarray | list | None = None,
    nulls: np.ndarray | list | None = None,
    ages: list[list[float]] | None = None,
) -> PathSet:
    """Build a :class:`PathSet` from Python lists (tests and small cases).

    Parameters
    ----------
    paths
        One list of channel names per journey, oldest touch first.
    conversions, value, nulls
        Per journey; ``value`` and ``nulls`` default to zeros.
    ages
        Optional days before the conversion of every touch, same shape as ``paths``.
    """
    lengths = np.array([len(p) for p in paths], dtype=np.int64)
    flat = list(chain.from_iterable(paths))
    codes, names = pd.factorize(pd.Series(flat, dtype=object), sort=True)
    n = len(paths)
    return PathSet(
        channels=tuple(str(x) for x in names),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        touch_channel=codes.astype(np.int32),
        conversions=np.asarray(conversions, dtype=np.float64).reshape(n),
        value=np.zeros(n) if value is None else np.asarray(value, dtype=np.float64),
        nulls=np.zeros(n) if nulls is None else np.asarray(nulls, dtype=np.float64),
        touch_age_days=None
        if ages is None
        else np.asarray(list(chain.from_iterable(ages)), dtype=np.float64),
    )


def path_set_from_frame(
    frame: pd.DataFrame,
    path_col: str = "path",
    conversions_col: str = "total_conversions",
    value_col: str = "total_conversion_value",
    null_col: str = "total_null",
    separator: str = PATH_SEPARATOR,
) -> PathSet:
    """An aggregated path table (one row per distinct path) as a :class:`PathSet`.

    Parameters
    ----------
    frame
        The table, e.g. ``report.meta["paths"]`` from the ``attribution_paths`` reader.
    path_col, conversions_col, value_col, null_col
        Its columns; the value and null columns may be absent (zeros).
    separator
        What separates touches inside a path; spaces around it are ignored.
    """
    codes, names, lengths = _split_paths(frame[path_col].astype(str), separator)

    def column(name: str) -> np.ndarray:
        if name not in frame:
            return np.zeros(len(frame))
        return pd.to_numeric(frame[name], errors="coerce").fillna(0).to_numpy(float)

    return PathSet(
        channels=tuple(str(x) for x in names),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        touch_channel=codes.astype(np.int32),
        conversions=column(conversions_col),
        value=column(value_col),
        nulls=column(null_col),
    )


def _split_paths(
    texts: pd.Series, separator: str
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Channel codes of every touch, channel names and touches per path.

    All paths are split in one go (one long string, one ``split``), the raw tokens
    factorised, and only the few distinct tokens stripped of spaces: far faster
    than splitting a million strings one by one.
    """
    nonempty = texts.str.strip().ne("").to_numpy()
    lengths = np.zeros(len(texts), dtype=np.int64)
    kept = texts[nonempty].tolist()
    lengths[nonempty] = np.fromiter(
        (p.count(separator) + 1 for p in kept), dtype=np.int64, count=len(kept)
    )
    tokens = separator.join(kept).split(separator) if kept else []
    raw_codes, raw_names = pd.factorize(np.array(tokens, dtype=object))
    stripped = pd.Index([str(n).strip() for n in raw_names])
    names = sorted(set(stripped))
    remap = pd.Index(names).get_indexer(stripped)
    return remap[raw_codes].astype(np.int32), names, lengths


def collapse_repeats(paths: PathSet) -> PathSet:
    """The same journeys with runs of one channel merged into their first touch."""
    channel = paths.touch_channel
    position = paths.touch_position
    keep = np.ones(len(channel), dtype=bool)
    keep[1:] = (channel[1:] != channel[:-1]) | (position[1:] == 0)
    kept_per_path = (
        np.add.reduceat(keep.astype(np.int64), paths.offsets[:-1])
        if len(keep)
        else np.zeros(paths.n_paths, dtype=np.int64)
    )
    kept_per_path = np.where(paths.lengths == 0, 0, kept_per_path)
    return replace(
        paths,
        offsets=np.concatenate([[0], np.cumsum(kept_per_path)]).astype(np.int64),
        touch_channel=channel[keep],
        touch_age_days=None
        if paths.touch_age_days is None
        else paths.touch_age_days[keep],
        touch_campaign=None
        if paths.touch_campaign is None
        else paths.touch_campaign[keep],
    )


def paths_frame(paths: PathSet, separator: str = " > ") -> pd.DataFrame:
    """The aggregated path table of ``paths`` (distinct paths summed)."""
    names = np.array(paths.channels, dtype=object)[paths.touch_channel]
    texts = [
        separator.join(names[a:b])
        for a, b in zip(paths.offsets[:-1], paths.offsets[1:], strict=True)
    ]
    frame = pd.DataFrame(
        {
            "path": texts,
            "total_conversions": paths.conversions,
            "total_conversion_value": paths.value,
            "total_null": paths.nulls,
        }
    )
    return frame.groupby("path", as_index=False, sort=True).sum()


# --- the reader --------------------------------------------------------------------


def _header(source: SourceFile) -> list[str]:
    text = (source.head or "")[:20000]
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip().lower()
    for sep in (";", ",", "\t"):
        if sep in first:
            return [c.strip().strip('"') for c in first.split(sep)]
    return [first]


def score(source: SourceFile) -> float:
    """How sure we are that ``source`` is an aggregated path file (0 to 1)."""
    if source.head is None:
        return 0.0
    header = _header(source)
    if "path" not in header:
        return 0.0
    has_conv = any("conversion" in c and "value" not in c for c in header)
    if not has_conv:
        return 0.0
    body = source.head[:20000].split("\n", 3)[1:3]
    arrows = sum(PATH_SEPARATOR in line for line in body)
    return 0.9 if arrows else 0.6


def _column(header: list[str], *needles: str, avoid: str = "") -> str | None:
    for name in header:
        low = name.lower()
        if all(n in low for n in needles) and not (avoid and avoid in low):
            return name
    return None


def read(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read an aggregated path file into ``report.meta["paths"]``.

    The columns are found by name: ``path``, conversions (``total_conversions``),
    value (``total_conversion_value``, optional) and non-conversions (``total_null``,
    optional). Rows whose counts are not numbers or are negative are rejected and
    listed in the report.
    """
    text = source.text or ""
    sep = (
        ";" if ";" in text.split("\n", 1)[0] else ("\t" if "\t" in text[:500] else ",")
    )
    raw = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    raw.columns = [c.strip().lstrip("\ufeff") for c in raw.columns]
    header = list(raw.columns)
    path_col = next((c for c in header if c.lower() == "path"), None)
    conv_col = _column(header, "conversion", avoid="value")
    if path_col is None or conv_col is None:
        raise InputError(
            "an aggregated path file needs a 'path' column and a conversions column "
            "such as 'total_conversions'",
            file=source.name,
        )
    value_col = _column(header, "value")
    null_col = _column(header, "null")

    report = FileReport(file=source.name, kind="attribution_paths", rows_read=len(raw))
    frame = pd.DataFrame({"path": raw[path_col].str.strip()})
    bad = pd.Series(False, index=raw.index)
    for out, col in (
        ("total_conversions", conv_col),
        ("total_conversion_value", value_col),
        ("total_null", null_col),
    ):
        if col is None:
            frame[out] = 0.0
            continue
        numbers = pd.to_numeric(raw[col].str.strip().replace("", "0"), errors="coerce")
        wrong = numbers.isna() | (numbers < 0)
        for row in np.flatnonzero(wrong.to_numpy())[:50]:
            report.problems.append(
                Problem(
                    int(row) + 2,
                    col,
                    f"{raw[col].iloc[row]!r} is not a count "
                    "or amount >= 0; fix or remove the row",
                )
            )
        bad |= wrong
        frame[out] = numbers

    empty = frame["path"].eq("") & ~bad
    report.rows_rejected = int(bad.sum())
    report.rows_excluded = int(empty.sum())
    if report.rows_excluded:
        report.excluded_by["empty path"] = report.rows_excluded
    frame = frame[~bad & ~empty].reset_index(drop=True)
    report.rows_loaded = len(frame)
    report.meta["paths"] = frame
    report.notes.append(
        f"{len(frame):,} paths, {frame['total_conversions'].sum():,.0f} conversions, "
        f"{frame['total_null'].sum():,.0f} non-converting journeys"
    )
    report.check()
    log.info("read %d aggregated paths from %s", len(frame), source.name)
    return ReadResult(report=report)


register(
    "attribution_paths",
    score,
    read,
    "Aggregated conversion paths (path;total_conversions;total_conversion_value;"
    "total_null), as ChannelAttribution uses",
)
