"""Tests of tabtransfer.psm on simulated data with a known effect."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

import tabtransfer.psm as psm

# Most tests use the default caliper, which drops a few treated units with a warning.
pytestmark = pytest.mark.filterwarnings("ignore::tabtransfer.psm.UnmatchedTreatedWarning")

COVARIATES = ["x1", "x2", "x3"]


def simulate(n=3000, seed=0, effect_slope=1.0):
    """Confounded data with a heterogeneous effect tau(x) = 1 + effect_slope * x1.

    Treatment probability rises with x1 and x2, and the outcome rises with both,
    so the naive difference of means is biased upwards. Returns the frame and
    the sample ATT, the mean of tau(x) over the treated rows.
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    x3 = rng.binomial(1, 0.4, size=n).astype(float)
    logit = -1.2 + 0.8 * x1 + 0.6 * x2 - 0.5 * x3
    treat = rng.binomial(1, expit(logit))
    tau = 1.0 + effect_slope * x1
    y0 = 2.0 * x1 + 1.5 * x2 + x3 + rng.normal(size=n)
    y = y0 + treat * tau
    frame = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "treat": treat, "y": y})
    return frame, float(tau[treat == 1].mean())


def discrete_data(n_treated=40, n_controls=200, seed=1):
    """Data whose covariates take few values, so many rows share a score exactly."""
    rng = np.random.default_rng(seed)
    n = n_treated + n_controls
    frame = pd.DataFrame(
        {
            "a": rng.integers(0, 4, size=n).astype(float),
            "b": rng.integers(0, 3, size=n).astype(float),
            "treat": np.r_[np.ones(n_treated, int), np.zeros(n_controls, int)],
        }
    )
    frame["y"] = 3.0 * frame["a"] - frame["b"] + 2.0 * frame["treat"] + rng.normal(size=n)
    return frame


def brute_force_matches(logit_t, logit_c, k, width=np.inf):
    """Match sets by comparing every treated unit with every control."""
    sets = []
    for q in logit_t:
        distance = np.abs(logit_c - q)
        inside = np.sort(distance[distance <= width])
        if inside.size == 0:
            sets.append(np.array([], dtype=int))
            continue
        threshold = inside[min(k, inside.size) - 1]
        sets.append(np.flatnonzero(distance <= threshold))
    return sets


def brute_force_variance(logit, y, j, n_neighbors):
    """sigma^2_j of Abadie-Imbens by comparing unit j with every other unit."""
    distance = np.abs(logit - logit[j])
    distance[j] = np.inf
    threshold = np.sort(distance)[n_neighbors - 1]
    others = np.flatnonzero(distance <= threshold)
    m = others.size
    return m / (m + 1) * (y[j] - y[others].mean()) ** 2


# --- propensity model ------------------------------------------------------------


def test_propensity_matches_statsmodels_logit():
    frame, _ = simulate(n=2000, seed=3)
    X = frame[COVARIATES]
    model = psm.LogisticPropensity().fit(X, frame["treat"])
    reference = sm.Logit(frame["treat"], sm.add_constant(X)).fit(
        method="newton", tol=1e-14, maxiter=200, disp=0
    )
    scores = model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(scores, reference.predict(sm.add_constant(X)), atol=1e-8, rtol=0)
    np.testing.assert_allclose(model.coef_, reference.params[COVARIATES], rtol=1e-6)


def test_propensity_penalty_matches_sklearn():
    frame, _ = simulate(n=1500, seed=4)
    X = frame[COVARIATES].to_numpy()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    model = psm.LogisticPropensity(C=0.05).fit(X, frame["treat"])
    reference = LogisticRegression(C=0.05, solver="newton-cholesky", tol=1e-12).fit(
        Z, frame["treat"]
    )
    np.testing.assert_allclose(model.coef_std_, reference.coef_[0], rtol=1e-8)
    np.testing.assert_allclose(model.intercept_std_, reference.intercept_[0], rtol=1e-8)


def test_propensity_identical_rows_get_identical_logits():
    frame = discrete_data()
    model = psm.LogisticPropensity().fit(frame[["a", "b"]], frame["treat"])
    logit = model.decision_function(frame[["a", "b"]])
    groups = pd.Series(logit).groupby([frame["a"], frame["b"]]).nunique()
    assert (groups == 1).all()


