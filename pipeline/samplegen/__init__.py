"""The sample brand: a seeded, fictional apparel store in real export layouts.

:func:`generate` simulates a few thousand leads day by day (see
:mod:`pipeline.samplegen.simulate`) and returns the files the store would export
(Shopify orders, customers and abandoned checkouts; Klaviyo profiles and events and
GA4 sessions as the generic events CSV) together with the simulation's own record
of the truth: each person's stage at the end date under the default stage rules,
what Klaviyo's attribution rule would claim, and the true effect of each channel.

:func:`synthetic_events` builds large event tables directly, for benchmarks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.samplegen.exports import Exporter
from pipeline.samplegen.simulate import simulate
from pipeline.samplegen.synthetic import synthetic_events
from pipeline.samplegen.truth import channel_effects, klaviyo_claims, stage_truth

log = logging.getLogger(__name__)

__all__ = ["FILE_NAMES", "SampleBrand", "generate", "synthetic_events"]

FILE_NAMES: tuple[str, ...] = (
    "shopify_orders.csv",
    "shopify_customers.csv",
    "shopify_abandoned_checkouts.csv",
    "klaviyo_profiles.csv",
    "klaviyo_events.csv",
    "ga4_sessions.csv",
)
"""The files of a sample brand, in the order they are written."""


@dataclass
class SampleBrand:
    """A generated store: its export files and the truth they were made from.

    Attributes
    ----------
    files
        File name -> bytes, in the layouts of the real exports.
    truth
        One row per person: ``person_id, stage, customer_kind`` (``first``,
        ``repeat`` or missing), ``purchases``, ``lapsed`` (captured now, engaged
        or in purchase intent on an earlier day) and ``rules`` (the default rules
        that hold on the end date, ``;``-separated).
    klaviyo_claims
        One row per purchase: ``order_id, person_id, claimed, message, channel,
        via, value``.
    channel_effects
        ``channel, true_effect, caused_purchases``, largest effect first.
    timezone
        The store's time zone.
    end_date
        The last simulated day.
    orders
        The simulation's orders with their exported ids, status and net value
        (for tests and benchmarks; not written).
    """

    files: dict[str, bytes]
    truth: pd.DataFrame
    klaviyo_claims: pd.DataFrame
    channel_effects: pd.DataFrame
    timezone: str
    end_date: str = ""
    orders: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def write(self, folder: str | Path) -> list[Path]:
        """Write the files, and the truth tables under ``truth/``.

        Returns
        -------
        list of pathlib.Path
            Every file written.
        """
        folder = Path(folder)
        (folder / "truth").mkdir(parents=True, exist_ok=True)
        written = []
        for name, data in self.files.items():
            path = folder / name
            path.write_bytes(data)
            written.append(path)
        for name, frame in (
            ("stages.csv", self.truth),
            ("klaviyo_claims.csv", self.klaviyo_claims),
            ("channel_effects.csv", self.channel_effects),
        ):
            path = folder / "truth" / name
            path.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode())
            written.append(path)
        log.info("wrote %d files to %s", len(written), folder)
        return written


def generate(
    n_leads: int = 3000,
    seed: int = 7,
    end_date: str = "2026-11-30",
    timezone: str = "America/New_York",
) -> SampleBrand:
    """Simulate a store and return its export files and ground truth.

    Parameters
    ----------
    n_leads
        Identified leads (with an email). Anonymous visitors (GA4 pseudo ids) come
        on top, a sixth as many; a few guest orders have no email at all.
    seed
        The same seed gives byte-identical files.
    end_date
        The last simulated day, ``YYYY-MM-DD`` in ``timezone``; the simulation
        covers the 365 days ending with it.
    timezone
        The store's IANA time zone: local days, and Shopify's UTC offsets.

    Returns
    -------
    SampleBrand

    Examples
    --------
    >>> brand = generate(n_leads=300, seed=1)
    >>> sorted(brand.files) == sorted(FILE_NAMES)
    True
    """
    if n_leads < 10:
        raise ValueError(f"n_leads must be at least 10, got {n_leads}")
    sim = simulate(n_leads, seed, end_date, timezone)
    exporter = Exporter(sim, timezone, seed)
    files = {
        "shopify_orders.csv": exporter.shopify_orders(),
        "shopify_customers.csv": exporter.shopify_customers(),
        "shopify_abandoned_checkouts.csv": exporter.shopify_checkouts(),
        "klaviyo_profiles.csv": exporter.klaviyo_profiles(),
        "klaviyo_events.csv": exporter.klaviyo_events(),
        "ga4_sessions.csv": exporter.ga4_sessions(),
    }
    orders = exporter.orders
    purchases = orders[orders["is_purchase"]].reset_index(drop=True)
    return SampleBrand(
        files=files,
        truth=stage_truth(sim, exporter.person_ids),
        klaviyo_claims=klaviyo_claims(sim, purchases),
        channel_effects=channel_effects(sim),
        timezone=timezone,
        end_date=end_date,
        orders=orders[
            [
                "order_id",
                "name",
                "person_id",
                "ts_us",
                "status",
                "total",
                "refunded",
                "net_value",
                "is_purchase",
            ]
        ].copy(),
    )
