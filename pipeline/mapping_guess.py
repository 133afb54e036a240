"""First guesses for a column mapping, from a table's headers alone.

The column-mapping form starts from :func:`guessed_mapping`, so a table with headers
such as ``Email, Joined, Source, Amount`` opens with the person, the time, the
channel and the value already chosen, and a field no header names is left empty for
the user to choose, never set to the first column. :func:`starting_mapping` keeps a
mapping in use only for a table it fits: another layout starts from its own headers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.ingest.mapping import misfit_message
from pipeline.model import EVENT_TYPES

FIELD_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "person": (
        ("email",),
        ("e", "mail"),
        ("mail",),
        ("phone",),
        ("mobile",),
        ("customer",),
        ("client",),
        ("user",),
        ("person",),
        ("contact",),
        ("subscriber",),
        ("member",),
    ),
    "timestamp": (
        ("timestamp",),
        ("datetime",),
        ("date",),
        ("time",),
        ("created",),
        ("joined",),
        ("signup",),
        ("signed", "up"),
        ("ordered",),
        ("purchased",),
        ("day",),
        ("when",),
        ("ts",),
        ("at",),
    ),
    "event": (("event",), ("action",), ("activity",), ("type",)),
    "channel": (
        ("channel",),
        ("source",),
        ("medium",),
        ("referrer",),
        ("utm",),
        ("platform",),
    ),
    "value": (
        ("value",),
        ("amount",),
        ("total",),
        ("revenue",),
        ("price",),
        ("spend",),
        ("sales",),
        ("subtotal",),
    ),
}
"""Words a header holds for each field, the likeliest first."""

ID_ONLY = ("id",)
"""A header that is just "id" names a person only when nothing better does."""


def header_words(header: str) -> tuple[str, ...]:
    """A header's words in lower case: ``"createdAt" -> ("created", "at")``."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(header))
    return tuple(re.findall(r"[a-z0-9]+", spaced.lower()))


def _holds(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Whether ``phrase`` occurs in ``words``, word for word."""
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1))


def guessed_mapping(columns: Sequence[str]) -> dict[str, str | None]:
    """The column each mapping field most likely is, from the headers alone.

    Parameters
    ----------
    columns
        The table's headers, in its order.

    Returns
    -------
    dict
        ``person``, ``timestamp``, ``event``, ``channel`` and ``value``, each the
        first column whose header holds the field's likeliest word (an email before
        a customer id; a date before a day), or ``None`` when no header does. No
        column is guessed for two fields; a header that is just ``id`` is the person
        only when no other header names one.
    """
    words = {column: header_words(column) for column in columns}
    taken: set[str] = set()
    guesses: dict[str, str | None] = {}
    for field, phrases in FIELD_WORDS.items():
        guesses[field] = None
        for phrase in phrases:
            match = next(
                (c for c in columns if c not in taken and _holds(words[c], phrase)),
                None,
            )
            if match is not None:
                guesses[field] = match
                taken.add(match)
                break

    # a bare "id" column is the person only as the last resort
    if guesses["person"] is None:
        guesses["person"] = next(
            (c for c in columns if c not in taken and words[c] == ID_ONLY), None
        )
    return guesses


def starting_mapping(
    columns: Sequence[str], mapping: dict[str, str] | None = None
) -> dict[str, str | None]:
    """Where a mapping form starts for a table: the user's ``mapping`` when the
    table has every column it names, else the guesses from the table's own headers.

    Parameters
    ----------
    columns
        The table's headers, in its order.
    mapping
        A mapping in use (``{"person": "Email", "event": "=signup", ...}``), or
        ``None``.

    Returns
    -------
    dict
        ``person``, ``timestamp``, ``event``, ``channel`` and ``value``: the
        mapping's column (a field it leaves out ``None``) or constant (``"=signup"``)
        when it fits; otherwise :func:`guessed_mapping`, so a table of another layout
        never starts from a mapping made for other columns.
    """
    guesses = guessed_mapping(columns)
    if not mapping or misfit_message(mapping, list(columns)) is not None:
        return guesses
    lower = {c.strip().lower(): c for c in columns}
    start: dict[str, str | None] = dict.fromkeys(guesses)
    for field, target in mapping.items():
        if field not in start:
            continue
        if target.startswith("=") or (field == "event" and target in EVENT_TYPES):
            start[field] = target if target.startswith("=") else f"={target}"
        else:
            start[field] = lower.get(target.strip().lower())
    return start
