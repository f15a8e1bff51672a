"""Tests of the chapter 4 comparison: paradigms, baselines and the results frame."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

import tabtransfer as tt
from tabtransfer import paradigms, viz_paradigms


@pytest.fixture(scope="module")
def world():
    data = tt.simulate_course_data(n_source=3000, n_target=600, seed=0)
    embedding = tt.PurchaseEmbedding(n_components=8).fit(
        data.source[data.purchase_columns]
    )
    return data, embedding


@pytest.fixture(scope="module")
def split(world):
    data, embedding = world
    Xs = paradigms.user_features(data.source, embedding)
    Xt = paradigms.user_features(data.target, embedding)
    return paradigms.make_split(
        Xs,
        data.source["participate"],
        Xt,
        data.target["participate"],
        100,
        random_state=0,
    )


@pytest.fixture(scope="module")
def results(world):
    data, embedding = world
    return paradigms.run_replications(
        data.source, embedding, n_replications=3, n_labelled=[60, 120], n_target=400
    )


def test_user_features_keep_first_dimensions(world):
    data, embedding = world
    full = paradigms.user_features(data.target, embedding)
    reduced = paradigms.user_features(data.target, embedding, n_dims=3)
    assert list(reduced.columns[-3:]) == ["z01", "z02", "z03"]
    assert reduced.shape[1] == full.shape[1] - 5
    assert np.array_equal(reduced[["z01", "z02", "z03"]], full[["z01", "z02", "z03"]])


@pytest.mark.parametrize("n_dims", [0, 9, 2.5, True])
def test_user_features_reject_bad_n_dims(world, n_dims):
    data, embedding = world
    with pytest.raises(ValueError, match="n_dims"):
        paradigms.user_features(data.target, embedding, n_dims=n_dims)


def test_split_labels_requested_users(split):
    assert split.labelled.sum() == 100
    assert len(split.Xt_labelled) == 100
    assert len(split.Xt_held_out) == len(split.Xt) - 100
    assert split.Xt_labelled.index.intersection(split.Xt_held_out.index).empty


def test_split_sets_are_nested_for_one_seed(world):
    data, embedding = world
    Xs = paradigms.user_features(data.source, embedding)
    Xt = paradigms.user_features(data.target, embedding)
    model = tt.make_participation_model().fit(Xs, data.source["participate"])
    arguments = (Xs, data.source["participate"], Xt, data.target["participate"])
    small = paradigms.make_split(*arguments, 50, random_state=3, source_model=model)
    large = paradigms.make_split(*arguments, 200, random_state=3, source_model=model)
    assert np.all(large.labelled[small.labelled])


@pytest.mark.parametrize("n_labelled", [5, 551, 100.0])
def test_split_rejects_bad_size(split, n_labelled):
    with pytest.raises(ValueError, match="n_labelled"):
        paradigms.make_split(split.Xs, split.ys, split.Xt, split.yt, n_labelled)


def test_split_rejects_different_columns(split):
    with pytest.raises(ValueError, match="same columns"):
        paradigms.make_split(split.Xs, split.ys, split.Xt.iloc[:, ::-1], split.yt, 100)


def test_split_rejects_non_binary_labels(split):
    with pytest.raises(ValueError, match="0/1"):
        paradigms.make_split(split.Xs, split.ys * 2, split.Xt, split.yt, 100)


def test_recentre_matches_target_means(split):
    columns = list(split.embedding_columns)
    Zs, Zt = split.Xs[columns], split.Xt[columns]
    shifted = paradigms.recentre(Zs, Zt)
    assert np.allclose(shifted.mean(), Zt.mean(), rtol=0, atol=1e-14)
    # Only the location moves: the covariance is unchanged.
    assert np.allclose(shifted.cov(), Zs.cov(), rtol=0, atol=1e-14)
    assert shifted.index.equals(Zs.index)


def test_recentre_is_coral_limit_of_large_reg(split):
    columns = list(split.embedding_columns)
    Zs, Zt = split.Xs[columns], split.Xt[columns]
    coral = tt.CORAL(reg=1e9, standardize="source").fit_transform(Zs, Zt)
    assert np.abs(coral - paradigms.recentre(Zs, Zt)).to_numpy().max() < 1e-6


def test_recentre_rejects_arrays(split):
    with pytest.raises(ValueError, match="DataFrames"):
        paradigms.recentre(split.Xs.to_numpy(), split.Xt.to_numpy())


def test_source_only_equals_fit_without_transfer(split):
    fitted = paradigms.fit_source_only(split)
    plain = tt.make_participation_model().fit(split.Xs, split.ys)
    assert np.allclose(
        fitted.model.predict_proba(split.Xt), plain.predict_proba(split.Xt), atol=1e-10
    )
    assert fitted.n_effective == len(split.Xs)


def test_recentred_model_shifts_only_intercept(split):
    recentred = paradigms.fit_recentred(split).model
    shift = recentred.decision_function(
        split.Xt
    ) - split.source_model.decision_function(split.Xt)
    assert np.std(shift) < 1e-8
    assert abs(np.mean(shift)) > 1e-3
    y = split.yt
    assert roc_auc_score(y, recentred.decision_function(split.Xt)) == pytest.approx(
        roc_auc_score(y, split.source_model.decision_function(split.Xt))
    )


def test_coral_fit_changes_ranking(split):
    coral = paradigms.fit_coral(split, reg=0.0).model
    shift = coral.decision_function(split.Xt) - split.source_model.decision_function(
        split.Xt
    )
    assert np.std(shift) > 1e-3


def test_target_only_uses_labelled_rows_only(split):
    fitted = paradigms.fit_target_only(split)
    plain = tt.make_participation_model().fit(split.Xt_labelled, split.yt_labelled)
    assert np.allclose(
        fitted.model.predict_proba(split.Xt), plain.predict_proba(split.Xt), atol=1e-10
    )
    assert fitted.n_effective == 100


def test_pooled_counts_both_domains(split):
    assert paradigms.fit_pooled(split).n_effective == len(split.Xs) + 100


def test_importance_weighted_reports_kish_ess(split):
    fitted = paradigms.fit_importance_weighted(split)
    weights = tt.importance_weights(split.Xs, split.Xt)
    assert fitted.n_effective == pytest.approx(weights.ess)
    assert fitted.n_effective < len(split.Xs)


def test_nearest_source_trains_on_k_rows(split):
    fitted = paradigms.fit_nearest_source(split, k=500)
    assert fitted.n_effective == 500
    assert fitted.model[-1].n_features_in_ == split.Xs.shape[1]


def test_infinite_strength_keeps_source_coefficients(split):
    fitted = paradigms.fit_fine_tuned(split, strength=np.inf)
    assert np.array_equal(fitted.model[-1].coef_, split.source_model[-1].coef_)
    assert fitted.model[-1].intercept_[0] != split.source_model[-1].intercept_[0]


def test_chosen_strength_is_on_grid(split):
    strength = paradigms.choose_strength(split)
    assert strength in paradigms.DEFAULT_STRENGTHS


def test_cross_validation_ignores_held_out_labels(split):
    flipped = paradigms.TransferSplit(
        split.Xs,
        split.ys,
        split.Xt,
        np.where(split.labelled, split.yt, 1 - split.yt),
        split.labelled,
        split.embedding_columns,
        split.source_model,
    )
    assert paradigms.cross_validated_log_loss(flipped).equals(
        paradigms.cross_validated_log_loss(split)
    )


def test_cross_validation_rejects_too_many_folds(split):
    with pytest.raises(ValueError, match="n_splits"):
        paradigms.cross_validated_log_loss(split, n_splits=100)


def test_results_have_expected_columns(results):
    assert list(results.columns) == paradigms.RESULT_COLUMNS


def test_results_one_row_per_run(results):
    counts = results.groupby(["replication", "n_labelled", "method"]).size()
    assert (counts == 1).all()
    assert len(results) == 3 * 2 * len(paradigms.METHODS)
    assert set(results["method"]) == set(paradigms.METHODS)


def test_results_metrics_are_valid(results):
    assert (
        results[["accuracy", "auc", "predicted_rate", "observed_rate"]]
        .notna()
        .all()
        .all()
    )
    assert results["accuracy"].between(0, 1).all()
    assert results["auc"].between(0, 1).all()


def test_recentre_keeps_source_auc(results):
    # Re-centring moves only the intercept, so its AUC equals the source model's.
    wide = results.pivot_table(
        index=["replication", "n_labelled"], columns="method", values="auc"
    )
    assert np.allclose(wide["recentre"], wide["source_only"])


def test_replications_use_fresh_targets(results):
    per_replication = results[results["method"] == "source_only"].groupby(
        "replication"
    )["observed_rate"]
    assert per_replication.first().nunique() > 1


def test_run_replications_rejects_unknown_method(world):
    data, embedding = world
    with pytest.raises(ValueError, match="Unknown methods"):
        paradigms.run_replications(data.source, embedding, methods=["no_such_method"])


def test_run_replications_accepts_custom_method(world):
    data, embedding = world
    custom = {"mine": paradigms.Method("自定义", "feature", paradigms.fit_source_only)}
    frame = paradigms.run_replications(
        data.source, embedding, n_replications=2, n_target=300, methods=custom
    )
    assert list(frame["method"].unique()) == ["mine"]
    assert len(frame) == 2


def test_summarise_gives_t_interval():
    values = np.array([0.70, 0.72, 0.75, 0.71])
    frame = pd.DataFrame(
        {
            "n_labelled": 100,
            "method": "m",
            "label": "m",
            "paradigm": "baseline",
            "accuracy": values,
        }
    )
    row = paradigms.summarise(frame, ("accuracy",)).iloc[0]
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2
    assert row["accuracy"] == pytest.approx(values.mean())
    assert row["accuracy_low"] == pytest.approx(values.mean() - half)
    assert row["accuracy_high"] == pytest.approx(values.mean() + half)
    assert row["n_replications"] == 4


def test_summarise_rejects_missing_metric(results):
    with pytest.raises(ValueError, match="no columns"):
        paradigms.summarise(results, ("precision",))


def test_paired_difference_is_mean_of_differences(results):
    at_60 = results[results["n_labelled"] == 60]
    difference = paradigms.paired_difference(at_60, "recentre", "source_only")
    wide = at_60.pivot_table(index="replication", columns="method", values="accuracy")
    assert difference["mean"] == pytest.approx(
        (wide["recentre"] - wide["source_only"]).mean()
    )
    assert difference["low"] < difference["mean"] < difference["high"]


def test_paired_difference_rejects_mixed_sizes(results):
    with pytest.raises(ValueError, match="several labelled-set sizes"):
        paradigms.paired_difference(results, "recentre", "source_only")


def test_coral_family_methods_are_keyed_by_reg():
    methods = paradigms.coral_family_methods([0, 0.5])
    assert list(methods) == ["coral_reg=0", "coral_reg=0.5"]
    assert all(method.paradigm == "feature" for method in methods.values())


def test_mean_gap_axes_are_orthonormal(split):
    columns = list(split.embedding_columns)
    axes = viz_paradigms.mean_gap_axes(split.Xs[columns], split.Xt[columns])
    assert np.allclose(axes.T @ axes, np.eye(2), atol=1e-12)
    gap = split.Xt[columns].mean() - split.Xs[columns].mean()
    assert np.allclose(axes[:, 0], gap / np.linalg.norm(gap))


def test_method_interval_plot_has_a_panel_per_metric(results):
    summary = paradigms.summarise(results[results["n_labelled"] == 60])
    fig = viz_paradigms.plot_method_intervals(summary)
    assert len(fig.axes) == 2
    plt.close(fig)
