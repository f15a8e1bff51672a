"""Tests of CORAL: exact alignment, the damping by reg, edge cases, a reference."""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn

from tabtransfer import CORAL, coral


def _sample(rng, n_rows, n_columns, shift=0.0):
    """Correlated Gaussian sample with a random mixing matrix."""
    mixing = rng.normal(size=(n_columns, n_columns))
    return rng.normal(size=(n_rows, n_columns)) @ mixing + shift


def _with_exact_variance(values, variance):
    """Rescale a 1-D sample to sample variance (ddof=1) exactly ``variance``."""
    centred = values - values.mean()
    return centred / centred.std(ddof=1) * np.sqrt(variance)


@pytest.fixture
def coral_adapter():
    """Return skada's CORALAdapter, undoing skada's global scikit-learn setting.

    Importing skada calls sklearn.set_config(enable_metadata_routing=True), which
    would change how Pipeline.fit routes sample weights in every later test.
    """
    previous = sklearn.get_config()["enable_metadata_routing"]
    from skada import CORALAdapter

    sklearn.set_config(enable_metadata_routing=True)
    yield CORALAdapter
    sklearn.set_config(enable_metadata_routing=previous)


@pytest.fixture
def domains():
    rng = np.random.default_rng(0)
    return _sample(rng, 400, 5, shift=3.0), _sample(rng, 300, 5, shift=-1.0)


def test_reg_zero_matches_target_covariance(domains):
    Xs, Xt = domains
    aligned = coral(Xs, Xt, reg=0.0)
    gap = np.abs(np.cov(aligned, rowvar=False) - np.cov(Xt, rowvar=False)).max()
    assert gap < 1e-10


def test_center_matches_target_mean(domains):
    Xs, Xt = domains
    aligned = coral(Xs, Xt, reg=0.0)
    assert np.abs(aligned.mean(axis=0) - Xt.mean(axis=0)).max() < 1e-10


def test_center_false_is_paper_formula(domains):
    Xs, Xt = domains
    aligned = coral(Xs, Xt, reg=0.5, center=False)
    C_s = np.cov(Xs, rowvar=False) + 0.5 * np.eye(5)
    C_t = np.cov(Xt, rowvar=False) + 0.5 * np.eye(5)
    # Independent route to the matrix powers: scipy's general sqrtm.
    from scipy.linalg import inv, sqrtm

    expected = Xs @ inv(sqrtm(C_s)) @ sqrtm(C_t)
    assert np.abs(aligned - expected.real).max() < 1e-9
    assert np.abs(expected.imag).max() < 1e-9


def test_one_dimensional_scale_factor():
    rng = np.random.default_rng(1)
    Xs = _with_exact_variance(rng.normal(size=200), 4.0).reshape(-1, 1)
    Xt = _with_exact_variance(rng.normal(size=150), 1.0).reshape(-1, 1)
    aligned = coral(Xs, Xt, reg=1.0)
    factor = aligned.std(ddof=1) / Xs.std(ddof=1)
    assert factor == pytest.approx(np.sqrt(2 / 5), abs=1e-12)


def test_large_reg_is_mean_shift(domains):
    Xs, Xt = domains
    aligned = coral(Xs, Xt, reg=1e12)
    shifted = Xs - Xs.mean(axis=0) + Xt.mean(axis=0)
    assert np.abs(aligned - shifted).max() < 1e-6


def test_more_columns_than_rows_is_real_and_finite():
    rng = np.random.default_rng(2)
    Xs, Xt = rng.normal(size=(10, 40)), rng.normal(size=(15, 40))
    aligned = coral(Xs, Xt, reg=1.0)
    assert aligned.dtype == np.float64
    assert np.isfinite(aligned).all()


def test_singular_without_reg_warns_and_stays_finite():
    rng = np.random.default_rng(3)
    Xs, Xt = rng.normal(size=(10, 40)), rng.normal(size=(15, 40))
    with pytest.warns(UserWarning, match="singular"):
        aligned = coral(Xs, Xt, reg=0.0)
    assert aligned.dtype == np.float64
    assert np.isfinite(aligned).all()
    assert np.abs(aligned).max() < 1e3 * np.abs(Xt).max()


