"""Tests of the course-data simulator."""

import numpy as np
import pandas as pd
import pytest

import tabtransfer as tt
from tabtransfer.simulation import CATEGORIES, DEPARTMENT_MIXES


@pytest.fixture(scope="module")
def data():
    return tt.simulate_course_data(n_source=5_000, n_target=1_000, seed=3)


def test_same_seed_same_frames():
    first = tt.simulate_course_data(n_source=2_000, n_target=300, seed=11)
    second = tt.simulate_course_data(n_source=2_000, n_target=300, seed=11)
    pd.testing.assert_frame_equal(first.source, second.source)
    pd.testing.assert_frame_equal(first.target, second.target)


def test_different_seed_different_frames():
    first = tt.simulate_course_data(n_source=2_000, n_target=300, seed=1)
    second = tt.simulate_course_data(n_source=2_000, n_target=300, seed=2)
    assert not first.source["age"].equals(second.source["age"])


def test_target_does_not_depend_on_source_size():
    small = tt.simulate_course_data(n_source=2_000, n_target=300, seed=5)
    large = tt.simulate_course_data(n_source=4_000, n_target=300, seed=5)
    pd.testing.assert_frame_equal(small.target, large.target)


def test_default_sizes():
    data = tt.simulate_course_data()
    assert data.source.shape[0] == 100_000
    assert data.target.shape[0] == 1_000


def test_shapes_and_columns(data):
    purchase = data.purchase_columns
    assert len(purchase) == 120
    assert data.source.shape == (5_000, 4 + 120 + 3)
    assert set(purchase) <= set(data.target.columns)
    for column in ["treatment", "spend", "true_effect", "propensity", "spend_if_untreated", "spend_if_treated"]:
        assert column in data.target.columns
        assert column not in data.source.columns
    assert data.source.index.is_unique
    assert data.source.index.name == "user_id"


def test_dtypes(data):
    source = data.source
    assert source["age"].dtype == np.int64
    assert source["income"].dtype == np.float64
    assert isinstance(source["city"].dtype, pd.CategoricalDtype)
    assert source["visit_freq"].dtype == np.float64
    assert (source[data.purchase_columns].dtypes == np.int64).all()
    assert source["participate"].dtype == np.int64
    assert data.target["treatment"].dtype == np.int64
    assert data.target["spend"].dtype == np.float64


def test_values_in_range(data):
    for frame in (data.source, data.target):
        assert frame["age"].between(18, 80).all()
        assert (frame["income"] > 0).all()
        assert (frame["visit_freq"] > 0).all()
        assert (frame[data.purchase_columns] >= 0).all().all()
        assert set(frame["participate"].unique()) <= {0, 1}
    assert (data.target["spend"] >= 0).all()
    assert data.target["propensity"].between(0, 1).all()


def test_true_att_matches_potential_outcomes(data):
    target = data.target
    treated = target[target["treatment"] == 1]
    expected = (treated["spend_if_treated"] - treated["spend_if_untreated"]).mean()
    assert data.true_att == pytest.approx(expected)
    observed = np.where(target["treatment"] == 1, target["spend_if_treated"], target["spend_if_untreated"])
    np.testing.assert_allclose(target["spend"], observed)


def test_true_att_near_design_value():
    # E[effect | treated] = 60 + 20 E[psi | treated]; treated users are more price sensitive.
    data = tt.simulate_course_data(n_source=2, n_target=50_000, seed=0)
    assert 65 < data.true_att < 85


def test_price_sensitivity_confounds_effect(data):
    target = data.target
    treated = target["treatment"] == 1
    assert target.loc[treated, "price_sensitivity"].mean() > target.loc[~treated, "price_sensitivity"].mean() + 0.3
    naive = target.loc[treated, "spend"].mean() - target.loc[~treated, "spend"].mean()
    assert naive < data.true_att - 20


def test_domains_differ_as_the_story_says(data):
    source, target = data.source, data.target
    assert target["visit_freq"].median() < source["visit_freq"].median() / 2
    assert target["visit_freq"].std() < source["visit_freq"].std()
    assert target["age"].mean() > source["age"].mean() + 10
    value = CATEGORIES.loc[CATEGORIES["is_value"], "column"]

    def value_share(frame):
        return (frame[value].sum(axis=1) / frame[data.purchase_columns].sum(axis=1)).mean()

    assert value_share(target) > value_share(source) + 0.1
    fresh = CATEGORIES.loc[CATEGORIES["department"] == "fresh", "column"]
    assert target[fresh].sum(axis=1).mean() > source[fresh].sum(axis=1).mean()


def test_young_rich_users_participate_most(data):
    source = data.source
    young = source["age"] < source["age"].quantile(0.3)
    old = source["age"] > source["age"].quantile(0.7)
    rich = source["income"] > source["income"].quantile(0.7)
    poor = source["income"] < source["income"].quantile(0.3)
    rates = {
        "young_rich": source.loc[young & rich, "p_participate"].mean(),
        "young_poor": source.loc[young & poor, "p_participate"].mean(),
        "old_rich": source.loc[old & rich, "p_participate"].mean(),
    }
    assert rates["young_rich"] > rates["young_poor"]
    assert rates["young_rich"] > rates["old_rich"]


def test_value_boost_one_removes_value_shift():
    plain = tt.simulate_course_data(n_source=2_000, n_target=2_000, seed=0, value_boost=1.0)
    value = CATEGORIES.loc[CATEGORIES["is_value"], "column"]
    share = plain.target[value].sum(axis=1) / plain.target[plain.purchase_columns].sum(axis=1)
    boosted = tt.simulate_course_data(n_source=2_000, n_target=2_000, seed=0)
    boosted_share = boosted.target[value].sum(axis=1) / boosted.target[boosted.purchase_columns].sum(axis=1)
    assert boosted_share.mean() > share.mean() + 0.15


def test_department_mix_presets():
    data = tt.simulate_course_data(n_source=1_000, n_target=500, seed=0, source_mix="appliance", target_mix="fresh_food")
    appliance = CATEGORIES.loc[CATEGORIES["department"] == "appliance", "column"]
    fresh = CATEGORIES.loc[CATEGORIES["department"] == "fresh", "column"]
    assert data.source[appliance].sum().sum() > 5 * data.source[fresh].sum().sum()
    assert data.target[fresh].sum().sum() > 5 * data.target[appliance].sum().sum()
    assert set(DEPARTMENT_MIXES) == {"ecommerce", "supermarket", "appliance", "fresh_food"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_source": 0}, "n_source must be at least 2, got 0"),
        ({"n_target": 1}, "n_target must be at least 2, got 1"),
        ({"n_source": 10.5}, "n_source must be an integer, got 10.5"),
        ({"n_target": True}, "n_target must be an integer, got True"),
        ({"value_boost": -1.0}, "value_boost must be a finite number above 0, got -1.0"),
        ({"value_boost": 0}, "value_boost must be a finite number above 0, got 0"),
        ({"months": float("nan")}, "months must be a finite number above 0, got nan"),
        ({"seed": -3}, "seed must be a non-negative integer, got -3"),
        ({"source_mix": "bookshop"}, "Unknown source_mix 'bookshop'"),
        ({"target_mix": {"toys": 1.0}}, "Unknown departments in target_mix: \\['toys'\\]"),
        ({"target_mix": {"fresh": -0.5}}, "must be finite and non-negative"),
        ({"target_mix": {"fresh": 0.0}}, "sum to 0"),
    ],
)
def test_bad_parameters_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tt.simulate_course_data(**kwargs)