def test_propensity_rejects_constant_covariate():
    frame, _ = simulate(n=200)
    frame["c"] = 5.0
    with pytest.raises(ValueError, match="'c' is constant"):
        psm.LogisticPropensity().fit(frame[["x1", "c"]], frame["treat"])


def test_propensity_rejects_collinear_covariates():
    frame, _ = simulate(n=200)
    frame["x1_copy"] = 2.0 * frame["x1"] + 1.0
    with pytest.raises(ValueError, match="linearly dependent"):
        psm.estimate_att(frame, "treat", "y", ["x1", "x2", "x1_copy"])


# --- estimate_att on simulated data ----------------------------------------------


def test_att_recovers_true_effect_within_two_se():
    frame, true_att = simulate(n=4000, seed=0)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES, caliper=None)
    naive = frame.loc[frame.treat == 1, "y"].mean() - frame.loc[frame.treat == 0, "y"].mean()
    assert abs(result.att - true_att) < 2 * result.se
    # The design is confounded: the naive difference is far from the truth.
    assert abs(naive - true_att) > 5 * result.se


def test_att_interval_coverage_over_seeds():
    covered = 0
    n_seeds = 40
    for seed in range(n_seeds):
        frame, true_att = simulate(n=1500, seed=100 + seed)
        result = psm.estimate_att(frame, "treat", "y", COVARIATES, caliper=None)
        low, high = result.confidence_interval(0.95)
        covered += low <= true_att <= high
    # 95% intervals; with 40 seeds fewer than 32 covered has probability < 0.1%.
    assert covered >= 32


def test_balance_improves_after_matching():
    frame, _ = simulate(n=3000, seed=5)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES)
    before = result.balance["smd_before"].abs()
    after = result.balance["smd_after"].abs()
    assert (after < before).all()
    assert after.max() < 0.1
    assert before.max() > 0.3


def test_smd_uses_treated_sd_before_matching():
    frame, _ = simulate(n=1000, seed=6)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES)
    treated = frame[frame.treat == 1]
    controls = frame[frame.treat == 0]
    expected = (treated["x1"].mean() - controls["x1"].mean()) / treated["x1"].std(ddof=1)
    assert result.balance.loc["x1", "smd_before"] == pytest.approx(expected, rel=1e-12)


def test_smd_pooled_denominator():
    frame, _ = simulate(n=1000, seed=6)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES, smd_denominator="pooled")
    treated = frame[frame.treat == 1]["x2"]
    controls = frame[frame.treat == 0]["x2"]
    pooled = np.sqrt((treated.var() + controls.var()) / 2)
    expected = (treated.mean() - controls.mean()) / pooled
    assert result.balance.loc["x2", "smd_before"] == pytest.approx(expected, rel=1e-12)


def test_caliper_width_is_fifth_of_pooled_sd():
    frame, _ = simulate(n=1000, seed=7)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES)
    logit = result.logit_propensity
    treated = result.treated
    pooled = np.sqrt((logit[treated].var() + logit[~treated].var()) / 2)
    assert result.caliper_width == pytest.approx(0.2 * pooled, rel=1e-12)


def test_weights_sum_to_matched_treated():
    frame, _ = simulate(n=1000, seed=8)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES, n_neighbors=3)
    control_total = result.weights[~result.treated].sum()
    assert control_total == pytest.approx(result.n_matched, rel=1e-12)
    assert result.weights[result.treated].sum() == result.n_matched


def test_caller_frame_not_modified():
    frame, _ = simulate(n=800, seed=9)
    frame.index = pd.Index([f"u{i}" for i in range(len(frame))], name="unit")
    before = frame.copy(deep=True)
    psm.estimate_att(frame, "treat", "y", COVARIATES, replace=False, caliper=None)
    psm.estimate_att(frame, "treat", "y", COVARIATES)
    pd.testing.assert_frame_equal(frame, before, check_exact=True)
    assert list(frame.columns) == list(before.columns)


