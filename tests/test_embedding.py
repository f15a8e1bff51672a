"""Tests of the purchase embedding."""

import numpy as np
import pandas as pd
import pytest

import tabtransfer as tt


@pytest.fixture(scope="module")
def data():
    return tt.simulate_course_data(n_source=4_000, n_target=500, seed=1)


@pytest.fixture(scope="module")
def embedding(data):
    return tt.PurchaseEmbedding().fit(data.source[data.purchase_columns])


def test_shape_and_names(data, embedding):
    Zs = embedding.transform(data.source[data.purchase_columns])
    assert Zs.shape == (4_000, 50)
    assert list(Zs.columns[:2]) == ["z01", "z02"]
    assert Zs.index.equals(data.source.index)


def test_reused_unchanged_on_target(data, embedding):
    Zt = embedding.transform(data.target[data.purchase_columns])
    assert Zt.shape == (500, 50)
    assert Zt.index.equals(data.target.index)
    # Refitting on the target would give a different map: reuse must not refit.
    refit = tt.PurchaseEmbedding().fit(data.target[data.purchase_columns])
    assert not np.allclose(refit.transform(data.target[data.purchase_columns]).to_numpy(), Zt.to_numpy())
    again = embedding.transform(data.target[data.purchase_columns])
    pd.testing.assert_frame_equal(Zt, again)


def test_matches_sklearn_pipeline(data, embedding):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.pipeline import make_pipeline

    reference = make_pipeline(TfidfTransformer(sublinear_tf=True), TruncatedSVD(50, random_state=0))
    counts = data.source[data.purchase_columns].to_numpy(dtype=float)
    expected = reference.fit(counts).transform(data.target[data.purchase_columns].to_numpy(dtype=float))
    got = embedding.transform(data.target[data.purchase_columns]).to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_column_order_does_not_matter(data, embedding):
    shuffled = data.target[data.purchase_columns[::-1]]
    pd.testing.assert_frame_equal(
        embedding.transform(shuffled), embedding.transform(data.target[data.purchase_columns])
    )


def test_embedding_reveals_price_sensitivity(data, embedding):
    from sklearn.linear_model import LinearRegression

    Zs = embedding.transform(data.source[data.purchase_columns])
    r2 = LinearRegression().fit(Zs, data.source["price_sensitivity"]).score(Zs, data.source["price_sensitivity"])
    assert r2 > 0.3


def test_bad_inputs(data, embedding):
    counts = data.target[data.purchase_columns]
    with pytest.raises(ValueError, match="expects a DataFrame"):
        embedding.transform(counts.to_numpy())
    with pytest.raises(ValueError, match="missing"):
        embedding.transform(counts.drop(columns=data.purchase_columns[0]))
    with pytest.raises(ValueError, match="NaN or inf"):
        with_nan = counts.astype(float)
        with_nan.iloc[0, 0] = np.nan
        embedding.transform(with_nan)
    with pytest.raises(ValueError, match="non-negative"):
        embedding.transform(counts - 100)
    with pytest.raises(ValueError, match="n_components must be between 1 and 119"):
        tt.PurchaseEmbedding(n_components=120).fit(counts)
