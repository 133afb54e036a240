"""One person across files: the ``person_id`` rules and the merge of people.

A person's key is, in this order of preference:

1. the normalised email (trimmed, lower case): ``ann@example.com``;
2. the phone in E.164 with a ``tel:`` prefix: ``tel:+4915555555555``;
3. a platform id with its platform as prefix: ``shopify:123``, ``ga4:1.2``,
   ``id:1000``.

A platform id or phone seen beside an email in any file links to that email
(:func:`link_map`), so a row keyed ``shopify:123`` in one file and
``ann@example.com`` in another becomes one person.
"""

from __future__ import annotations

import logging

import pandas as pd

from pipeline.ingest.values import normalise_email, normalise_phone

logger = logging.getLogger(__name__)


def person_key(
    email: pd.Series | None = None,
    phone: pd.Series | None = None,
    platform_id: pd.Series | None = None,
    *,
    platform: str = "id",
    region: str | None = None,
    index: pd.Index | None = None,
) -> pd.Series:
    """The ``person_id`` of each row from its email, phone and platform id.

    Parameters
    ----------
    email, phone, platform_id
        Raw columns as written in the file (any may be ``None``); they are
        normalised here (:func:`~pipeline.ingest.values.normalise_email`,
        :func:`~pipeline.ingest.values.normalise_phone`).
    platform
        Prefix of platform ids (``"shopify"``, ``"ga4"``, ``"klaviyo"``, ``"id"``).
        An id that already carries a prefix (``ga4:...``) keeps it.
    region
        Country for phone numbers written without a country code.
    index
        The rows' index when every column is ``None``.

    Returns
    -------
    pandas.Series
        ``string`` dtype; ``NA`` where the row names nobody.
    """
    given = [c for c in (email, phone, platform_id) if c is not None]
    if index is None:
        index = given[0].index if given else pd.RangeIndex(0)
    key = pd.Series(pd.NA, index=index, dtype="string")
    if email is not None:
        key = normalise_email(email).astype("string")
    # phones and ids are worked out only for rows that have no key yet
    if phone is not None and key.isna().any():
        open_rows = key.isna().to_numpy()
        e164 = normalise_phone(phone[open_rows], region)
        key[open_rows] = ("tel:" + e164).to_numpy()
    if platform_id is not None and key.isna().any():
        open_rows = key.isna().to_numpy()
        key[open_rows] = platform_ids(platform_id[open_rows], platform).to_numpy()
    return key


def platform_ids(ids: pd.Series, platform: str) -> pd.Series:
    """Platform ids as keys (``shopify:123``), kept as text so no digit is lost.

    A whole number read as a float (``123.0``) is written back as ``123``.
    """
    text = ids.astype("string").str.strip()
    text = text.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    text = text.mask(text.str.lower().isin(["", "nan", "none", "null", "(not set)"]))
    prefixed = text.str.contains(r"^[a-z0-9_]+:", regex=True, na=False)
    return text.where(prefixed, platform + ":" + text).astype("string")


def link_map(pairs: pd.DataFrame) -> dict[str, str]:
    """Which secondary keys (phones, platform ids) belong to which email key.

    Parameters
    ----------
    pairs
        Rows with ``person_id`` (the row's chosen key) and ``alias`` (another key the
        same row names: its ``tel:`` phone or platform id).

    Returns
    -------
    dict
        ``alias -> person_id`` for every alias seen with exactly one better key. An
        alias seen with two different emails links to neither (it is ambiguous, as
        a shared family phone is).
    """
    if pairs.empty:
        return {}
    p = pairs.dropna(subset=["person_id", "alias"])
    p = p[p["person_id"] != p["alias"]]
    p = p.drop_duplicates(["person_id", "alias"])
    rank_key = _rank(p["person_id"])
    rank_alias = _rank(p["alias"])
    p = p[rank_key < rank_alias]
    counts = p.groupby("alias")["person_id"].transform("nunique")
    unique = p[counts == 1]
    return dict(zip(unique["alias"], unique["person_id"], strict=True))


def _rank(keys: pd.Series) -> pd.Series:
    """0 for email keys, 1 for phones, 2 for platform ids."""
    keys = keys.astype("string")
    return (
        keys.str.startswith("tel:").astype(int) * 1
        + (~keys.str.contains("@", regex=False) & ~keys.str.startswith("tel:")).astype(
            int
        )
        * 2
    )


def apply_links(keys: pd.Series, links: dict[str, str]) -> pd.Series:
    """Replace linked aliases by their person's key (following chains once more)."""
    if not links:
        return keys
    out = keys.astype("string")
    for _ in range(2):
        linked = out.map(links).astype("string")
        out = linked.fillna(out)
    return out
