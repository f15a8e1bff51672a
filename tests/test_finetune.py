"""Tests of FineTunedLogisticRegression: both limits, references, warm start, input."""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad
from sklearn.linear_model import LogisticRegression

from tabtransfer import FineTunedLogisticRegression
from tabtransfer.finetune import _penalised_log_loss

SOURCE_COEF = np.array([2.0, 0.0, 0.0, 1.0])
SOURCE_INTERCEPT = 0.5


@pytest.fixture
def target():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    true_coef = np.array([1.0, -2.0, 0.5, 0.0])
    probability = 1 / (1 + np.exp(-(X @ true_coef + 0.3)))
    y = (rng.random(300) < probability).astype(int)
    return X, y


def _fine_tune(X, y, strength, **params):
    model = FineTunedLogisticRegression(
        source_coef=SOURCE_COEF,
        source_intercept=SOURCE_INTERCEPT,
        strength=strength,
        **params,
    )
    return model.fit(X, y)


def test_infinite_strength_keeps_source_coef(target):
    X, y = target
    model = _fine_tune(X, y, np.inf)
    assert np.array_equal(model.coef_.ravel(), SOURCE_COEF)


def test_large_strength_approaches_source(target):
    X, y = target
    model = _fine_tune(X, y, 1e8)
    assert np.abs(model.coef_.ravel() - SOURCE_COEF).max() < 1e-5
    # The unpenalised intercept is refitted for the fixed coefficients.
    fixed = _fine_tune(X, y, np.inf)
    assert model.intercept_[0] == pytest.approx(fixed.intercept_[0], abs=1e-5)


def test_small_strength_equals_target_only_fit(target):
    X, y = target
    model = _fine_tune(X, y, 1e-10)
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    assert np.abs(model.coef_ - reference.coef_).max() < 1e-6
    assert np.abs(model.intercept_ - reference.intercept_).max() < 1e-6


def test_zero_source_equals_sklearn_l2(target):
    X, y = target
    model = FineTunedLogisticRegression(source_coef=np.zeros(4), strength=2.0).fit(X, y)
    reference = LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000).fit(X, y)
    assert np.abs(model.coef_ - reference.coef_).max() < 1e-7
    assert np.abs(model.intercept_ - reference.intercept_).max() < 1e-7


def test_distance_to_source_shrinks_with_strength(target):
    X, y = target
    strengths = [0.01, 1.0, 10.0, 100.0, 1000.0]
    gaps = [
        np.linalg.norm(_fine_tune(X, y, s).coef_.ravel() - SOURCE_COEF)
        for s in strengths
    ]
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:], strict=False))


def test_penalized_intercept_goes_to_source(target):
    X, y = target
    model = _fine_tune(X, y, 1e8, penalize_intercept=True)
    assert model.intercept_[0] == pytest.approx(SOURCE_INTERCEPT, abs=1e-5)


def test_fitted_source_model_equals_arrays(target):
    X, y = target
    rng = np.random.default_rng(1)
    X_source = rng.normal(size=(500, 4))
    y_source = (X_source[:, 0] + X_source[:, 3] > 0).astype(int)
    source = LogisticRegression().fit(X_source, y_source)
    from_model = FineTunedLogisticRegression(source, strength=5.0).fit(X, y)
    from_arrays = FineTunedLogisticRegression(
        source_coef=source.coef_,
        source_intercept=float(source.intercept_[0]),
        strength=5.0,
    ).fit(X, y)
    assert np.array_equal(from_model.coef_, from_arrays.coef_)
    assert from_model.source_intercept_ == pytest.approx(source.intercept_[0])


def test_warm_start_transfers_nothing(target):
    # Starting sklearn at the source coefficients ends at the cold-start optimum,
    # while the prior at the source moves the fit.
    X, y = target
    cold = LogisticRegression(tol=1e-12, max_iter=10_000).fit(X, y)
    warm = LogisticRegression(warm_start=True, tol=1e-12, max_iter=10_000)
    warm.coef_ = SOURCE_COEF.reshape(1, -1).copy()
    warm.intercept_ = np.array([SOURCE_INTERCEPT])
    warm.fit(X, y)
    assert np.abs(warm.coef_ - cold.coef_).max() < 1e-6
    tuned = FineTunedLogisticRegression(
        source_coef=SOURCE_COEF, source_intercept=SOURCE_INTERCEPT, strength=1.0
    ).fit(X, y)
    zero_prior = FineTunedLogisticRegression(source_coef=np.zeros(4), strength=1.0).fit(
        X, y
    )
    assert np.abs(zero_prior.coef_ - cold.coef_).max() < 1e-6
    assert np.abs(tuned.coef_ - cold.coef_).max() > 1e-2


