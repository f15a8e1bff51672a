"""Tests of the chapter 5 case study (CORAL + PSM) and the chapter 6 negative transfer."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import tabtransfer as tt
from tabtransfer import casestudy, negative
from tabtransfer.psm import estimate_att

pytestmark = pytest.mark.filterwarnings("ignore::tabtransfer.psm.UnmatchedTreatedWarning")

N_REPLICATIONS = 30


@pytest.fixture(scope="module")
def data():
    # 20,000 source users keep the module fast; the chapter uses 100,000.
    return tt.simulate_course_data(n_source=20_000, seed=0)


@pytest.fixture(scope="module")
def knowledge(data):
    return casestudy.fit_source_knowledge(data.source, n_reference=5_000)


@pytest.fixture(scope="module")
def replications(knowledge):
    return casestudy.replicate_case_study(
        knowledge, n_target=1_000, seeds=range(N_REPLICATIONS), regs=(0.0, 1.0)
    )


@pytest.fixture(scope="module")
def summary(replications):
    return casestudy.summarise_replications(replications).xs(1_000, level="n_target")


@pytest.fixture(scope="module")
def frame(data, knowledge):
    return casestudy.prepare_target(data.target, knowledge)


def test_oracle_recovers_true_att(summary):
    oracle = summary.loc["oracle"]
    assert abs(oracle["bias"]) < 3 * oracle["bias_se"]


def test_local_only_biased_downward(summary):
    local = summary.loc["local"]
    assert local["bias"] + 3 * local["bias_se"] < 0
    assert local["bias"] < -20


def test_transferred_score_reduces_bias(summary):
    assert abs(summary.loc["score", "bias"]) < abs(summary.loc["local", "bias"]) / 2


def test_oracle_propensity_beats_local(summary):
    assert summary.loc["oracle", "logit_corr"] > 0.95
    assert summary.loc["local", "logit_corr"] < summary.loc["score", "logit_corr"]


def test_results_frame_shape(replications, knowledge):
    n_pipelines = len(casestudy.pipeline_covariates(knowledge, regs=(0.0, 1.0)))
    assert replications.shape[0] == N_REPLICATIONS * n_pipelines
    assert replications["seed"].nunique() == N_REPLICATIONS
    assert (replications["error"] == "").all()
    for column in ["att", "true_att", "bias", "logit_corr", "auc", "smd_psi_after", "seconds"]:
        assert column in replications.columns


def test_summary_index_and_counts(replications):
    table = casestudy.summarise_replications(replications)
    assert table.index.names == ["n_target", "pipeline"]
    assert (table["n_replications"] == N_REPLICATIONS).all()
    assert (table["n_failed"] == 0).all()
    assert (table["rmse"] >= table["bias"].abs()).all()


def test_pipeline_order_and_names(knowledge):
    names = list(casestudy.pipeline_covariates(knowledge, regs=(0.0, 0.1)))
    assert names == [
        "local", "raw_embedding", "score", "score_coral_0", "score_coral_0.1",
        "value_share", "oracle",
    ]


def test_pipelines_share_local_covariates(knowledge):
    for covariates in casestudy.pipeline_covariates(knowledge).values():
        assert covariates[:2] == list(casestudy.LOCAL_COVARIATES)


def test_coral_score_equals_refit_on_aligned_source(data, knowledge, frame):
    # Textbook CORAL: align the source to the target, refit the score, score the target.
    Zs = casestudy.standardised_embedding(knowledge, data.source)
    Zt = frame[knowledge.embedding_columns]
    aligned = tt.CORAL(reg=0.1).fit(knowledge.reference, Zt).transform(Zs)
    refit = LogisticRegression(max_iter=2000).fit(aligned.to_numpy(), data.source["participate"])
    textbook = refit.decision_function(Zt.to_numpy())
    cheap = casestudy.coral_score(frame, knowledge, 0.1)
    assert np.corrcoef(textbook, cheap)[0, 1] > 0.999


def test_coral_score_large_reg_is_affine_in_score(knowledge, frame):
    aligned = casestudy.coral_score(frame, knowledge, 1e6)
    assert np.corrcoef(aligned, frame["score"])[0, 1] > 0.99999


def test_affine_score_leaves_att_unchanged(frame):
    shifted = frame.assign(score_shifted=3 * frame["score"] - 2)
    original = estimate_att(shifted, "treatment", "spend", ["age", "log_visit", "score"])
    rescaled = estimate_att(shifted, "treatment", "spend", ["age", "log_visit", "score_shifted"])
    assert abs(original.att - rescaled.att) < 1e-6


def test_stylised_distortion_hurts_and_coral_repairs(knowledge):
    stylised = {"target_mix": "ecommerce", "value_boost": 1.0}
    distortion = casestudy.linear_distortion(50, seed=0)
    results = casestudy.replicate_case_study(
        knowledge, seeds=range(10), regs=(0.0,), pipelines=["score", "score_coral_0"],
        simulation_kwargs=stylised, distortion=distortion,
    )
    table = casestudy.summarise_replications(results).xs(1_000, level="n_target")
    assert table.loc["score_coral_0", "logit_corr"] > table.loc["score", "logit_corr"]
    assert abs(table.loc["score_coral_0", "bias"]) < abs(table.loc["score", "bias"])


def test_rank_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.random(400) < 0.3
    scores = np.round(rng.normal(size=400), 1) + labels
    assert casestudy.rank_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_rank_auc_rejects_single_class():
    with pytest.raises(ValueError, match="both classes"):
        casestudy.rank_auc(np.ones(5, dtype=bool), np.arange(5.0))


def test_value_share_between_zero_and_one(data):
    share = casestudy.value_share(data.target)
    assert share.between(0, 1).all()
    assert share.index.equals(data.target.index)


def test_value_share_fills_empty_basket_with_warning(data):
    users = data.target.iloc[:5].copy()
    users.loc[users.index[0], data.purchase_columns] = 0
    with pytest.warns(UserWarning, match="no purchases"):
        share = casestudy.value_share(users)
    assert share.notna().all()
    assert share.iloc[0] == pytest.approx(share.iloc[1:].mean())


def test_value_share_rejects_missing_columns():
    with pytest.raises(ValueError, match="is missing the columns"):
        casestudy.value_share(pd.DataFrame({"age": [30]}))


def test_linear_distortion_symmetric_positive_definite():
    A = casestudy.linear_distortion(10, spread=5.0, seed=1)
    eigenvalues = np.linalg.eigvalsh(A)
    assert np.allclose(A, A.T)
    assert eigenvalues.min() >= 1 / 5 - 1e-9
    assert eigenvalues.max() <= 5 + 1e-9


def test_linear_distortion_rejects_spread_below_one():
    with pytest.raises(ValueError, match="spread"):
        casestudy.linear_distortion(5, spread=0.5)


def test_prepare_target_rejects_wrong_distortion(data, knowledge):
    with pytest.raises(ValueError, match="distortion must have shape"):
        casestudy.prepare_target(data.target, knowledge, distortion=np.eye(3))


def test_prepare_target_rejects_source_frame(data, knowledge):
    with pytest.raises(ValueError, match="is missing the columns"):
        casestudy.prepare_target(data.source, knowledge)


def test_replicate_rejects_unknown_pipeline(knowledge):
    with pytest.raises(ValueError, match="Unknown pipelines"):
        casestudy.replicate_case_study(knowledge, seeds=[0], pipelines=["magic"])


def test_replicate_rejects_empty_seeds(knowledge):
    with pytest.raises(ValueError, match="seeds is empty"):
        casestudy.replicate_case_study(knowledge, seeds=[])


def test_evaluate_coral_pipeline_needs_knowledge(frame):
    with pytest.raises(ValueError, match="need knowledge"):
        casestudy.evaluate_pipeline(frame, ["age", "log_visit", "score_coral_0"])


def test_plot_case_study_returns_two_axes(replications):
    figure = casestudy.plot_case_study(casestudy.summarise_replications(replications))
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 2


def test_figure_4_runs_with_few_replications():
    figure = casestudy.figure_4(n_replications=2)
    assert isinstance(figure, Figure)


# --- chapter 6: negative transfer -------------------------------------------------


@pytest.fixture(scope="module")
def negative_run():
    return negative.run_negative_transfer(0, n_source=5_000)


def test_naive_transfer_is_negative(negative_run):
    assert negative_run.loc["naive", "accuracy"] < negative_run.loc["target_only", "accuracy"]


def test_invariant_carrier_beats_naive(negative_run):
    assert negative_run.loc["invariant_finetune", "accuracy"] > negative_run.loc["naive", "accuracy"]


def test_negative_run_scores_are_valid(negative_run):
    assert negative_run["accuracy"].between(0, 1).all()
    assert negative_run["auc"].between(0, 1).all()
    assert negative_run.loc["majority", "accuracy"] >= 0.5


def test_summary_recovered_endpoints(negative_run):
    runs = pd.concat(
        [negative_run.reset_index().assign(seed=0), negative_run.reset_index().assign(seed=1)]
    )
    table = negative.summarise_negative_transfer(runs)
    assert table.loc["naive", "recovered"] == pytest.approx(0.0)
    assert table.loc["target_only", "recovered"] == pytest.approx(1.0)
    assert np.isnan(table.loc["majority", "recovered"])
    assert table.loc["target_only", "gap"] == pytest.approx(0.0)


def test_coverage_low_for_unseen_departments():
    data = tt.simulate_course_data(
        n_source=3_000, n_target=500, seed=0, source_mix="appliance", target_mix="fresh_food"
    )
    columns = data.purchase_columns
    embedding = tt.PurchaseEmbedding().fit(data.source[columns])
    coverage_source = negative.embedding_coverage(embedding, data.source[columns])
    coverage_target = negative.embedding_coverage(embedding, data.target[columns])
    assert 0 <= coverage_target < coverage_source <= 1
    assert coverage_target < 0.1


def test_shared_departments_of_appliance_and_fresh_food():
    shared = negative.shared_departments("appliance", "fresh_food")
    assert shared == ["beauty", "household", "grocery", "snacks"]


def test_shared_departments_rejects_unknown_mix():
    with pytest.raises(ValueError, match="Unknown department mix"):
        negative.shared_departments("appliance", "bakery")


def test_split_labelled_sizes(data):
    labelled, evaluation = negative.split_labelled(data.target, 100, seed=0)
    assert len(labelled) == 100
    assert len(evaluation) == len(data.target) - 100
    assert labelled.index.intersection(evaluation.index).empty


def test_split_labelled_rejects_too_many(data):
    with pytest.raises(ValueError, match="n_labelled must be between"):
        negative.split_labelled(data.target, len(data.target), seed=0)


# --- chapter 5 page ---------------------------------------------------------------


def test_chapter_5_displayed_code_is_executed():
    # myst-nb 1.4 ignores emphasize-lines on code cells, so the chapter shows the
    # CORAL pipeline in a code-block with the covariance lines emphasised and runs
    # the same lines in a remove-input code cell right after it.
    page = (Path(__file__).resolve().parents[1] / "chapters" / "ch05_case_study.md").read_text(
        encoding="utf-8"
    )
    displayed_header = "```{code-block} python\n:emphasize-lines: 3,4\n\n"
    executed_header = "```{code-cell} ipython3\n:tags: [remove-input]\n\n"
    displayed_start = page.index(displayed_header) + len(displayed_header)
    displayed = page[displayed_start : page.index("```", displayed_start)]
    executed_start = page.index(executed_header, displayed_start) + len(executed_header)
    executed = page[executed_start : page.index("```", executed_start)]
    lines = displayed.splitlines()
    assert displayed == executed
    assert lines[2].startswith("C_s = ")
    assert lines[3].startswith("C_t = ")
