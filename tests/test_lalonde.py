"""Tests of the LaLonde loader and of tabtransfer.psm against the NSW experiment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from causaldata import cps_mixtape, nsw_mixtape
from sklearn.linear_model import LogisticRegression

import tabtransfer.psm as psm
from tabtransfer.datasets import (
    DEHEJIA_WAHBA_COVARIATES,
    LALONDE_COLUMNS,
    add_dehejia_wahba_terms,
    load_lalonde,
)

#: Experimental estimate reported for the Dehejia-Wahba NSW subsample, in 1982 dollars.
PUBLISHED_BENCHMARK = 1794.0


@pytest.fixture(scope="module")
def cps_data():
    return add_dehejia_wahba_terms(load_lalonde("cps"))


@pytest.fixture(scope="module")
def cps_result(cps_data):
    return psm.estimate_att(cps_data, "treat", "re78", DEHEJIA_WAHBA_COVARIATES)


# --- loader -------------------------------------------------------------------------


def test_load_experimental_sample_sizes():
    data = load_lalonde("experimental")
    assert int(data["treat"].sum()) == 185
    assert int((data["treat"] == 0).sum()) == 260


def test_load_cps_sample_sizes():
    data = load_lalonde("cps")
    assert int(data["treat"].sum()) == 185
    assert int((data["treat"] == 0).sum()) == 15992
    assert set(data.loc[data["treat"] == 0, "sample"]) == {"cps"}


def test_load_columns_are_float64():
    data = load_lalonde("all")
    assert list(data.columns) == ["sample", *LALONDE_COLUMNS]
    numeric = data[LALONDE_COLUMNS].drop(columns="treat")
    assert (numeric.dtypes == np.float64).all()
    assert not data[LALONDE_COLUMNS].isna().any().any()


def test_load_rejects_unknown_sample():
    with pytest.raises(ValueError, match="sample must be one of"):
        load_lalonde("psid")


def test_dehejia_wahba_terms_exact_in_float64():
    data = add_dehejia_wahba_terms(load_lalonde("cps"))
    raw = cps_mixtape.load_pandas().data
    re74 = raw["re74"].to_numpy(dtype=np.float64)
    np.testing.assert_array_equal(data.loc[data["sample"] == "cps", "re74_2"], re74**2)
    assert (data["u74"] == (data["re74"] == 0)).all()


def test_dehejia_wahba_terms_leave_input_unchanged():
    data = load_lalonde("experimental")
    before = data.copy(deep=True)
    add_dehejia_wahba_terms(data)
    pd.testing.assert_frame_equal(data, before)


# --- experimental benchmark ---------------------------------------------------------


def test_benchmark_equals_difference_of_means():
    raw = nsw_mixtape.load_pandas().data
    earnings = raw["re78"].astype(np.float64)
    expected = earnings[raw["treat"] == 1].mean() - earnings[raw["treat"] == 0].mean()
    data = load_lalonde("experimental")
    benchmark = (
        data.loc[data["treat"] == 1, "re78"].mean() - data.loc[data["treat"] == 0, "re78"].mean()
    )
    assert benchmark == pytest.approx(expected, rel=1e-12)
    assert abs(benchmark - PUBLISHED_BENCHMARK) < 5.0


# --- propensity model on LaLonde ----------------------------------------------------


def test_propensity_matches_statsmodels_on_lalonde(cps_data, cps_result):
    X = sm.add_constant(cps_data[DEHEJIA_WAHBA_COVARIATES])
    reference = sm.Logit(cps_data["treat"], X).fit(method="newton", tol=1e-14, maxiter=300,
                                                   disp=0)
    np.testing.assert_allclose(
        cps_result.propensity.to_numpy(), reference.predict(X), atol=1e-8, rtol=0
    )


def test_sklearn_default_stops_short_on_lalonde(cps_data, cps_result):
    # The reason for the Newton solver: the default lbfgs fit (no penalty,
    # standardised data, tol=1e-4) is far from the maximum-likelihood scores.
    X = cps_data[DEHEJIA_WAHBA_COVARIATES].to_numpy()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    default = LogisticRegression(C=np.inf, max_iter=10_000).fit(Z, cps_data["treat"])
    gap = np.abs(default.predict_proba(Z)[:, 1] - cps_result.propensity.to_numpy()).max()
    assert gap > 1e-3


# --- PSM on NSW treated + CPS controls ---------------------------------------------


def test_psm_estimate_in_band(cps_result):
    # The experimental estimate is about 1,794; the naive difference is about -8,500.
    # A PSM estimate outside [1,000, 3,000] means the matching went wrong.
    assert 1000.0 < cps_result.att < 3000.0
    assert cps_result.se < 1500.0


def test_psm_closer_to_benchmark_than_naive(cps_data, cps_result):
    treated = cps_data["treat"] == 1
    naive = cps_data.loc[treated, "re78"].mean() - cps_data.loc[~treated, "re78"].mean()
    assert naive < -5000.0
    assert abs(cps_result.att - PUBLISHED_BENCHMARK) < cps_result.se


def test_psm_balances_dehejia_wahba_covariates(cps_result):
    assert cps_result.balance["smd_before"].abs().max() > 1.0
    assert cps_result.balance["smd_after"].abs().max() < 0.1


def test_tied_nearest_controls_counted(cps_result):
    # Count treated units with two or more controls at exactly the nearest distance,
    # by comparing every treated unit with every control.
    logit = cps_result.logit_propensity.to_numpy()
    treated = cps_result.treated.to_numpy()
    logit_c = logit[~treated]
    n_tied = 0
    for q in logit[treated]:
        distance = np.abs(logit_c - q)
        n_tied += int(np.count_nonzero(distance == distance.min()) > 1)
    assert n_tied > 0
    assert cps_result.n_tied == n_tied


def test_tied_controls_have_identical_covariates(cps_data, cps_result):
    logit = cps_result.logit_propensity.to_numpy()
    treated = cps_result.treated.to_numpy()
    X_c = cps_data.loc[~treated, DEHEJIA_WAHBA_COVARIATES].to_numpy()
    logit_c = logit[~treated]
    for q in logit[treated]:
        distance = np.abs(logit_c - q)
        tied = np.flatnonzero(distance == distance.min())
        assert (X_c[tied] == X_c[tied[0]]).all()


def test_shuffled_lalonde_gives_same_att(cps_data, cps_result):
    shuffled = cps_data.sample(frac=1.0, random_state=11)
    other = psm.estimate_att(shuffled, "treat", "re78", DEHEJIA_WAHBA_COVARIATES)
    assert other.att == pytest.approx(cps_result.att, rel=1e-9)
    assert other.n_tied == cps_result.n_tied


def test_reversed_lalonde_gives_same_att(cps_data, cps_result):
    # Reversing the rows flips which tied control comes first, the case where a
    # first-found rule would change the estimate.
    reversed_rows = cps_data.iloc[::-1]
    other = psm.estimate_att(reversed_rows, "treat", "re78", DEHEJIA_WAHBA_COVARIATES)
    assert other.att == pytest.approx(cps_result.att, rel=1e-9)


def test_without_replacement_drops_units_outside_caliper(cps_data):
    with pytest.warns(psm.UnmatchedTreatedWarning, match="treated units have no control"):
        result = psm.estimate_att(
            cps_data, "treat", "re78", DEHEJIA_WAHBA_COVARIATES, replace=False
        )
    assert result.n_unmatched > 0
    assert result.weights[~result.treated].max() == 1.0