def test_outcome_does_not_enter_propensity():
    frame, _ = simulate(n=800, seed=10)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES)
    changed = frame.assign(y=np.random.default_rng(0).normal(size=len(frame)) * 1e6)
    other = psm.estimate_att(changed, "treat", "y", COVARIATES)
    pd.testing.assert_series_equal(result.propensity, other.propensity, check_exact=True)
    pd.testing.assert_series_equal(result.weights, other.weights, check_exact=True)


def test_result_series_follow_input_index():
    frame, _ = simulate(n=500, seed=11)
    frame.index = frame.index + 1000
    result = psm.estimate_att(frame, "treat", "y", COVARIATES)
    assert result.propensity.index.equals(frame.index)
    assert result.weights.index.equals(frame.index)


# --- ties and row order -----------------------------------------------------------


def test_shuffled_rows_give_same_att():
    frame = discrete_data(n_treated=60, n_controls=300, seed=2)
    result = psm.estimate_att(frame, "treat", "y", ["a", "b"], caliper=None)
    assert result.n_tied > 0
    for seed in range(5):
        shuffled = frame.sample(frac=1.0, random_state=seed)
        other = psm.estimate_att(shuffled, "treat", "y", ["a", "b"], caliper=None)
        assert other.att == pytest.approx(result.att, rel=1e-10)
        assert other.se == pytest.approx(result.se, rel=1e-10)
        assert other.n_tied == result.n_tied


def test_shuffled_rows_same_att_without_replacement():
    frame = discrete_data(n_treated=30, n_controls=300, seed=3)
    result = psm.estimate_att(frame, "treat", "y", ["a", "b"], replace=False, caliper=None)
    shuffled = frame.sample(frac=1.0, random_state=4)
    other = psm.estimate_att(shuffled, "treat", "y", ["a", "b"], replace=False, caliper=None)
    # Ties are broken by row label, which moves with the row.
    assert other.att == pytest.approx(result.att, rel=1e-10)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_matching_with_ties_agrees_with_brute_force(k):
    rng = np.random.default_rng(k)
    logit_t = rng.integers(0, 12, size=50) / 4.0
    logit_c = rng.integers(0, 12, size=120) / 4.0 + 0.1
    y_c = rng.normal(size=120)
    result = psm.match_nearest(logit_t, logit_c, n_neighbors=k)
    sets = brute_force_matches(logit_t, logit_c, k)
    expected_weights = np.zeros(120)
    expected_means = np.empty(50)
    for i, members in enumerate(sets):
        expected_weights[members] += 1.0 / members.size
        expected_means[i] = y_c[members].mean()
    np.testing.assert_array_equal(result.n_matches, [s.size for s in sets])
    np.testing.assert_allclose(result.control_weights, expected_weights, rtol=1e-12)
    np.testing.assert_allclose(result.control_means(y_c), expected_means, rtol=1e-10)


def test_matching_caliper_agrees_with_brute_force():
    rng = np.random.default_rng(7)
    logit_t = rng.normal(1.0, 1.0, size=80)
    logit_c = rng.normal(0.0, 1.0, size=60)
    result = psm.match_nearest(logit_t, logit_c, n_neighbors=2, caliper_width=0.05)
    sets = brute_force_matches(logit_t, logit_c, 2, width=0.05)
    np.testing.assert_array_equal(result.n_matches, [s.size for s in sets])


def test_tied_controls_share_weight():
    result = psm.match_nearest([0.0], [-1.0, 1.0, 1.0, 3.0], n_neighbors=1)
    np.testing.assert_allclose(result.control_weights, [1 / 3, 1 / 3, 1 / 3, 0.0])
    assert result.n_tied == 1


def test_without_replacement_uses_each_control_once():
    frame, _ = simulate(n=1500, seed=12)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES, replace=False, n_neighbors=2,
                              caliper=None)
    control_weights = result.weights[~result.treated]
    assert control_weights.max() <= 0.5 + 1e-12
    assert result.matching.pair_control.size == np.unique(result.matching.pair_control).size


