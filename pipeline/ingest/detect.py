"""Which reader a file goes to: every registered reader scores it; the best wins.

Scores lie in [0, 1] and come from the file's header and values, never its name.
A user's column mappings (``{"person": "Email", ...}``, one per layout) take a file
whose columns include every column one of them names: the first that fits.
"""

from __future__ import annotations

import logging

from pipeline.ingest import raw
from pipeline.ingest.base import REGISTRY, SourceFile
from pipeline.model import EVENT_TYPES, InputError

logger = logging.getLogger(__name__)

UNRECOGNISED = "the kind of this file could not be recognised"
"""How a file of no known kind is reported (the app offers to map its columns)."""

KIND_LABELS: dict[str, str] = {
    "shopify_orders": "Shopify orders export",
    "shopify_checkouts": "Shopify abandoned checkouts export",
    "shopify_customers": "Shopify customers export",
    "events_csv": "events CSV (person, timestamp, event, channel, campaign, product, "
    "order_id, value)",
    "transactions": "transaction log (customer id, date, amount; with or without "
    "header)",
    "mapped": "any table, with a column mapping",
}
"""Readable names of kinds; readers registered by others describe themselves."""


def supported_kinds() -> str:
    """The kinds of file the registered readers understand, as one sentence."""
    names = []
    for kind, reader in sorted(REGISTRY.items()):
        if kind == "mapped":
            continue
        names.append(reader.description or KIND_LABELS.get(kind, kind))
    return "; ".join(names)


def scores(source: SourceFile) -> dict[str, float]:
    """Every registered reader's score for the file (a failing scorer scores 0)."""
    out: dict[str, float] = {}
    for kind, reader in REGISTRY.items():
        try:
            out[kind] = float(reader.score(source))
        except InputError:
            out[kind] = 0.0
        except Exception:  # noqa: BLE001 - one reader's bug must not stop the upload
            logger.exception("reader %s failed to score a file", kind)
            out[kind] = 0.0
    return out


def mapping_list(mapping: dict | list[dict] | None) -> list[dict]:
    """A user's mappings as a list: one mapping, a list of them, or none."""
    if mapping is None:
        return []
    return [mapping] if isinstance(mapping, dict) else list(mapping)


def fitting_mapping(
    source: SourceFile, mapping: dict | list[dict] | None
) -> dict | None:
    """The first of the user's mappings whose every named column the file has.

    ``None`` when none fits.

    Raises
    ------
    InputError
        When the file's header cannot be read.
    """
    mappings = mapping_list(mapping)
    if not mappings:
        return None
    columns = {str(c).strip().lower() for c in raw.peek(source, rows=5).columns}
    return next((m for m in mappings if _mapping_fits(columns, m)), None)


def detect(source: SourceFile, mapping: dict | list[dict] | None = None) -> str:
    """The kind of a file.

    Parameters
    ----------
    source
        The decoded file.
    mapping
        A user's column mapping, or a list of them (one per layout); one takes the
        file when the file has every column it names (:func:`fitting_mapping`).

    Returns
    -------
    str
        The registered kind with the highest score above zero.

    Raises
    ------
    InputError
        When no reader recognises the file: the message lists the kinds supported
        and points to the column-mapping step. When its first line is too long to
        be a header (:func:`~pipeline.ingest.raw.overlong_header`).
    """
    overlong = raw.overlong_header(source)
    if overlong is not None:
        raise overlong
    if mapping and fitting_mapping(source, mapping) is not None:
        return "mapped"
    found = scores(source)
    found.pop("mapped", None)
    best = max(found.items(), key=lambda item: item[1], default=("", 0.0))
    if best[1] > 0:
        logger.info("%s detected as %s (score %.2f)", source.name, *best)
        return best[0]
    raise InputError(
        f"{UNRECOGNISED} from its columns: it is not "
        "an export from Shopify, Klaviyo, GA4 or an ad platform, nor an events CSV. "
        "Map its columns (the app's 'Map columns' step, or --mapping mapping.json on "
        "the command line); `python -m pipeline inspect --help` lists every kind "
        "understood",
        file=source.name,
    )


def _mapping_fits(columns: set[str], mapping: dict) -> bool:
    """Whether every column the mapping names is among ``columns`` (lower case)."""
    wanted = {
        value.strip().lower()
        for key, value in mapping.items()
        if isinstance(value, str)
        and not value.startswith("=")
        and not (key == "event" and value in EVENT_TYPES)
    }
    return bool(wanted) and wanted <= columns
