"""Exact Markov attribution on ChannelAttribution's real sample paths.

Facts from ../shared/real/README.md: 10,000 paths, 19,785 conversions, 74,802.972
conversion value, 68,602 non-converting journeys.
"""

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from pipeline.attribution.analysis import analyse_paths
from pipeline.attribution.models import ModelSettings, attribute
from pipeline.attribution.paths import path_set_from_frame, read
from pipeline.ingest.base import ReadContext, SourceFile

PATHS = "paths/channelattribution_sample_paths.csv"


@pytest.fixture(scope="module")
def frame(real_dir):
    path = real_dir / PATHS
    source = SourceFile(path.name, path.read_bytes(), path.read_text(), "utf-8", ".csv")
    result = read(source, ReadContext())
    result.report.check()
    return result.report.meta["paths"]


@pytest.fixture(scope="module")
def markov(frame):
    return attribute(path_set_from_frame(frame), ("markov",))


def test_reader_keeps_every_path_and_count(frame):
    """Test that the reader loads the README's 10,000 paths and their totals."""
    assert len(frame) == 10_000
    assert frame["total_conversions"].sum() == 19_785
    assert frame["total_null"].sum() == 68_602
    assert frame["total_conversion_value"].sum() == pytest.approx(74_802.972, abs=5e-4)


def dense_markov_credit(frame: pd.DataFrame, order: int = 1) -> pd.Series:
    """Removal-effect credit from the fundamental matrix N = (I - Q)^-1.

    Built independently of the package: states are tuples of the last ``order``
    channels (shorter at a journey's start), transition counts come from pandas,
    absorption probabilities from a dense inverse, B = N R.
    """
    rows = []
    columns = ["path", "total_conversions", "total_null"]
    for path, conv, null in frame[columns].itertuples(index=False):
        touches = [s.strip() for s in path.split(">")]
        states = [("(start)",)] + [
            tuple(touches[max(0, i - order + 1) : i + 1]) for i in range(len(touches))
        ]
        weight = conv + null
        rows += [(a, b, weight) for a, b in zip(states[:-1], states[1:], strict=True)]
        rows += [(states[-1], "(conversion)", conv), (states[-1], "(null)", null)]
    counts: Counter = Counter()
    leaving: Counter = Counter()
    for src, dst, n in rows:
        counts[src, dst] += n
        leaving[src] += n
    transient = sorted(leaving)
    channels = sorted({c for s in transient for c in s if c != "(start)"})
    probs = {(src, dst): n / leaving[src] for (src, dst), n in counts.items()}
    idx = {s: i for i, s in enumerate(transient)}
    start = idx[("(start)",)]

    def conversion_probability(removed: str | None) -> float:
        q = np.zeros((len(transient), len(transient)))
        r = np.zeros(len(transient))
        for (src, dst), p in probs.items():
            if removed in src:
                continue
            if dst == "(conversion)":
                r[idx[src]] += p
            elif dst in idx and removed not in dst:
                q[idx[src], idx[dst]] += p
        fundamental = np.linalg.inv(np.eye(len(transient)) - q)
        return float((fundamental @ r)[start])

    full = conversion_probability(None)
    effects = pd.Series({c: 1 - conversion_probability(c) / full for c in channels})
    return frame["total_conversions"].sum() * effects / effects.sum()


def test_order1_markov_equals_dense_absorbing_chain(frame, markov):
    """Test order-1 credit against the fundamental-matrix answer, 1e-6 relative."""
    expected = dense_markov_credit(frame)
    ours = markov.conversions["markov"].reindex(expected.index)
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), rtol=1e-6)
    assert markov.conversions["markov"].sum() == pytest.approx(19_785, rel=1e-12)
    assert markov.revenue["markov"].sum() == pytest.approx(74_802.972, abs=5e-4)


@pytest.mark.parametrize("order", [2, 3])
def test_higher_order_markov_equals_dense_absorbing_chain(frame, order):
    """Test order-2 and order-3 credit (states of the last channels) against dense."""
    expected = dense_markov_credit(frame, order=order)
    paths = path_set_from_frame(frame)
    result = attribute(paths, ("markov",), ModelSettings(markov_order=order))
    ours = result.conversions["markov"].reindex(expected.index)
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), rtol=1e-6)
    assert ours.sum() == pytest.approx(19_785, rel=1e-12)


