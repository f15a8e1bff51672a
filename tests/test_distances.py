"""Tests of the domain distances: known values, monotonicity in the shift, bad input."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from tabtransfer import coral_loss, mean_gap, mmd2, proxy_a_distance


def _with_identity_covariance(rng, n_rows, n_columns):
    """Sample whose sample covariance (ddof=1) is the identity up to rounding."""
    centred = rng.normal(size=(n_rows, n_columns))
    centred -= centred.mean(axis=0)
    covariance = centred.T @ centred / (n_rows - 1)
    return centred @ np.linalg.inv(np.linalg.cholesky(covariance)).T


def test_mean_gap_value():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(50, 2))
    Xt = Xs - Xs.mean(axis=0) + [3.0, 4.0]
    assert mean_gap(Xs - Xs.mean(axis=0), Xt) == pytest.approx(5.0, abs=1e-12)


def test_coral_loss_two_identity_against_identity():
    rng = np.random.default_rng(1)
    Xt = _with_identity_covariance(rng, 200, 2)
    Xs = np.sqrt(2.0) * _with_identity_covariance(rng, 300, 2)
    assert np.abs(np.cov(Xs, rowvar=False) - 2 * np.eye(2)).max() < 1e-12
    assert coral_loss(Xs, Xt) == pytest.approx(0.125, abs=1e-12)


def test_coral_loss_zero_for_same_sample():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 4))
    assert coral_loss(X, X + 5.0) < 1e-25


def test_mmd_near_zero_for_same_distribution():
    rng = np.random.default_rng(3)
    value = mmd2(rng.normal(size=(500, 3)), rng.normal(size=(500, 3)))
    assert abs(value) < 0.01


def test_mmd_grows_with_mean_shift():
    rng = np.random.default_rng(4)
    Xs = rng.normal(size=(400, 3))
    noise = rng.normal(size=(400, 3))
    values = [mmd2(Xs, noise + shift) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert values[0] < values[1]
    assert values[1] < values[2]
    assert values[2] < values[3]


def test_mmd_matches_direct_formula():
    rng = np.random.default_rng(5)
    Xs, Xt = rng.normal(size=(30, 2)), rng.normal(size=(20, 2)) + 1
    sigma = 1.3

    def kernel(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))

    m, n = len(Xs), len(Xt)
    within_s = sum(kernel(Xs[i], Xs[j]) for i in range(m) for j in range(m) if i != j)
    within_t = sum(kernel(Xt[i], Xt[j]) for i in range(n) for j in range(n) if i != j)
    between = sum(kernel(x, y) for x in Xs for y in Xt)
    expected = (
        within_s / (m * (m - 1)) + within_t / (n * (n - 1)) - 2 * between / (m * n)
    )
    assert mmd2(Xs, Xt, bandwidth=sigma) == pytest.approx(expected, abs=1e-12)


def test_mmd_subsamples_large_input_with_seed():
    # Different seeds give different values only if the rows were subsampled.
    rng = np.random.default_rng(6)
    Xs, Xt = rng.normal(size=(100_000, 5)), rng.normal(size=(100_000, 5)) + 0.2
    first = mmd2(Xs, Xt, max_rows=500, random_state=1)
    assert first == mmd2(Xs, Xt, max_rows=500, random_state=1)
    assert first != mmd2(Xs, Xt, max_rows=500, random_state=2)
    assert first > 0


def test_proxy_a_distance_near_zero_for_same_distribution():
    rng = np.random.default_rng(7)
    value = proxy_a_distance(rng.normal(size=(400, 3)), rng.normal(size=(400, 3)))
    assert value < 0.3


def test_proxy_a_distance_near_two_for_separated():
    rng = np.random.default_rng(8)
    value = proxy_a_distance(rng.normal(size=(300, 3)), rng.normal(size=(200, 3)) + 10)
    assert value > 1.9


def test_proxy_a_distance_is_seeded():
    rng = np.random.default_rng(9)
    Xs, Xt = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 0.5
    assert proxy_a_distance(Xs, Xt, random_state=3) == proxy_a_distance(
        Xs, Xt, random_state=3
    )


def test_proxy_a_distance_custom_classifier():
    rng = np.random.default_rng(10)
    Xs, Xt = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 3
    value = proxy_a_distance(Xs, Xt, classifier=LogisticRegression(), n_splits=3)
    assert value > 1.5


def test_distances_accept_dataframes():
    rng = np.random.default_rng(11)
    frame_s = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    frame_t = pd.DataFrame(rng.normal(size=(40, 2)) + 1, columns=["a", "b"])
    for distance in (mean_gap, coral_loss, mmd2, proxy_a_distance):
        value = distance(frame_s, frame_t)
        assert isinstance(value, float), distance.__name__
        assert np.isfinite(value), distance.__name__


@pytest.mark.parametrize("distance", [mean_gap, coral_loss, mmd2, proxy_a_distance])
@pytest.mark.parametrize(
    ("Xs", "Xt", "message"),
    [
        (np.array([[np.nan, 1.0], [1.0, 2.0]]), np.ones((6, 2)), "NaN or infinite"),
        (np.ones((6, 2)), np.ones((6, 3)), "2 column"),
        (np.arange(6.0), np.ones((6, 1)), "must be 2-D"),
        (np.ones((1, 2)), np.ones((6, 2)), "1 row"),
    ],
)
def test_bad_input_raises(distance, Xs, Xt, message):
    with pytest.raises(ValueError, match=message):
        distance(Xs, Xt)


def test_proxy_a_distance_too_few_rows_for_folds():
    rng = np.random.default_rng(12)
    with pytest.raises(ValueError, match="n_splits=5"):
        proxy_a_distance(rng.normal(size=(3, 2)), rng.normal(size=(50, 2)))


def test_mmd_bad_bandwidth_raises():
    rng = np.random.default_rng(13)
    with pytest.raises(ValueError, match="bandwidth"):
        mmd2(rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), bandwidth=-1.0)
