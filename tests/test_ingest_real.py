"""Test that every real export in ../shared/real loads and reconciles."""

import pytest

from pipeline.ingest import load_files, read_paths
from pipeline.model import InputError
from tests.conftest import REAL

REAL_FILES = sorted(str(p.relative_to(REAL)) for p in REAL.glob("*/*.csv"))
OWN_KINDS = {
    "shopify/apparel_orders_2020_2023.csv": "shopify_orders",
    "shopify/apparel_orders_2023_2024.csv": "shopify_orders",
    "shopify/apparel_abandoned_checkouts_2023_2026.csv": "shopify_checkouts",
    "shopify/cod_store_a_orders.csv": "shopify_orders",
    "shopify/cod_store_orders_utm_in_notes.csv": "shopify_orders",
    "shopify/customers_export_small_store.csv": "shopify_customers",
    "transactions/klaviyo_screening_orders.csv": "transactions",
}


@pytest.mark.parametrize("relative", REAL_FILES)
def test_every_real_file_loads_and_reconciles(relative, real_dir):
    """Test each file gets a kind and rows read = loaded + excluded + dup + rejected."""
    try:
        data = load_files(read_paths([str(real_dir / relative)]))
    except InputError as exc:
        # only a kind nobody reads yet may be refused, and then with a clear message
        assert relative not in OWN_KINDS, str(exc)
        assert "could not be recognised" in str(exc)
        return
    for report in data.reports:
        report.check()
        assert report.rows_read > 0
        assert not report.meta.get("failed"), report.problems
    if relative in OWN_KINDS:
        assert data.reports[0].kind == OWN_KINDS[relative]


def test_all_real_files_together(real_dir):
    """Test one upload of every real file: nothing crashes, every report adds up."""
    paths = [str(real_dir / r) for r in REAL_FILES]
    data = load_files(read_paths(paths))
    assert len(data.reports) == len(paths)
    for report in data.reports:
        report.check()
    kinds = {r.file: r.kind for r in data.reports}
    for relative, kind in OWN_KINDS.items():
        assert kinds[relative.split("/")[1]] == kind
    # the boundary orders count once even among every other file
    apparel = data.orders[data.orders["source_file"].str.startswith("apparel_orders")]
    assert len(apparel) == 11_029
