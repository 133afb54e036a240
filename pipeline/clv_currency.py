"""One currency at a time for customer value and revenue-based attribution.

Every order keeps its currency, and amounts in different currencies are never added
up (there are no exchange rates to do it with). Customer value and attribution
therefore run on the purchases of one currency: by default the one with the most
purchases. The other currencies' purchases are left out of that whole analysis
(counts as well as amounts), and :meth:`CurrencyChoice.warnings` names them and
says how to analyse them instead.

Purchases with no currency at all form their own group, chosen with
:data:`NO_CURRENCY`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import pandas as pd

from pipeline.model import Dataset

log = logging.getLogger(__name__)

NO_CURRENCY = "none"
"""The choice that stands for purchases whose export gave no currency."""


def _codes(orders: pd.DataFrame) -> pd.Series:
    """Each order's upper-case currency code, :data:`NO_CURRENCY` when missing."""
    codes = orders["currency"].astype("string").str.strip().str.upper()
    return codes.mask(codes.isna() | (codes == ""), NO_CURRENCY).fillna(NO_CURRENCY)


def purchase_currencies(dataset: Dataset) -> dict[str, int]:
    """Purchases per currency, most purchases first (ties: alphabetical).

    Orders without a currency count under :data:`NO_CURRENCY`. An empty dict when
    there are no purchases.
    """
    counts = _codes(dataset.purchases()).value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] == NO_CURRENCY,
                                                   kv[0]))
    return {str(code): int(n) for code, n in ranked}


@dataclass
class CurrencyChoice:
    """The currency analysed and the purchases left out.

    Attributes
    ----------
    currency
        ISO code analysed, or :data:`NO_CURRENCY` for purchases with no currency;
        ``None`` when there are no purchases at all.
    counts
        Purchases per currency (see :func:`purchase_currencies`).
    """

    currency: str | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        """The ISO code for money formatting (``None``: no currency known)."""
        return None if self.currency in (None, NO_CURRENCY) else self.currency

    @property
    def left_out(self) -> dict[str, int]:
        """Purchases of the other currencies, per currency."""
        return {c: n for c, n in self.counts.items() if c != self.currency}

    def warnings(
        self,
        how: str = "choose --currency {code} to analyse them",
        none_label: str = NO_CURRENCY,
    ) -> list[str]:
        """One sentence per left-out currency.

        Parameters
        ----------
        how
            What the user does to analyse them; ``{code}`` is replaced by the
            currency's choice value (``--currency EUR`` on the command line, the
            page's selectbox in the app).
        none_label
            How the choice of orders without a currency is named in ``how`` (the
            app's selectbox words it, the command line takes ``none``).
        """
        lines = []
        for code, n in self.left_out.items():
            noun = "order" if n == 1 else "orders"
            where = "with no currency" if code == NO_CURRENCY else f"in {code}"
            named = none_label if code == NO_CURRENCY else code
            lines.append(f"{n:,} {noun} {where} left out: {how.format(code=named)}")
        return lines


def choose_currency(dataset: Dataset, currency: str | None = None) -> CurrencyChoice:
    """The currency to analyse: ``currency`` or the one with the most purchases.

    Raises
    ------
    ValueError
        When ``currency`` is given but no purchase is in it; the message lists the
        currencies there are.
    """
    counts = purchase_currencies(dataset)
    if currency is None:
        chosen = next(iter(counts), None)
    else:
        chosen = currency.strip().upper()
        if chosen == NO_CURRENCY.upper():
            chosen = NO_CURRENCY
        if chosen not in counts:
            have = ", ".join(f"{c} ({n:,})" for c, n in counts.items()) or "none"
            raise ValueError(
                f"no purchases in currency {currency!r}: the purchases are in {have}; "
                "choose one of those"
            )
    return CurrencyChoice(chosen, counts)


def restrict_to_currency(dataset: Dataset, choice: CurrencyChoice) -> Dataset:
    """A copy of ``dataset`` whose orders are only those in ``choice``'s currency.

    Other tables are shared, not copied. With a single currency (or none) the
    dataset itself is returned.
    """
    if choice.currency is None or not choice.left_out:
        return dataset
    orders = dataset.orders[_codes(dataset.orders) == choice.currency]
    log.info("analysing %d orders in %s", len(orders), choice.currency)
    return dataclasses.replace(dataset, orders=orders.reset_index(drop=True))


def in_one_currency(
    dataset: Dataset, currency: str | None = None
) -> tuple[Dataset, CurrencyChoice]:
    """:func:`choose_currency` then :func:`restrict_to_currency`."""
    choice = choose_currency(dataset, currency)
    return restrict_to_currency(dataset, choice), choice
