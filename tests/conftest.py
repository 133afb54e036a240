"""Shared test fixtures: where the real export files are, and small helpers."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "real"
DATA = Path(__file__).resolve().parent / "data"
PAGES = [
    "pages/overview.py",
    "pages/funnel.py",
    "pages/customer_value.py",
    "pages/attribution.py",
    "pages/leads.py",
]
"""The app's pages, in the order of its navigation."""


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """The real public exports in ``../shared/real`` (read-only; never edited)."""
    if not REAL.is_dir():
        pytest.fail(
            f"{REAL} is missing: the tests need ../shared/real beside the clone"
        )
    return REAL


def real_bytes(relative: str) -> tuple[str, bytes]:
    """(name, bytes) of one real file, as an upload would carry it."""
    path = REAL / relative
    return path.name, path.read_bytes()
