"""Tests of ``python -m pipeline clv``: the JSON shape, the CSV, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import lifetimes
import pandas as pd
import pytest

from pipeline.cli import main

CDNOW = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"


def run_json(capsys, *args: str) -> dict:
    """Run the command with ``--json`` and parse its output, refusing NaN."""
    assert main(["clv", *args, "--json"]) == 0
    out = capsys.readouterr().out

    def no_nan(token: str):
        raise AssertionError(f"JSON holds {token}")

    return json.loads(out, parse_constant=no_nan)


def test_cdnow_json_has_the_documented_shape(capsys, tmp_path):
    """Test the keys and values of the JSON for CDNOW with a holdout (weeks)."""
    out = tmp_path / "customers.csv"
    result = run_json(
        capsys, str(CDNOW), "--calibration-end", "1997-09-30",
        "--holdout-end", "1998-06-30", "--time-unit", "weeks", "--out", str(out),
    )
    assert result["customers"] == 2357 and result["repeat_customers"] == 946
    assert result["time_unit"] == "weeks"
    assert set(result["bgnbd"]) == {"r", "alpha", "a", "b"}
    assert round(result["bgnbd"]["alpha"], 3) == 4.414  # per week
    assert set(result["gamma_gamma"]) == {"p", "q", "v"}
    assert round(result["gamma_gamma"]["v"], 2) == 15.44
    holdout = result["holdout"]
    assert set(holdout) == {"predicted", "actual", "error_pct"}
    assert isinstance(holdout["actual"], int)
    assert holdout["error_pct"] == pytest.approx(
        100 * (holdout["predicted"] - holdout["actual"]) / holdout["actual"], abs=1e-3
    )
    table = pd.read_csv(out)
    assert len(table) == 2357
    assert {"p_alive", "clv", "churn_risk", "next_purchase_date"} <= set(table.columns)
    assert table["holdout_frequency"].sum() == holdout["actual"]


def test_holdout_is_null_without_calibration_end(capsys):
    """Test that without --calibration-end the holdout is null and all purchases
    are used (days by default)."""
    result = run_json(capsys, str(CDNOW))
    assert result["holdout"] is None and result["time_unit"] == "days"
    assert result["counts"]["orders"] == 6919


def test_too_few_repeat_buyers_give_nulls_and_a_reason(capsys, tmp_path):
    """Test that a file the models cannot use still answers, with null parameters
    and the reason in ``status`` (exit 0: the input was used)."""
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,date,amount\n" + "".join(
            f"c{i},2024-01-0{1 + i % 5},{10 + i}\n" for i in range(12)
        )
    )
    result = run_json(capsys, str(path))
    assert result["bgnbd"] == {"r": None, "alpha": None, "a": None, "b": None}
    assert "not fitted" in result["status"][0]


def test_unusable_input_exits_2(capsys, tmp_path):
    """Test exit status 2 and a message when no input could be used."""
    path = tmp_path / "notes.txt"
    path.write_text("nothing here\n")
    assert main(["clv", str(path)]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.slow
def test_apparel_orders_run_with_a_holdout(capsys, real_dir):
    """Test the brand's two Shopify order files: 9,959 purchases (README), fitted,
    with a holdout from 2024-07-01 to 2024-12-31."""
    shopify = real_dir / "shopify"
    result = run_json(
        capsys, str(shopify / "apparel_orders_2020_2023.csv"),
        str(shopify / "apparel_orders_2023_2024.csv"),
        "--calibration-end", "2024-06-30",
    )
    assert result["counts"]["orders"] + result["counts"]["orders_without_person"] \
        == 9959
    assert result["fit"]["bgnbd"]["converged"]
    assert result["fit"]["gamma_gamma"]["converged"]
    assert result["holdout"]["actual"] > 0 and result["holdout"]["predicted"] > 0
