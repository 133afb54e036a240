"""Phone numbers a reader could not read: in the row's country, or why not.

A number written without its country code (``4155550103``) names nobody until a
country is known. A file that has a country column per row (Klaviyo's
``Country``, Shopify's ``Country Code``) reads it there; otherwise the row's
problem says that the country code is missing and how to write the number, instead
of "no email or phone".
"""

from __future__ import annotations

import re

import pandas as pd
import phonenumbers

from pipeline.ingest.values import normalise_phone

EXAMPLE_REGION = "US"
"""The country of the number shown as an example when a country code is missing."""


def phones_in_country(written: pd.Series, country: pd.Series | None) -> pd.Series:
    """Phones in E.164; a number without a country code is read in its row's
    country when that cell holds a two-letter code (``US``, ``de``).

    Parameters
    ----------
    written
        The phone column as the file writes it.
    country
        The row's country column, or ``None`` when the file has none.

    Returns
    -------
    pandas.Series
        ``string`` dtype, ``NA`` where no number can be read.
    """
    phone = normalise_phone(written)
    if country is None:
        return phone
    region = country.astype("string").str.strip().str.upper()
    known = region.isin(phonenumbers.SUPPORTED_REGIONS).fillna(False).astype(bool)
    retry = phone.isna() & written.notna() & known
    for code in region[retry].unique():
        rows = retry & (region == code)
        phone[rows] = normalise_phone(written[rows], str(code))
    return phone


def unread_phone(written: object) -> str | None:
    """Why a phone cell names nobody, with what to do; ``None`` for a blank cell.

    ``"phone '4155550103' has no country code: write it in international form
    (+1 415 555 0103 for a US number) or give each row's two-letter country in a
    Country column"``.
    """
    if written is None or pd.isna(written) or not str(written).strip():
        return None
    text = str(written).strip()
    bare = text.lstrip("'’=\"")
    if not bare.startswith(("+", "00")) and len(re.sub(r"\D", "", bare)) >= 7:
        return (
            f"phone {text!r} has no country code: write it in international form "
            f"({_example(bare)}) or give each row's two-letter country in a Country "
            "column"
        )
    return (
        f"phone {text!r} cannot be read as a phone number: write it in "
        "international form, e.g. +44 20 7946 0958"
    )


def _example(bare: str) -> str:
    """The number in international form if it is a US one, or the general form."""
    try:
        number = phonenumbers.parse(bare, EXAMPLE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return "+, the country code, then the number, e.g. +44 20 7946 0958"
    text = phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return f"{text.replace('-', ' ')} for a {EXAMPLE_REGION} number"