def test_markov_is_identical_across_runs(frame, markov):
    """Test that a second run gives bit-identical credit (no simulation)."""
    again = attribute(path_set_from_frame(frame), ("markov",))
    pd.testing.assert_frame_equal(
        markov.conversions, again.conversions, check_exact=True
    )


def test_channelattribution_simulation_within_its_noise_of_ours(frame, markov):
    """Test that ChannelAttribution 2.2.5's simulated Markov credit scatters round ours.

    Six seeds give the simulation's own run-to-run spread per channel; the mean of
    the six runs must lie within four standard deviations of a single run (plus a
    one-conversion floor for channels with a handful of conversions) of our
    exact figure.
    """
    ca = pytest.importorskip("ChannelAttribution")
    runs = []
    for seed in range(6):
        result = ca.markov_model(
            frame,
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            var_null="total_null",
            order=1,
            seed=seed,
            verbose=0,
            flg_pro=False,
        )
        runs.append(result.set_index("channel_name")["total_conversions"])
    sims = pd.concat(runs, axis=1)
    ours = markov.conversions["markov"].reindex(sims.index)
    spread = sims.std(axis=1)
    gap = (sims.mean(axis=1) - ours).abs()
    assert (gap <= 4 * spread + 1.0).all(), pd.DataFrame({"gap": gap, "sd": spread})


def test_heuristics_equal_channelattribution(frame):
    """Test first, last and linear touch credit against ChannelAttribution's own."""
    ca = pytest.importorskip("ChannelAttribution")
    theirs = ca.heuristic_models(
        frame,
        "path",
        "total_conversions",
        var_value="total_conversion_value",
        flg_pro=False,
    ).set_index("channel_name")
    ours = attribute(
        path_set_from_frame(frame), ("first_click", "last_click", "linear")
    )
    pairs = {
        "first_click": "first_touch",
        "last_click": "last_touch",
        "linear": "linear_touch",
    }
    for model, name in pairs.items():
        conv = ours.conversions[model].reindex(theirs.index)
        rev = ours.revenue[model].reindex(theirs.index)
        np.testing.assert_allclose(conv, theirs[f"{name}_conversions"], rtol=1e-9)
        np.testing.assert_allclose(rev, theirs[f"{name}_value"], rtol=1e-9)


def test_analysis_of_paths_leaves_out_time_models(frame):
    """Test that path files run every model but time decay, each summing to 19,785."""
    analysis = analyse_paths(frame, n_boot=20, seed=1)
    out = analysis.to_json()
    assert "time_decay" not in out["models"]
    assert set(out["models"]) == {
        "first_click",
        "last_click",
        "last_non_direct",
        "linear",
        "position_based",
        "markov",
        "shapley",
    }
    for credit in out["models"].values():
        assert sum(credit.values()) == pytest.approx(19_785)
    alpha = out["intervals"]["markov"]["alpha"]["conversions"]
    assert alpha[0] <= out["models"]["markov"]["alpha"] <= alpha[1]
    assert out["coverage"] == 1.0


def test_reader_rejects_bad_counts_naming_row_and_column():
    """Test that a non-numeric or negative count is rejected with its row and column."""
    text = (
        "path;total_conversions;total_conversion_value;total_null\n"
        "a > b;1;2.5;3\n"
        "b;x;1;1\n"
        ";0;0;4\n"
        "c;-2;0;1\n"
    )
    source = SourceFile("bad.csv", text.encode(), text, "utf-8", ".csv")
    report = read(source, ReadContext()).report
    report.check()
    assert (report.rows_read, report.rows_loaded) == (4, 1)
    assert (report.rows_rejected, report.rows_excluded) == (2, 1)
    assert [(p.row, p.column) for p in report.problems] == [
        (3, "total_conversions"),
        (5, "total_conversions"),
    ]
    assert report.meta["paths"]["path"].tolist() == ["a > b"]
