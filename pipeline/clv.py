"""Customer value: purchase summaries, BG/NBD and Gamma-Gamma fits, CLV per customer.

The per-customer summary is computed in the event layer (:mod:`pipeline.eventlayer`)
as ibis expressions, so that it runs on DuckDB here and compiles for BigQuery or
Spark. One purchase counts per customer and local day (same-day orders are merged
and the number merged reported). With a calibration end date (inclusive), later
purchases up to the holdout end form the holdout and are not used in the fit.

Per customer, for a calibration ending at age ``T`` after the first purchase:

- ``frequency`` ``x``: repeat purchase-days (purchase-days after the first);
- ``recency`` ``t_x``: time from the first to the last purchase-day;
- ``T``: time from the first purchase-day to the calibration end;
- ``monetary_value``: mean value of the repeat purchase-days, the first left out as
  in Fader, Hardie and Lee (2005b); 0 for one-time buyers;

in days, or in weeks meaning days / 7 (never calendar weeks). The models are in
:mod:`pipeline.clv_models` (fitted by :mod:`pipeline.clv_optim`), customer value in
:mod:`pipeline.clv_fit`, holdout checks in :mod:`pipeline.clv_validation`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import pandas as pd

from pipeline.eventlayer import connect, date_to_day, day_to_date, event_frame
from pipeline.model import Dataset

log = logging.getLogger(__name__)

TIME_UNITS: dict[str, int] = {"days": 1, "weeks": 7}
"""Model time units and their length in days."""

MIN_REPEAT_CUSTOMERS = 10
"""Fewer repeat buyers than this: the models are not fitted, and the page says why."""

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12


@dataclass
class PurchaseSummary:
    """The per-customer summary for one calibration end, and how it was built.

    Attributes
    ----------
    customers
        One row per calibration customer, in no particular order: ``person_id,
        first_day, last_day, purchase_days, orders, total_value, repeat_value,
        frequency, recency, T, first_value, monetary_value`` and, with a holdout,
        ``holdout_frequency, holdout_orders, holdout_value``.
        Days are local day numbers (see :func:`pipeline.eventlayer.day_to_date`).
    time_unit
        ``"days"`` or ``"weeks"``.
    calibration_end, holdout_end
        Local dates (inclusive); ``holdout_end`` is ``None`` without a holdout.
    counts
        ``orders`` (purchases with a customer), ``orders_without_person``,
        ``orders_without_value``, ``orders_after_calibration``, and
        ``purchase_days`` and ``same_day_orders_merged`` among the calibration
        customers' purchases up to the holdout end.
    repeat_source
        Computes :attr:`repeat_by_day` when first asked for.
    """

    customers: pd.DataFrame
    time_unit: str
    calibration_end: dt.date
    holdout_end: dt.date | None
    counts: dict[str, int] = field(default_factory=dict)
    repeat_source: Callable[[], pd.DataFrame] | None = field(default=None, repr=False)
    _repeat_by_day: pd.DataFrame | None = field(default=None, init=False, repr=False)

    @property
    def repeat_by_day(self) -> pd.DataFrame:
        """Repeat purchase-days of the calibration customers per local day
        (``day, repeat_purchases``), in calibration and holdout, for tracking."""
        if self._repeat_by_day is None:
            empty = pd.DataFrame({"day": [], "repeat_purchases": []})
            source = self.repeat_source
            self._repeat_by_day = source() if source is not None else empty
        return self._repeat_by_day

    @property
    def unit_days(self) -> int:
        """Length of the time unit in days."""
        return TIME_UNITS[self.time_unit]

    @property
    def holdout_length(self) -> float:
        """Length of the holdout in the time unit (0 without a holdout)."""
        if self.holdout_end is None:
            return 0.0
        return (self.holdout_end - self.calibration_end).days / self.unit_days


def purchase_events(dataset: Dataset) -> tuple[pd.DataFrame, dict[str, int]]:
    """The dataset's purchases as ``order`` events, and what was left out.

    Returns
    -------
    (events, counts) where ``events`` has ``person_id, ts, event, value`` and
    ``counts`` holds ``orders_without_person`` and
    ``orders_without_value`` (kept, valued 0).
    """
    orders = dataset.purchases()
    has_person = orders["person_id"].notna() & orders["ts"].notna()
    value = pd.to_numeric(orders["net_value"], errors="coerce")
    counts = {
        "orders_without_person": int((~has_person).sum()),
        "orders_without_value": int(value[has_person].isna().sum()),
    }
    events = pd.DataFrame(
        {
            "person_id": orders["person_id"][has_person],
            "ts": orders["ts"][has_person],
            "event": "order",
            "value": value[has_person].fillna(0.0).astype("float64"),
        }
    )
    return events.reset_index(drop=True), counts


def purchase_days_table(events: ibis.Table) -> ibis.Table:
    """One row per customer and local day with a purchase: summed value, orders.

    Parameters
    ----------
    events
        An event-layer table (``person_id, day, event, value``).
    """
    orders = events.filter(events.event == "order")
    return orders.group_by(["person_id", "day"]).aggregate(
        value=orders.value.sum(), orders=orders.count()
    )


def summary_table(
    days: ibis.Table,
    calibration_end_day: int,
    unit_days: int = 1,
    holdout_end_day: int | None = None,
) -> ibis.Table:
    """The per-customer summary as an ibis expression over purchase-days.

    Parameters
    ----------
    days
        The result of :func:`purchase_days_table`.
    calibration_end_day
        Last local day of the calibration period (inclusive).
    unit_days
        1 for days, 7 for weeks.
    holdout_end_day
        Last local day of the holdout (inclusive), or ``None`` for no holdout.
    """
    last = calibration_end_day if holdout_end_day is None else holdout_end_day
    d = days.filter(days.day <= last)
    in_cal = d.day <= calibration_end_day
    per = d.group_by("person_id").aggregate(
        first_day=d.day.min(),
        last_day=d.day.max(where=in_cal),
        purchase_days=d.count(where=in_cal),
        orders=d.orders.sum(where=in_cal),
        total_value=d.value.sum(where=in_cal),
        first_value=d.value.argmin(d.day),
        holdout_frequency=d.count(where=~in_cal),
        holdout_orders=d.orders.sum(where=~in_cal).fill_null(0),
        holdout_value=d.value.sum(where=~in_cal).fill_null(0),
    )
    per = per.filter(per.first_day <= calibration_end_day)
    frequency = per.purchase_days - 1
    repeat_value = per.total_value - per.first_value
    columns = [
        per.person_id, per.first_day, per.last_day, per.purchase_days, per.orders,
        per.total_value, repeat_value.name("repeat_value"),
        frequency.name("frequency"),
        ((per.last_day - per.first_day) / unit_days).name("recency"),
        ((calibration_end_day - per.first_day) / unit_days).name("T"),
        per.first_value,
        ibis.ifelse(frequency > 0, repeat_value / frequency, 0).name("monetary_value"),
    ]
    if holdout_end_day is not None:
        columns += [per.holdout_frequency, per.holdout_orders, per.holdout_value]
    # (in one order every run: a fit's sums, and so its last digits, depend on it)
    return per.select(*columns).order_by("person_id")


def repeat_by_day_table(
    days: ibis.Table, calibration_end_day: int, last_day: int
) -> ibis.Table:
    """Repeat purchase-days per local day of customers acquired by the calibration end.

    The expression behind the cumulative tracking chart (Fader, Hardie and Lee
    2005a, figure 2).
    """
    firsts = days.group_by("person_id").aggregate(first_day=days.day.min())
    joined = days.join(firsts, "person_id")
    repeat = joined.filter(
        (joined.first_day <= calibration_end_day)
        & (joined.day > joined.first_day)
        & (joined.day <= last_day)
    )
    return repeat.group_by("day").aggregate(repeat_purchases=repeat.count()).order_by(
        "day"
    )


def purchase_summary(
    dataset: Dataset,
    calibration_end: dt.date | str | None = None,
    holdout_end: dt.date | str | None = None,
    time_unit: str = "days",
    con: ibis.BaseBackend | None = None,
) -> PurchaseSummary:
    """Summarise the dataset's purchases per customer for the models.

    Parameters
    ----------
    dataset
        The loaded data; its purchases and time zone are used.
    calibration_end
        Last local date of the calibration period (inclusive). ``None``: the last
        purchase date, and no holdout.
    holdout_end
        Last local date of the holdout (inclusive); defaults to the last purchase
        date when that is after ``calibration_end`` (else no holdout).
    time_unit
        ``"days"`` or ``"weeks"`` (days / 7).
    con
        An ibis backend; a fresh DuckDB one by default.

    Raises
    ------
    ValueError
        For an unknown time unit, no purchases with a person, or a calibration end
        before the first purchase or after the holdout end.
    """
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time unit {time_unit!r}: use one of {', '.join(TIME_UNITS)}")
    events, counts = purchase_events(dataset)
    if events.empty:
        raise ValueError(
            "no purchases with a customer (email, phone or customer id) were found: "
            "upload an orders or transactions export"
        )

    # Only the event layer's columns that the summary reads, scanned in place.
    if con is None:
        con = connect()
    frame = event_frame(events, dataset.timezone)
    days = purchase_days_table(
        ibis.memtable(frame[["person_id", "day", "event", "value"]])
    )
    first, last = int(frame["day"].min()), int(frame["day"].max())
    cal_day = last if calibration_end is None else date_to_day(calibration_end)
    hold_day = None if holdout_end is None else date_to_day(holdout_end)
    if hold_day is None and cal_day < last:
        hold_day = last
    _check_dates(cal_day, hold_day, first)

    unit = TIME_UNITS[time_unit]
    customers = con.execute(summary_table(days, cal_day, unit, hold_day))
    n_orders, n_days = customers["orders"].sum(), customers["purchase_days"].sum()
    if hold_day is not None:
        n_orders += customers["holdout_orders"].sum()
        n_days += customers["holdout_frequency"].sum()
    counts.update(
        orders=len(events),
        purchase_days=int(n_days),
        same_day_orders_merged=int(n_orders - n_days),
        orders_after_calibration=len(events) - int(customers["orders"].sum()),
    )
    log.info("purchase summary: %d customers, counts %s", len(customers), counts)
    return PurchaseSummary(
        customers=customers,
        time_unit=time_unit,
        calibration_end=day_to_date(cal_day).date(),
        holdout_end=None if hold_day is None else day_to_date(hold_day).date(),
        counts=counts,
        repeat_source=lambda: con.execute(
            repeat_by_day_table(days, cal_day, hold_day or cal_day)
        ),
    )


def _check_dates(cal_day: int, hold_day: int | None, first: int) -> None:
    """Raise ``ValueError`` for a calibration end or holdout end that cannot work."""
    if cal_day < first:
        raise ValueError(
            f"the calibration end {day_to_date(cal_day).date()} is before the first "
            f"purchase ({day_to_date(first).date()}): pick a later date"
        )
    if hold_day is not None and hold_day <= cal_day:
        raise ValueError(
            f"the holdout end {day_to_date(hold_day).date()} is not after the "
            f"calibration end {day_to_date(cal_day).date()}: pick a later holdout end "
            "or drop it"
        )
