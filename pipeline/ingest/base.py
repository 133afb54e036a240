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

HEAD_CHARS = 1_000_000
"""Characters of a file's text that detection looks at (:attr:`SourceFile.head`)."""


class SourceFile:
    """One file, unpacked from any container and decoded.

    Parameters
    ----------
    name
        What the user calls it: the upload's name, or ``archive.zip/inner.csv``.
    data
        The file's bytes after decompression (``.gz``, ``.zip`` member).
    text
        The decoded text for text formats, ``None`` for binary ones (Parquet, xlsx)
        and for text decoded on first use (see ``decoder``).
    encoding
        The encoding the text was (or is expected to be) decoded from.
    extension
        The inner file's extension, lower case with the dot (``".csv"``).
    decoder
        For a large file: returns ``(text, encoding)`` when :attr:`text` is first
        asked for. A reader that parses the bytes itself (pyarrow's CSV reader on
        UTF-8) then never holds a second copy of the file as text.
    head
        The start of the text, when ``text`` is left to the decoder.
    """

    def __init__(
        self,
        name: str,
        data: bytes,
        text: str | None = None,
        encoding: str | None = None,
        extension: str = "",
        *,
        decoder: Callable[[], tuple[str, str]] | None = None,
        head: str | None = None,
    ) -> None:
        self.name = name
        self.data = data
        self.encoding = encoding
        self.extension = extension
        self._text = text
        self._decoder = decoder
        self._head = head
        self._cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return (
            f"SourceFile({self.name!r}, {len(self.data):,} bytes, "
            f"encoding={self.encoding!r})"
        )

    @property
    def text(self) -> str | None:
        """The whole decoded text (``None`` for a binary file)."""
        if self._text is None and self._decoder is not None:
            self._text, self.encoding = self._decoder()
        return self._text

    @text.setter
    def text(self, value: str | None) -> None:
        self._text = value

    @property
    def head(self) -> str | None:
        """The first :data:`HEAD_CHARS` characters of the text, for detection.

        ``None`` for a binary file. Never decodes more of a large file than that.
        """
        if self._head is None:
            text = self.text
            self._head = None if text is None else text[:HEAD_CHARS]
        return self._head

    def release_text(self) -> bool:
        """Free the decoded text if it can be decoded again from the bytes.

        Returns
        -------
        bool
            Whether the text was freed: only a file decoded from strict UTF-8 (or
            ASCII) can be decoded again the same way.
        """
        if self._text is None or self.encoding not in ("utf-8", "ascii"):
            return False
        if self._head is None:
            self._head = self._text[:HEAD_CHARS]
        encoding, data = self.encoding, self.data
        self._decoder = lambda: (str(data, encoding), encoding)
        self._text = None
        return True


@dataclass
class ReadContext:
    """Settings a reader may need beyond the file itself.

    Attributes
    ----------
    timezone
        The store's time zone when the user set one, else ``None``.
    mapping
        The user's column mapping for this file (``{"person": "Email", ...}``): the
        one of ``mappings`` that fits it, chosen per file before it is read.
    dayfirst
        ``True``/``False`` when the user said how dates are written; ``None`` to infer.
    mappings
        Every mapping the user gave, one per layout of table of no known kind.
    """

    timezone: str | None = None
    mapping: dict[str, Any] | None = None
    dayfirst: bool | None = None
    mappings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReadResult:
    """The model tables one file filled, and where each of its rows went.

    ``people_cover`` is ``True`` when every person of ``events`` and ``orders`` has a
    row in ``people`` whose ``first_seen`` is no later than their first event or
    order, and ``people`` holds one row per person: the merge then learns this
    file's people from ``people`` alone, sparing passes over a large events table.
    """

    report: FileReport
    people: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    orders: pd.DataFrame | None = None
    aggregates: pd.DataFrame | None = None
    spend: pd.DataFrame | None = None
    claims: pd.DataFrame | None = None
    people_cover: bool = False


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
