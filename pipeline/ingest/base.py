"""What a reader is: how it recognises a file and what it returns.

Every reader is registered with :func:`register` under a *kind* name
(``shopify_orders``, ``ga4_report``, ``klaviyo_events``, ...). Detection asks every
reader for a score from the file's header and values (never its name) and gives the
file to the highest scorer above zero. A reader returns a :class:`ReadResult`: the
model's tables it filled (any may be ``None``) and a
:class:`~pipeline.model.FileReport` that accounts for every row it read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.model import FileReport


@dataclass
class SourceFile:
    """One file, unpacked from any container and decoded.

    Attributes
    ----------
    name
        What the user calls it: the upload's name, or ``archive.zip/inner.csv``.
    data
        The file's bytes after decompression (``.gz``, ``.zip`` member).
    text
        The decoded text for text formats, ``None`` for binary ones (Parquet, xlsx).
    encoding
        The encoding the text was decoded from.
    extension
        The inner file's extension, lower case with the dot (``".csv"``).
    """

    name: str
    data: bytes
    text: str | None = None
    encoding: str | None = None
    extension: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ReadContext:
    """Settings a reader may need beyond the file itself.

    Attributes
    ----------
    timezone
        The store's time zone when the user set one, else ``None``.
    mapping
        A user's column mapping for generic tables (``{"person": "Email", ...}``).
    dayfirst
        ``True``/``False`` when the user said how dates are written; ``None`` to infer.
    """

    timezone: str | None = None
    mapping: dict[str, Any] | None = None
    dayfirst: bool | None = None


@dataclass
class ReadResult:
    """The model tables one file filled, and where each of its rows went."""

    report: FileReport
    people: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    orders: pd.DataFrame | None = None
    aggregates: pd.DataFrame | None = None
    spend: pd.DataFrame | None = None
    claims: pd.DataFrame | None = None


Scorer = Callable[[SourceFile], float]
ReadFn = Callable[[SourceFile, ReadContext], ReadResult]


@dataclass(frozen=True)
class Reader:
    """A registered reader: its kind, how sure it is of a file, and how to read it."""

    kind: str
    score: Scorer
    read: ReadFn
    description: str = ""


REGISTRY: dict[str, Reader] = {}


def register(kind: str, score: Scorer, read: ReadFn, description: str = "") -> Reader:
    """Add a reader to the registry (a later registration of a kind replaces it)."""
    reader = Reader(kind, score, read, description)
    REGISTRY[kind] = reader
    return reader
