"""One currency at a time in ``clv`` and ``attribution``, and rejected rows reported.

The fixture splits real Shopify orders in two files: about a third of the orders (by
a hash of the order name) are relabelled EUR, the rest stay in USD. Analysing both
files together must give exactly what each file gives alone, never a sum of dollars
and euros.
"""

from __future__ import annotations

import csv
import io
import json
import zlib

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.clv_currency import (
    NO_CURRENCY,
    choose_currency,
    in_one_currency,
    purchase_currencies,
)
from pipeline.model import ORDER_COLUMNS, Dataset, conform

ORDERS = "shopify/apparel_orders_2023_2024.csv"
ROWS = 2500


@pytest.fixture(scope="module")
def split_files(real_dir, tmp_path_factory):
    """``(usd.csv, eur.csv)``: the first rows of the real orders, split by order."""
    text = (real_dir / ORDERS).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1 : ROWS + 1]
    name, currency = header.index("Name"), header.index("Currency")
    usd, eur = [], []
    for row in body:
        if zlib.crc32(row[name].encode()) % 3 == 0:
            row = [*row]
            if row[currency]:
                row[currency] = "EUR"
            eur.append(row)
        else:
            usd.append(row)
    folder = tmp_path_factory.mktemp("currency")
    paths = []
    for label, part in (("usd", usd), ("eur", eur)):
        path = folder / f"{label}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, *part])
        paths.append(str(path))
    return tuple(paths)


def run_json(capsys, command: str, *args: str) -> tuple[dict, str]:
    assert main([command, *args, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_attribution_revenue_is_one_currency(capsys, split_files):
    """Test that revenue of USD + EUR files is the USD file's, with a warning naming
    the EUR orders, and --currency EUR gives the EUR file's revenue."""
    usd, eur = split_files
    only_usd, _ = run_json(capsys, "attribution", usd, "--bootstrap", "0")
    only_eur, _ = run_json(capsys, "attribution", eur, "--bootstrap", "0")
    both, err = run_json(capsys, "attribution", usd, eur, "--bootstrap", "0")
    assert only_usd["currency"] == "USD" and only_eur["currency"] == "EUR"
    assert both["currency"] == "USD"
    assert both["revenue"] == pytest.approx(only_usd["revenue"], abs=0.005)
    assert both["conversions"] == only_usd["conversions"]
    n_eur = only_eur["conversions"]
    assert n_eur > 0
    assert f"{n_eur:,} orders in EUR left out: choose --currency EUR" in err
    chosen, err = run_json(
        capsys, "attribution", usd, eur, "--bootstrap", "0", "--currency", "eur"
    )
    assert chosen["currency"] == "EUR"
    assert chosen["revenue"] == pytest.approx(only_eur["revenue"], abs=0.005)
    assert "orders in USD left out: choose --currency USD" in err
    # The sum of both is what the defect printed; it is never shown now.
    assert both["revenue"] < only_usd["revenue"] + only_eur["revenue"] - 1
    # Interface keys unchanged.
    assert {"conversions", "revenue", "coverage", "models", "revenue_models",
            "intervals"} <= set(both)


def test_clv_fits_one_currency(capsys, split_files):
    """Test that CLV of USD + EUR files equals the USD file's fit and customers."""
    usd, eur = split_files
    alone, _ = run_json(capsys, "clv", usd)
    both, err = run_json(capsys, "clv", usd, eur)
    assert both["currency"] == "USD"
    assert both["customers"] == alone["customers"]
    assert both["counts"]["orders"] == alone["counts"]["orders"]
    assert both["gamma_gamma"] == alone["gamma_gamma"]
    assert both["bgnbd"] == alone["bgnbd"]
    assert "orders in EUR left out: choose --currency EUR to analyse them" in err
    eur_alone, _ = run_json(capsys, "clv", eur)
    eur_chosen, _ = run_json(capsys, "clv", usd, eur, "--currency", "EUR")
    assert eur_chosen["currency"] == "EUR"
    assert eur_chosen["customers"] == eur_alone["customers"]
    assert eur_chosen["counts"]["orders"] == eur_alone["counts"]["orders"]


def test_unknown_currency_is_an_error_listing_the_currencies(capsys, split_files):
    """Test that --currency GBP exits 2 and lists USD and EUR with their counts."""
    usd, eur = split_files
    assert main(["clv", usd, eur, "--currency", "GBP"]) == 2
    err = capsys.readouterr().err
    assert "no purchases in currency 'GBP'" in err
    assert "USD (" in err and "EUR (" in err


def _dataset(currencies: list[str | None]) -> Dataset:
    frame = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(currencies))],
            "person_id": [f"p{i}" for i in range(len(currencies))],
            "ts": pd.Timestamp("2024-01-01", tz="UTC"),
            "net_value": 10.0,
            "currency": currencies,
            "is_purchase": True,
        }
    )
    return Dataset(orders=conform(frame, ORDER_COLUMNS))


def test_choice_counts_default_and_no_currency():
    """Test counts per currency, the default (most purchases) and the warnings."""
    data = _dataset(["USD", "usd", "EUR", None, "", "USD", "EUR"])
    assert purchase_currencies(data) == {"USD": 3, "EUR": 2, NO_CURRENCY: 2}
    restricted, choice = in_one_currency(data)
    assert choice.currency == "USD" and choice.code == "USD"
    assert len(restricted.purchases()) == 3
    assert choice.warnings() == [
        "2 orders in EUR left out: choose --currency EUR to analyse them",
        "2 orders with no currency left out: choose --currency none to analyse them",
    ]
    none, choice = in_one_currency(data, "none")
    assert choice.code is None and len(none.purchases()) == 2
    assert choose_currency(_dataset(["BDT"])).left_out == {}
    assert choose_currency(Dataset()).currency is None


def test_clv_and_attribution_report_rejected_rows(capsys, tmp_path):
    """Test that both commands print each file's rejected rows like ``stages``."""
    events = tmp_path / "events.csv"
    events.write_text(
        "person,timestamp,event,channel,value\n"
        "a@x.com,2024-01-01T10:00:00Z,session,email,\n"
        "a@x.com,2024-01-02T10:00:00Z,order,,50\n"
        "b@x.com,not a time,order,,20\n"
        "b@x.com,2024-01-03T10:00:00Z,dance,,\n",
        encoding="utf-8",
    )
    main(["attribution", str(events), "--bootstrap", "0"])
    err = capsys.readouterr().err
    assert "events.csv (events_csv): 2 of 4 rows rejected" in err
    assert "  row 4, column 'timestamp': no readable time" in err
    assert "  row 5, column 'event': 'dance' is not an event type" in err
    main(["clv", str(events)])
    err = capsys.readouterr().err
    assert "events.csv (events_csv): 2 of 4 rows rejected" in err
    assert "  row 4, column 'timestamp'" in err
