"""Tests of importance weights, the domain probability and nearest-source selection."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm, spearmanr
from sklearn.linear_model import LogisticRegression

from tabtransfer import (
    ImportanceWeights,
    domain_probability,
    importance_weights,
    nearest_source_rows,
)


@pytest.fixture
def shifted_normals():
    """Source N(0, 1) and target N(1, 1), one column; true ratio exp(x - 1/2)."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(2000, 1)), rng.normal(loc=1.0, size=(1000, 1))


def test_weights_rise_with_x(shifted_normals):
    Xs, Xt = shifted_normals
    result = importance_weights(Xs, Xt, clip_quantile=None)
    order = np.argsort(Xs[:, 0])
    assert np.all(np.diff(result.weights[order]) > 0)


def test_weights_have_mean_one(shifted_normals):
    Xs, Xt = shifted_normals
    result = importance_weights(Xs, Xt)
    assert result.weights.mean() == pytest.approx(1.0, abs=1e-12)


def test_density_ratio_close_to_truth(shifted_normals):
    # The prior correction n_s / n_t = 2 matters here: without it the ratio is half.
    Xs, Xt = shifted_normals
    result = importance_weights(Xs, Xt, clip_quantile=None)
    true_ratio = norm.pdf(Xs[:, 0], loc=1) / norm.pdf(Xs[:, 0])
    central = np.abs(Xs[:, 0]) < 1.5
    relative_error = np.abs(result.density_ratio[central] / true_ratio[central] - 1)
    assert np.median(relative_error) < 0.1
    assert result.density_ratio.mean() == pytest.approx(1.0, abs=0.15)


def test_clipping_caps_at_quantile(shifted_normals):
    Xs, Xt = shifted_normals
    result = importance_weights(Xs, Xt, clip_quantile=0.9)
    assert result.clip_value == pytest.approx(np.quantile(result.density_ratio, 0.9))
    assert result.n_clipped == np.sum(result.density_ratio > result.clip_value)
    assert 150 <= result.n_clipped <= 200
    normaliser = np.minimum(result.density_ratio, result.clip_value).mean()
    assert result.weights.max() == pytest.approx(result.clip_value / normaliser)
    assert np.sum(result.weights == result.weights.max()) == result.n_clipped
    unclipped = importance_weights(Xs, Xt, clip_quantile=None)
    assert unclipped.n_clipped == 0
    assert np.isinf(unclipped.clip_value)


def test_ess_is_kish(shifted_normals):
    Xs, Xt = shifted_normals
    result = importance_weights(Xs, Xt)
    w = np.asarray(result.weights)
    assert result.ess == pytest.approx(w.sum() ** 2 / np.sum(w**2))
    assert result.ess < len(w)
    assert result.ess_fraction == pytest.approx(result.ess / len(w))


def test_equal_weights_for_same_distribution():
    rng = np.random.default_rng(1)
    result = importance_weights(rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2)))
    assert result.ess_fraction > 0.95


def test_p_target_is_probability_of_target(shifted_normals):
    Xs, Xt = shifted_normals
    result = importance_weights(Xs, Xt)
    p_target = np.asarray(result.p_target)
    assert np.all((p_target > 0) & (p_target < 1))
    assert spearmanr(p_target, Xs[:, 0]).statistic > 0.99


def test_custom_classifier(shifted_normals):
    Xs, Xt = shifted_normals
    result = importance_weights(Xs, Xt, classifier=LogisticRegression(C=1e6))
    assert isinstance(result.classifier, LogisticRegression)
    assert result.classifier.coef_[0, 0] > 0


def test_dataframe_gives_series(shifted_normals):
    Xs, Xt = shifted_normals
    frame_s = pd.DataFrame(Xs, columns=["x"], index=np.arange(5000, 7000))
    frame_t = pd.DataFrame(Xt, columns=["x"])
    result = importance_weights(frame_s, frame_t)
    assert isinstance(result, ImportanceWeights)
    assert isinstance(result.weights, pd.Series)
    assert result.weights.index.equals(frame_s.index)
    table = result.to_frame()
    assert list(table.columns) == ["weight", "p_target", "density_ratio"]
    assert table.index.equals(frame_s.index)


def test_domain_probability_matches_importance(shifted_normals):
    Xs, Xt = shifted_normals
    X = np.vstack([Xs, Xt])
    domain = np.r_[np.zeros(len(Xs)), np.ones(len(Xt))]
    probability = domain_probability(X, domain)
    result = importance_weights(Xs, Xt)
    assert np.abs(probability[: len(Xs)] - np.asarray(result.p_target)).max() < 1e-12


def test_domain_probability_string_labels():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"x": np.r_[rng.normal(size=200), rng.normal(size=200) + 2]})
    domain = np.array(["source"] * 200 + ["target"] * 200)
    probability = domain_probability(X, domain)
    assert isinstance(probability, pd.Series)
    assert probability.iloc[200:].mean() > probability.iloc[:200].mean()


def test_domain_classifier_one_domain_raises():
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match="exactly two groups"):
        domain_probability(rng.normal(size=(10, 2)), np.zeros(10))


def test_domain_labels_wrong_length_raises():
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="one label per row"):
        domain_probability(rng.normal(size=(10, 2)), np.r_[np.zeros(5), np.ones(4)])


@pytest.mark.parametrize(
    ("Xs", "Xt", "message"),
    [
        (np.array([[np.inf], [1.0], [2.0]]), np.ones((3, 1)), "NaN or infinite"),
        (np.ones((4, 2)), np.ones((4, 1)), "2 column"),
        (np.arange(4.0), np.ones((4, 1)), "must be 2-D"),
        (np.ones((4, 1)), np.ones((1, 1)), "1 row"),
    ],
)
def test_importance_bad_input_raises(Xs, Xt, message):
    with pytest.raises(ValueError, match=message):
        importance_weights(Xs, Xt)


def test_bad_clip_quantile_raises(shifted_normals):
    Xs, Xt = shifted_normals
    with pytest.raises(ValueError, match="clip_quantile"):
        importance_weights(Xs, Xt, clip_quantile=1.5)


def test_nearest_source_rows_brute_force():
    rng = np.random.default_rng(5)
    Xs, Xt = rng.normal(size=(300, 3)), rng.normal(size=(50, 3)) + 1
    selected = nearest_source_rows(Xs, Xt, k=20)
    all_distances = np.linalg.norm(Xs[:, None, :] - Xt[None, :, :], axis=2)
    nearest = all_distances.min(axis=1)
    expected = np.argsort(nearest, kind="stable")[:20]
    assert np.array_equal(selected["source_row"].to_numpy(), expected)
    assert np.allclose(selected["distance"].to_numpy(), nearest[expected])
    assert np.array_equal(
        selected["target_row"].to_numpy(), all_distances[expected].argmin(axis=1)
    )


def test_nearest_source_rows_sorted_and_indexed():
    rng = np.random.default_rng(6)
    frame_s = pd.DataFrame(rng.normal(size=(100, 2)), index=np.arange(100) * 10)
    frame_t = pd.DataFrame(rng.normal(size=(30, 2)))
    selected = nearest_source_rows(frame_s, frame_t, k=10)
    assert selected["distance"].is_monotonic_increasing
    assert selected.index.equals(frame_s.index[selected["source_row"].to_numpy()])


@pytest.mark.parametrize("k", [0, 101, 2.5])
def test_nearest_source_rows_bad_k_raises(k):
    rng = np.random.default_rng(7)
    with pytest.raises(ValueError, match="k must be"):
        nearest_source_rows(rng.normal(size=(100, 2)), rng.normal(size=(10, 2)), k=k)