def test_without_replacement_serves_largest_score_first():
    # Both treated units want control 0.95; the one with the larger score gets it.
    result = psm.match_nearest([0.9, 1.0], [0.95, 0.0], n_neighbors=1, replace=False)
    pairs = dict(zip(result.pair_treated.tolist(), result.pair_control.tolist(), strict=True))
    assert pairs[1] == 0
    assert pairs[0] == 1


# --- standard error -----------------------------------------------------------------


def test_se_agrees_with_brute_force_abadie_imbens():
    frame = discrete_data(n_treated=40, n_controls=150, seed=5)
    frame["a"] = frame["a"] + np.random.default_rng(0).normal(scale=0.3, size=len(frame))
    result = psm.estimate_att(frame, "treat", "y", ["a", "b"], n_neighbors=2, caliper=None)
    logit = result.logit_propensity.to_numpy()
    treated = result.treated.to_numpy()
    y = frame["y"].to_numpy()
    logit_t, logit_c, y_t, y_c = logit[treated], logit[~treated], y[treated], y[~treated]
    sets = brute_force_matches(logit_t, logit_c, 2)
    weights = np.zeros(y_c.size)
    squares = np.zeros(y_c.size)
    residual = []
    for i, members in enumerate(sets):
        weights[members] += 1.0 / members.size
        squares[members] += 1.0 / members.size**2
        residual.append(y_t[i] - y_c[members].mean())
    att = np.mean(residual)
    sigma2 = np.array([brute_force_variance(logit_c, y_c, j, 2) for j in range(y_c.size)])
    variance = (np.sum((np.array(residual) - att) ** 2) + np.sum((weights**2 - squares) * sigma2))
    expected_se = np.sqrt(variance) / len(sets)
    assert result.att == pytest.approx(att, rel=1e-10)
    assert result.se == pytest.approx(expected_se, rel=1e-10)


def test_se_counts_reuse_of_controls():
    # Few controls, reused many times: the reuse term must raise the SE above the
    # paired-difference SE that ignores it.
    frame, _ = simulate(n=600, seed=13)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES, caliper=None)
    treated = result.treated.to_numpy()
    y = frame["y"].to_numpy()
    differences = y[treated] - result.matching.control_means(y[~treated])
    paired_se = differences.std(ddof=0) / np.sqrt(differences.size)
    assert result.se > paired_se


# --- summary and plots ------------------------------------------------------------


def test_summary_reports_estimate_and_counts():
    frame, _ = simulate(n=600, seed=14)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES)
    summary = result.summary()
    assert summary.loc["att", "value"] == result.att
    assert summary.loc["n_matched", "value"] == result.n_matched
    assert "Abadie-Imbens" in summary.loc["se_method", "value"]


def test_plots_return_axes_with_chinese_labels():
    frame, _ = simulate(n=600, seed=15)
    result = psm.estimate_att(frame, "treat", "y", COVARIATES)
    love = psm.plot_love(result)
    overlap = psm.plot_overlap(result)
    assert isinstance(love, matplotlib.axes.Axes)
    assert isinstance(overlap, matplotlib.axes.Axes)
    assert "标准化均值差" in love.get_xlabel()
    assert "密度" in overlap.get_ylabel()
    assert len(love.get_yticklabels()) == len(COVARIATES)
    matplotlib.pyplot.close("all")


def test_common_support_counts_units_outside_range():
    support = psm.common_support([0.0, 1.0, 5.0, 0.5, 2.0], [True, True, True, False, False])
    assert support.loc["treated", "n_outside_other"] == 2
    assert support.loc["control", "n_outside_other"] == 0


# --- bad input ----------------------------------------------------------------------


def test_rejects_non_binary_treatment():
    frame, _ = simulate(n=300)
    frame.loc[:10, "treat"] = 2
    with pytest.raises(ValueError, match=r"must be binary.*\[0, 1, 2\]"):
        psm.estimate_att(frame, "treat", "y", COVARIATES)


def test_rejects_single_treatment_class():
    frame, _ = simulate(n=300)
    frame["treat"] = 0
    with pytest.raises(ValueError, match="0 treated and 300 control"):
        psm.estimate_att(frame, "treat", "y", COVARIATES)