def test_constant_and_collinear_columns():
    rng = np.random.default_rng(4)
    base = rng.normal(size=(100, 2))
    Xs = np.column_stack([base, base[:, 0] * 2 - base[:, 1], np.full(100, 7.0)])
    Xt = rng.normal(size=(80, 4))
    for reg in (0.0, 1.0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            aligned = coral(Xs, Xt, reg=reg)
        assert np.isfinite(aligned).all()
        assert np.abs(aligned).max() < 1e3


def test_standardize_with_constant_column():
    rng = np.random.default_rng(9)
    Xs = np.column_stack([rng.normal(size=50), np.full(50, 3.0)])
    Xt = rng.normal(size=(40, 2))
    aligner = CORAL(reg=1.0, standardize=True).fit(Xs, Xt)
    assert aligner.scale_[1] == 1.0
    assert np.isfinite(aligner.transform(Xs)).all()


def test_standardize_keeps_exact_alignment(domains):
    Xs, Xt = domains
    for option in (True, "source", "pooled"):
        aligned = coral(Xs, Xt, reg=0.0, standardize=option)
        gap = np.abs(np.cov(aligned, rowvar=False) - np.cov(Xt, rowvar=False)).max()
        assert gap < 1e-10, option


def test_standardize_makes_reg_scale_free(domains):
    Xs, Xt = domains
    scaled = coral(Xs * 1000, Xt * 1000, reg=1.0, standardize=True)
    unscaled = coral(Xs, Xt, reg=1.0, standardize=True)
    assert np.abs(scaled / 1000 - unscaled).max() < 1e-9


def test_standardize_output_in_original_units():
    rng = np.random.default_rng(5)
    Xs = rng.normal(size=(300, 2)) * [100.0, 0.01]
    Xt = rng.normal(size=(200, 2)) * [50.0, 0.02]
    aligned = coral(Xs, Xt, reg=0.0, standardize="source")
    assert aligned.std(axis=0, ddof=1) == pytest.approx(
        Xt.std(axis=0, ddof=1), rel=1e-10
    )


def test_agrees_with_skada_without_shrinkage(coral_adapter):
    # skada's CORALAdapter(reg=None) uses the covariance with divisor n and leaves the
    # aligned source centred. Our divisor n - 1 changes the map by the scalar
    # sqrt(((n_t - 1) / n_t) / ((n_s - 1) / n_s)).
    rng = np.random.default_rng(6)
    n_s, n_t = 300, 200
    Xs, Xt = _sample(rng, n_s, 6, shift=3.0), _sample(rng, n_t, 6, shift=-1.0)
    X = np.vstack([Xs, Xt])
    sample_domain = np.r_[np.ones(n_s, dtype=int), -np.ones(n_t, dtype=int)]
    reference = coral_adapter(reg=None).fit_transform(X, sample_domain=sample_domain)[
        :n_s
    ]
    divisor_ratio = np.sqrt(((n_t - 1) / n_t) / ((n_s - 1) / n_s))
    ours = (coral(Xs, Xt, reg=0.0) - Xt.mean(axis=0)) * divisor_ratio
    assert np.abs(ours - reference).max() < 1e-12 * np.abs(reference).max()


def test_agrees_with_skada_shrinkage(coral_adapter):
    # skada's reg is a shrinkage weight a: (1 - a) C + a * trace(C) / d * I. With equal
    # sample sizes and equal covariance traces this is our C + lam * I up to a common
    # factor, with lam = a / (1 - a) * trace(C) / d.
    rng = np.random.default_rng(7)
    n, d, shrinkage = 250, 6, 0.3
    Xs, Xt = _sample(rng, n, d, shift=2.0), _sample(rng, n, d)
    trace_s = np.trace(np.cov(Xs, rowvar=False))
    trace_t = np.trace(np.cov(Xt, rowvar=False))
    Xt = (Xt - Xt.mean(axis=0)) * np.sqrt(trace_s / trace_t) + Xt.mean(axis=0)
    X = np.vstack([Xs, Xt])
    sample_domain = np.r_[np.ones(n, dtype=int), -np.ones(n, dtype=int)]
    adapter = coral_adapter(reg=shrinkage)
    reference = adapter.fit_transform(X, sample_domain=sample_domain)[:n]
    lam = shrinkage / (1 - shrinkage) * trace_s / d
    ours = coral(Xs, Xt, reg=lam) - Xt.mean(axis=0)
    assert np.abs(ours - reference).max() < 1e-12 * np.abs(reference).max()


def test_transformer_equals_function(domains):
    Xs, Xt = domains
    aligner = CORAL(reg=0.3).fit(Xs, Xt)
    assert np.array_equal(aligner.transform(Xs), coral(Xs, Xt, reg=0.3))


def test_fit_transform_equals_fit_then_transform(domains):
    Xs, Xt = domains
    first = CORAL(reg=0.3, standardize="pooled").fit_transform(Xs, Xt)
    second = CORAL(reg=0.3, standardize="pooled").fit(Xs, Xt).transform(Xs)
    assert np.array_equal(first, second)


def test_transform_new_rows_uses_fitted_map(domains):
    Xs, Xt = domains
    aligner = CORAL(reg=0.3).fit(Xs, Xt)
    new_rows = Xs[:7] + 1.0
    expected = (
        new_rows - aligner.mean_source_
    ) @ aligner.matrix_ + aligner.mean_target_
    assert np.abs(aligner.transform(new_rows) - expected).max() < 1e-12
    assert aligner.transform(Xs[:1]).shape == (1, 5)


def test_large_means_keep_precision():
    rng = np.random.default_rng(8)
    Xs = rng.normal(size=(500, 3)) + 1e8
    Xt = rng.normal(size=(400, 3)) * 2
    aligned = coral(Xs, Xt, reg=0.0)
    gap = np.abs(np.cov(aligned, rowvar=False) - np.cov(Xt, rowvar=False)).max()
    assert gap < 1e-6


@pytest.mark.parametrize("offset", [0.0, 5.0, 1e3, 1e8])
def test_covariance_matches_numpy_for_any_offset(offset):
    # Offsets beyond ten standard deviations switch to block-wise centring.
    from tabtransfer.alignment import _mean_and_covariance

    rng = np.random.default_rng(10)
    X = _sample(rng, 5000, 4) + offset
    mean, covariance = _mean_and_covariance(X)
    reference = np.cov(X, rowvar=False)
    assert np.abs(covariance - reference).max() < 1e-12 * np.abs(reference).max()
    assert np.abs(mean - X.mean(axis=0)).max() <= 1e-15 * max(offset, 1.0) * 10


def test_map_matches_direct_product_across_blocks():
    # More rows than one block, so the block boundaries are crossed.
    from tabtransfer.alignment import _apply_map

    rng = np.random.default_rng(11)
    X = rng.normal(size=(20_000, 3)) + 5.0
    matrix = rng.normal(size=(3, 3))
    shift_in, shift_out = X.mean(axis=0), np.array([1.0, -2.0, 3.0])
    expected = (X - shift_in) @ matrix + shift_out
    assert np.abs(_apply_map(X, matrix, shift_in, shift_out) - expected).max() < 1e-12
    assert np.abs(_apply_map(X, matrix, None, None) - X @ matrix).max() < 1e-12


def test_dataframe_in_dataframe_out(domains):
    Xs, Xt = domains
    columns = [f"z{i}" for i in range(5)]
    frame_s = pd.DataFrame(Xs, columns=columns, index=np.arange(1000, 1400))
    frame_t = pd.DataFrame(Xt, columns=columns)
    aligned = coral(frame_s, frame_t, reg=0.3)
    assert isinstance(aligned, pd.DataFrame)
    assert aligned.index.equals(frame_s.index)
    assert list(aligned.columns) == columns
    assert np.array_equal(aligned.to_numpy(), coral(Xs, Xt, reg=0.3))


def test_transformer_dataframe_and_feature_names(domains):
    Xs, Xt = domains
    columns = [f"z{i}" for i in range(5)]
    frame_s = pd.DataFrame(Xs, columns=columns)
    aligner = CORAL().fit(frame_s, pd.DataFrame(Xt, columns=columns))
    out = aligner.transform(frame_s.iloc[10:20])
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(frame_s.index[10:20])
    assert list(aligner.get_feature_names_out()) == columns
    with pytest.raises(ValueError, match="fitted on"):
        aligner.transform(frame_s[columns[::-1]])


def test_feature_names_out_for_arrays(domains):
    Xs, Xt = domains
    aligner = CORAL().fit(Xs, Xt)
    assert list(aligner.get_feature_names_out()) == [f"x{i}" for i in range(5)]


def test_set_output_pandas(domains):
    Xs, Xt = domains
    out = CORAL().set_output(transform="pandas").fit(Xs, Xt).transform(Xs)
    assert isinstance(out, pd.DataFrame)


@pytest.mark.parametrize(
    ("Xs", "Xt", "message"),
    [
        (np.array([[1.0, np.nan], [2.0, 3.0]]), np.ones((3, 2)), "NaN or infinite"),
        (np.array([[1.0, np.inf], [2.0, 3.0]]), np.ones((3, 2)), "NaN or infinite"),
        (np.ones((4, 2)), np.ones((4, 3)), "2 column"),
        (np.arange(5.0), np.ones((4, 1)), "must be 2-D"),
        (np.ones((1, 2)), np.ones((4, 2)), "1 row"),
        (np.ones((4, 2)), np.ones((1, 2)), "1 row"),
        (pd.Series([1.0, 2.0, 3.0]), np.ones((3, 1)), "Series"),
    ],
)
def test_bad_input_raises(Xs, Xt, message):
    with pytest.raises(ValueError, match=message):
        coral(Xs, Xt)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"reg": -1.0}, "reg must be"),
        ({"reg": np.nan}, "reg must be"),
        ({"standardize": "columns"}, "standardize must be"),
        ({"eig_floor": -1.0}, "eig_floor must be"),
    ],
)
def test_bad_parameters_raise(domains, params, message):
    Xs, Xt = domains
    with pytest.raises(ValueError, match=message):
        CORAL(**params).fit(Xs, Xt)


def test_mismatched_dataframe_columns_raise():
    left = pd.DataFrame(np.ones((3, 2)), columns=["a", "b"])
    right = pd.DataFrame(np.ones((3, 2)), columns=["b", "a"])
    with pytest.raises(ValueError, match="different column labels"):
        coral(left, right)


def test_transform_wrong_width_raises(domains):
    Xs, Xt = domains
    aligner = CORAL().fit(Xs, Xt)
    with pytest.raises(ValueError, match="fitted on 5"):
        aligner.transform(np.ones((3, 4)))