def test_gradient_is_analytic_derivative(target):
    X, y = target
    rng = np.random.default_rng(2)
    weights = rng.uniform(0.5, 2.0, size=len(y))
    prior = np.append(SOURCE_COEF, SOURCE_INTERCEPT)
    penalised = np.array([1, 1, 1, 1, 0.0])
    args = (X, y.astype(float), weights, np.zeros(len(y)), 3.0, prior, penalised)
    point = rng.normal(size=5)
    error = check_grad(
        lambda p: _penalised_log_loss(p, *args)[0],
        lambda p: _penalised_log_loss(p, *args)[1],
        point,
    )
    assert error < 1e-6


def test_integer_sample_weight_equals_repeated_rows(target):
    X, y = target
    counts = np.arange(len(y)) % 3 + 1
    weighted = _fine_tune(X, y, 2.0, tol=1e-12).fit(X, y, sample_weight=counts)
    repeated = _fine_tune(
        np.repeat(X, counts, axis=0), np.repeat(y, counts), 2.0, tol=1e-12
    )
    assert np.abs(weighted.coef_ - repeated.coef_).max() < 1e-7


def test_predictions_are_consistent(target):
    X, y = target
    model = _fine_tune(X, y, 1.0)
    probability = model.predict_proba(X)
    assert np.allclose(probability.sum(axis=1), 1.0)
    assert np.array_equal(
        model.predict(X), model.classes_[(probability[:, 1] > 0.5).astype(int)]
    )
    assert np.allclose(np.exp(model.predict_log_proba(X)), probability)
    assert 0.5 < model.score(X, y) <= 1.0


def test_string_labels_and_dataframe(target):
    X, y = target
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    labels = np.where(y == 1, "buy", "skip")
    model = FineTunedLogisticRegression(source_coef=-SOURCE_COEF, strength=1.0)
    model.fit(frame, labels)
    assert list(model.classes_) == ["buy", "skip"]
    assert list(model.feature_names_in_) == ["a", "b", "c", "d"]
    assert set(model.predict(frame)) <= {"buy", "skip"}


def test_source_classes_must_match(target):
    X, y = target
    source = LogisticRegression().fit(X, y + 1)
    with pytest.raises(ValueError, match="encode the target labels"):
        FineTunedLogisticRegression(source).fit(X, y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"source_coef": np.ones(3)}, "3 coefficient"),
        ({"source_coef": np.ones((2, 4))}, "shape"),
        ({}, "exactly one of"),
        ({"source_coef": np.ones(4), "strength": -1.0}, "strength must be"),
        ({"source_coef": np.ones(4), "source_intercept": np.nan}, "source_intercept"),
    ],
)
def test_bad_parameters_raise(target, params, message):
    X, y = target
    with pytest.raises(ValueError, match=message):
        FineTunedLogisticRegression(**params).fit(X, y)


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (
            np.array([[np.nan, 1.0], [1.0, 2.0], [0.0, 1.0]]),
            [0, 1, 0],
            "NaN or infinite",
        ),
        (np.arange(3.0), [0, 1, 0], "must be 2-D"),
        (np.ones((1, 2)), [1], "1 row"),
        (np.ones((3, 2)), [1, 1, 1], "exactly two classes"),
        (np.ones((3, 2)), [0, 1], "one label per row"),
    ],
)
def test_bad_input_raises(X, y, message):
    model = FineTunedLogisticRegression(source_coef=np.ones(2))
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)


def test_predict_wrong_width_raises(target):
    X, y = target
    model = _fine_tune(X, y, 1.0)
    with pytest.raises(ValueError, match="fitted on 4"):
        model.predict(X[:, :3])


def test_frozen_source_survives_cross_validation(target):
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import cross_val_score

    X, y = target
    source = LogisticRegression().fit(X, y)
    scores = cross_val_score(FineTunedLogisticRegression(FrozenEstimator(source)), X, y)
    assert np.all(scores > 0.5)


def test_unfitted_source_raises_with_fix(target):
    X, y = target
    with pytest.raises(ValueError, match="FrozenEstimator"):
        FineTunedLogisticRegression(LogisticRegression()).fit(X, y)