def test_rejects_nan_in_covariates():
    frame, _ = simulate(n=300)
    frame.loc[5, "x2"] = np.nan
    with pytest.raises(ValueError, match="NaN.*'x2'"):
        psm.estimate_att(frame, "treat", "y", COVARIATES)


def test_rejects_outcome_among_covariates():
    frame, _ = simulate(n=300)
    with pytest.raises(ValueError, match="outcome 'y' is listed among the covariates"):
        psm.estimate_att(frame, "treat", "y", [*COVARIATES, "y"])


def test_rejects_treatment_among_covariates():
    frame, _ = simulate(n=300)
    with pytest.raises(ValueError, match="treatment 'treat' is listed"):
        psm.estimate_att(frame, "treat", "y", [*COVARIATES, "treat"])


def test_rejects_missing_column():
    frame, _ = simulate(n=300)
    with pytest.raises(ValueError, match=r"\['x9'\] not found"):
        psm.estimate_att(frame, "treat", "y", ["x1", "x9"])


def test_rejects_non_numeric_covariate():
    frame, _ = simulate(n=300)
    frame["city"] = "a"
    with pytest.raises(ValueError, match="non-numeric columns"):
        psm.estimate_att(frame, "treat", "y", ["x1", "city"])


def test_rejects_nan_outcome():
    frame, _ = simulate(n=300)
    frame.loc[3, "y"] = np.nan
    with pytest.raises(ValueError, match="Outcome 'y' has 1 missing"):
        psm.estimate_att(frame, "treat", "y", COVARIATES)


def test_warns_and_drops_unmatched_treated():
    frame, _ = simulate(n=1500, seed=16)
    with pytest.warns(psm.UnmatchedTreatedWarning, match=r"\d+ of \d+ treated units"):
        result = psm.estimate_att(frame, "treat", "y", COVARIATES, caliper=0.001)
    assert result.n_unmatched > 0
    assert result.n_matched + result.n_unmatched == result.n_treated
    assert result.weights[result.treated].sum() == result.n_matched


def test_raises_when_no_treated_unit_matches():
    frame = pd.DataFrame(
        {
            "x": [0.0, 0.1, 0.2, 10.0, 10.1, 10.2, 0.15, 10.15],
            "treat": [1, 1, 1, 0, 0, 0, 0, 1],
            "y": np.arange(8.0),
        }
    )
    with pytest.raises(ValueError, match="No treated unit has a control within the caliper"):
        psm.estimate_att(frame, "treat", "y", ["x"], caliper=1e-6, caliper_scale="logit")


def test_rejects_too_few_controls_without_replacement():
    frame, _ = simulate(n=300, seed=17)
    n_treated = int(frame.treat.sum())
    n_controls = len(frame) - n_treated
    k = n_controls // n_treated + 1
    with pytest.raises(ValueError, match=f"needs n_neighbors \\* n_treated = {k} \\* {n_treated}"):
        psm.estimate_att(frame, "treat", "y", COVARIATES, replace=False, n_neighbors=k)


def test_rejects_bad_settings():
    frame, _ = simulate(n=300)
    with pytest.raises(ValueError, match="n_neighbors must be a positive integer"):
        psm.estimate_att(frame, "treat", "y", COVARIATES, n_neighbors=0)
    with pytest.raises(ValueError, match="caliper must be a positive"):
        psm.estimate_att(frame, "treat", "y", COVARIATES, caliper=-0.2)
    with pytest.raises(ValueError, match="caliper_scale must be"):
        psm.estimate_att(frame, "treat", "y", COVARIATES, caliper_scale="probability")
    with pytest.raises(ValueError, match="denominator must be"):
        psm.estimate_att(frame, "treat", "y", COVARIATES, smd_denominator="control")


def test_rejects_complete_separation():
    rng = np.random.default_rng(0)
    x = np.r_[rng.uniform(0, 1, 30), rng.uniform(2, 3, 30)]
    frame = pd.DataFrame({"x": x, "treat": np.r_[np.zeros(30, int), np.ones(30, int)]})
    frame["y"] = x
    with pytest.warns(ConvergenceWarning, match="separate treated and control units"):
        with pytest.raises(ValueError, match="separate treated and control units"):
            psm.estimate_att(frame, "treat", "y", ["x"])
