r"""Negative transfer of chapter 6: appliance e-commerce to a fresh-food supermarket.

The experiment moves the participation model of chapter 1 from a shop that sells
almost only appliances and electronics (``source_mix="appliance"``) to one that
sells almost only fresh food (``target_mix="fresh_food"``). The two shops share
the participation rule of the simulator (age, income, visits, price sensitivity)
but hardly any purchase categories, so an embedding fitted on appliance baskets
has almost nothing to say about fresh-food baskets.

The target has ``n_labelled`` users whose participation is known (the labelled
set) and the rest, whose labels only score the strategies (the evaluation set).
Strategies, from no transfer to adjusted transfer:

``target_only``
    Logistic regression on the labelled target users only, with the shared user
    features (age, income, their product, log visits) and the basket's share of
    value lines (:func:`tabtransfer.casestudy.value_share`).
``naive``
    Chapter 1's recipe unchanged: embedding and model fitted on the source.
``pooled_coral``
    Embedding fitted on the unlabelled purchases of both shops, source embedding
    aligned to the target by CORAL with ridge ``reg`` (source-variance units) and
    re-centring, model refitted on the aligned source. Uses no target label.
``pooled_coral_recal``
    ``pooled_coral`` recalibrated on the labelled users: a logistic regression of
    the label on the model's log-odds (Platt scaling), two parameters.
``shared_recal``
    Embedding fitted on the pooled purchases of the departments both shops sell
    (``shared_departments``), model fitted on the source, then recalibrated.
``invariant_finetune``
    Source model on the shop-independent features of ``target_only``, fine-tuned
    on the labelled users with :class:`tabtransfer.FineTunedLogisticRegression`
    (Gaussian prior centred on the source coefficients).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from numbers import Integral

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from tabtransfer.alignment import coral
from tabtransfer.casestudy import value_share
from tabtransfer.distances import mmd2, proxy_a_distance
from tabtransfer.embedding import PurchaseEmbedding
from tabtransfer.finetune import FineTunedLogisticRegression
from tabtransfer.participation import make_participation_model, participation_features
from tabtransfer.plotting import BLUES, COLORS
from tabtransfer.simulation import CATEGORIES, DEPARTMENT_MIXES, simulate_course_data

__all__ = [
    "STRATEGY_LABELS",
    "embedding_coverage",
    "gap_report",
    "invariant_features",
    "plot_negative_transfer",
    "replicate_negative_transfer",
    "run_negative_transfer",
    "shared_departments",
    "split_labelled",
    "summarise_negative_transfer",
]

#: Chinese display names of the strategies, in the order of the ladder.
STRATEGY_LABELS = {
    "target_only": "仅目标域数据",
    "naive": "直接迁移（家电嵌入）",
    "pooled_coral": "合并嵌入 + CORAL",
    "pooled_coral_recal": "合并嵌入 + CORAL + 重新校准",
    "shared_recal": "只用共有品类 + 重新校准",
    "invariant_finetune": "共享特征 + 微调",
}


def _purchase_columns() -> list[str]:
    return CATEGORIES["column"].tolist()


def shared_departments(source_mix: str, target_mix: str) -> list[str]:
    """Return the departments with a positive share in both shops' department mixes."""
    for mix in (source_mix, target_mix):
        if mix not in DEPARTMENT_MIXES:
            raise ValueError(f"Unknown department mix {mix!r}; use one of {sorted(DEPARTMENT_MIXES)}.")
    source, target = DEPARTMENT_MIXES[source_mix], DEPARTMENT_MIXES[target_mix]
    return [d for d in source if source[d] > 0 and target[d] > 0]


def invariant_features(users: pd.DataFrame) -> pd.DataFrame:
    """Return features whose meaning does not depend on the shop.

    ``age``, ``income``, ``age_x_income``, ``log_visit`` (as in
    :func:`tabtransfer.participation_features`) and ``value_share``.
    """
    base = participation_features(users, pd.DataFrame(index=users.index))
    return base.assign(value_share=value_share(users))


def embedding_coverage(embedding: PurchaseEmbedding, counts: pd.DataFrame) -> float:
    r"""Return the mean share of a basket's TF-IDF vector that the embedding keeps.

    :class:`PurchaseEmbedding` scales each TF-IDF row to unit length and
    projects it on orthonormal SVD directions, so :math:`\lVert z_u \rVert^2` is
    the share of row :math:`u`'s squared length inside the embedding space
    (between 0 and 1). A target whose coverage is far below the source's buys
    what the embedding was never fitted to describe.
    """
    Z = embedding.transform(counts).to_numpy()
    return float(np.mean(np.sum(Z**2, axis=1)))


def split_labelled(target: pd.DataFrame, n_labelled: int, seed: int):
    """Split the target into a random labelled set and the evaluation set.

    Returns
    -------
    labelled, evaluation : pandas.DataFrame
    """
    if isinstance(n_labelled, bool) or not isinstance(n_labelled, Integral):
        raise ValueError(f"n_labelled must be an integer, got {n_labelled!r}.")
    if not 10 <= n_labelled <= len(target) - 10:
        raise ValueError(
            f"n_labelled must be between 10 and {len(target) - 10} (leave at least 10 "
            f"users to evaluate on), got {n_labelled}."
        )
    rng = np.random.default_rng(seed)
    is_labelled = np.zeros(len(target), dtype=bool)
    is_labelled[rng.choice(len(target), size=n_labelled, replace=False)] = True
    return target[is_labelled], target[~is_labelled]


def _standardised(embedding: PurchaseEmbedding, users: pd.DataFrame, columns, scaler):
    raw = embedding.transform(users[columns])
    return pd.DataFrame(scaler.transform(raw), index=raw.index, columns=raw.columns)


def _recalibrate(model, X_labelled, y_labelled, X_evaluation):
    """Platt scaling: refit intercept and slope of the model's log-odds on the labelled users."""
    calibrator = LogisticRegression(C=1e6).fit(
        model.decision_function(X_labelled).reshape(-1, 1), y_labelled
    )
    return calibrator.decision_function(model.decision_function(X_evaluation).reshape(-1, 1))


def _scores(y, logit) -> dict:
    return {"accuracy": float(accuracy_score(y, logit > 0)), "auc": float(roc_auc_score(y, logit))}


def _embedding_features(source, target, columns, n_components, reg, random_state):
    """Fit the embedding on pooled counts and return standardised source/target features."""
    pooled = pd.concat([source[columns], target[columns]])
    embedding = PurchaseEmbedding(n_components=n_components, random_state=random_state).fit(pooled)
    scaler = StandardScaler().fit(embedding.transform(source[columns]))
    Zs = _standardised(embedding, source, columns, scaler)
    Zt = _standardised(embedding, target, columns, scaler)
    if reg is not None:
        Zs = coral(Zs, Zt, reg=reg, center=True)
    return participation_features(source, Zs), participation_features(target, Zt)


def run_negative_transfer(
    seed: int = 0,
    *,
    n_source: int = 20_000,
    n_target: int = 1_000,
    n_labelled: int = 100,
    reg: float = 1.0,
    source_mix: str = "appliance",
    target_mix: str = "fresh_food",
) -> pd.DataFrame:
    """Score every strategy of the module docstring on one simulated pair of shops.

    Parameters
    ----------
    seed : int
        Seed of the simulation and of the labelled split.
    n_source, n_target : int
        Users per shop.
    n_labelled : int, default=100
        Labelled target users; the other target users form the evaluation set.
    reg : float, default=1.0
        CORAL ridge of ``pooled_coral``, in units of the source variance (the
        embedding columns are standardised by their source SDs first).
    source_mix, target_mix : str
        Department mixes, keys of :data:`tabtransfer.simulation.DEPARTMENT_MIXES`.

    Returns
    -------
    pandas.DataFrame
        One row per strategy, indexed by strategy name, with ``accuracy`` and
        ``auc`` on the evaluation users, plus a row ``majority`` (accuracy of
        predicting the evaluation set's majority class, AUC 0.5).
    """
    data = simulate_course_data(
        n_source=n_source, n_target=n_target, seed=seed, source_mix=source_mix, target_mix=target_mix
    )
    source, target = data.source, data.target
    # A user without purchases has no basket, hence no value share; the simulator
    # produces a few such users among appliance shoppers with rare visits.
    source = source[source[_purchase_columns()].sum(axis=1) > 0]
    labelled, evaluation = split_labelled(target, n_labelled, seed)
    shared = CATEGORIES.loc[
        CATEGORIES["department"].isin(shared_departments(source_mix, target_mix)), "column"
    ].tolist()

    rate = float(evaluation["participate"].mean())
    rows = {"majority": {"accuracy": max(rate, 1 - rate), "auc": 0.5}}
    with threadpool_limits(limits=1, user_api="blas"):
        rows["target_only"] = _target_only(labelled, evaluation)
        rows["naive"] = _naive(source, evaluation, seed)
        rows.update(_pooled_coral(source, target, labelled, evaluation, reg, seed))
        rows["shared_recal"] = _shared_recal(source, target, labelled, evaluation, shared, seed)
        rows["invariant_finetune"] = _scores(
            evaluation["participate"], _finetuned_logit(source, labelled, evaluation)
        )
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("strategy")


def _target_only(labelled, evaluation) -> dict:
    model = make_participation_model().fit(invariant_features(labelled), labelled["participate"])
    return _scores(evaluation["participate"], model.decision_function(invariant_features(evaluation)))


def _naive(source, evaluation, seed) -> dict:
    columns = _purchase_columns()
    embedding = PurchaseEmbedding(random_state=seed).fit(source[columns])
    model = make_participation_model().fit(
        participation_features(source, embedding.transform(source[columns])), source["participate"]
    )
    X_evaluation = participation_features(evaluation, embedding.transform(evaluation[columns]))
    return _scores(evaluation["participate"], model.decision_function(X_evaluation))


def _pooled_coral(source, target, labelled, evaluation, reg, seed) -> dict:
    Xs, Xt = _embedding_features(source, target, _purchase_columns(), 50, reg, seed)
    model = make_participation_model().fit(Xs, source["participate"])
    y = evaluation["participate"]
    X_labelled, X_evaluation = Xt.loc[labelled.index], Xt.loc[evaluation.index]
    return {
        "pooled_coral": _scores(y, model.decision_function(X_evaluation)),
        "pooled_coral_recal": _scores(
            y, _recalibrate(model, X_labelled, labelled["participate"], X_evaluation)
        ),
    }


def _shared_recal(source, target, labelled, evaluation, shared_columns, seed) -> dict:
    n_components = min(20, len(shared_columns) - 1)
    Xs, Xt = _embedding_features(source, target, shared_columns, n_components, None, seed)
    model = make_participation_model().fit(Xs, source["participate"])
    logit = _recalibrate(
        model, Xt.loc[labelled.index], labelled["participate"], Xt.loc[evaluation.index]
    )
    return _scores(evaluation["participate"], logit)


def _finetuned_logit(source, labelled, evaluation) -> np.ndarray:
    """Fit on the source's invariant features, fine-tune on the labelled target users."""
    scaler = StandardScaler().fit(invariant_features(source))
    source_model = LogisticRegression(max_iter=2000).fit(
        scaler.transform(invariant_features(source)), source["participate"]
    )
    tuned = FineTunedLogisticRegression(source_model, strength=1.0).fit(
        scaler.transform(invariant_features(labelled)), labelled["participate"]
    )
    return tuned.decision_function(scaler.transform(invariant_features(evaluation)))


def gap_report(
    pairs: Iterable[tuple[str, str]],
    *,
    seed: int = 0,
    n_source: int = 20_000,
    n_target: int = 1_000,
    n_source_rows: int = 2_000,
) -> pd.DataFrame:
    """Measure how far apart two shops' embeddings are, before transferring anything.

    For each (source mix, target mix) pair, fits the embedding on the source and
    reports the proxy A-distance and the MMD² between ``n_source_rows`` source
    rows and all target rows, and the embedding coverage of each shop.

    Returns
    -------
    pandas.DataFrame indexed by (``source_mix``, ``target_mix``) with
    ``proxy_a_distance`` (0 to 2), ``mmd2``, ``coverage_source`` and
    ``coverage_target`` (shares between 0 and 1).
    """
    rows = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for source_mix, target_mix in pairs:
            rows[(source_mix, target_mix)] = _gap_of_pair(
                source_mix, target_mix, seed, n_source, n_target, n_source_rows
            )
    report = pd.DataFrame.from_dict(rows, orient="index")
    report.index.names = ["source_mix", "target_mix"]
    return report


def _gap_of_pair(source_mix, target_mix, seed, n_source, n_target, n_source_rows) -> dict:
    columns = _purchase_columns()
    data = simulate_course_data(
        n_source=n_source, n_target=n_target, seed=seed, source_mix=source_mix, target_mix=target_mix
    )
    embedding = PurchaseEmbedding(random_state=seed).fit(data.source[columns])
    sample = data.source[columns].sample(n=min(n_source_rows, n_source), random_state=seed)
    Zs, Zt = embedding.transform(sample), embedding.transform(data.target[columns])
    return {
        "proxy_a_distance": proxy_a_distance(Zs, Zt, random_state=seed),
        "mmd2": mmd2(Zs, Zt, random_state=seed),
        "coverage_source": embedding_coverage(embedding, data.source[columns]),
        "coverage_target": embedding_coverage(embedding, data.target[columns]),
    }


def replicate_negative_transfer(seeds: Iterable[int] = range(5), **kwargs) -> pd.DataFrame:
    """Run :func:`run_negative_transfer` for several seeds.

    Returns
    -------
    pandas.DataFrame
        Long format: ``seed``, ``strategy``, ``accuracy``, ``auc``.
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed, e.g. range(5).")
    frames = [run_negative_transfer(seed, **kwargs).reset_index().assign(seed=seed) for seed in seeds]
    return pd.concat(frames, ignore_index=True)


def summarise_negative_transfer(results: pd.DataFrame) -> pd.DataFrame:
    """Average the strategies over seeds and measure how much of the loss each recovers.

    Returns
    -------
    pandas.DataFrame indexed by strategy, with these columns:

    - ``accuracy`` and ``auc``: means over seeds; ``accuracy_sd``: SD over seeds.
    - ``recovered``: the share of the accuracy gap between ``naive`` and
      ``target_only`` that the strategy closes. It is 0 for ``naive`` and 1 for
      ``target_only``, and above 1 beats the target-only model.
    - ``gap`` and ``gap_se``: mean and standard error over seeds of the paired
      accuracy difference to ``target_only`` in the same seed.
    """
    grouped = results.groupby("strategy", sort=False)
    summary = grouped[["accuracy", "auc"]].mean()
    summary["accuracy_sd"] = grouped["accuracy"].std()
    wide = results.pivot(index="seed", columns="strategy", values="accuracy")
    difference = wide.sub(wide["target_only"], axis=0)
    summary["gap"] = difference.mean().reindex(summary.index)
    summary["gap_se"] = (difference.std() / np.sqrt(len(wide))).reindex(summary.index)
    naive, target_only = summary.loc["naive", "accuracy"], summary.loc["target_only", "accuracy"]
    if np.isclose(target_only, naive):
        warnings.warn(
            "The naive transfer and the target-only model have the same accuracy, so "
            "the recovered share is undefined and set to NaN.",
            UserWarning,
            stacklevel=2,
        )
        summary["recovered"] = np.nan
    else:
        summary["recovered"] = (summary["accuracy"] - naive) / (target_only - naive)
    if "majority" in summary.index:
        # The majority class is a reference level, not a strategy.
        summary.loc["majority", "recovered"] = np.nan
    return summary


def plot_negative_transfer(summary: pd.DataFrame) -> Figure:
    """Draw the accuracy of each strategy, with the majority and target-only levels.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`summarise_negative_transfer`.

    Returns
    -------
    matplotlib.figure.Figure
        A bar is drawn in the accent colour (negative transfer) when its paired
        difference to the target-only model stays below 0 even after adding two
        standard errors. Error bars are one SD over seeds.
    """
    names = [name for name in STRATEGY_LABELS if name in summary.index and name != "target_only"]
    rows = np.arange(len(names))[::-1]
    target_only = summary.loc["target_only", "accuracy"]
    clearly_below = summary["gap"] + 2 * summary["gap_se"] < 0
    colors = [COLORS["accent"] if clearly_below[n] else BLUES[2] for n in names]
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(names) + 1.4))
    ax.barh(rows, summary.loc[names, "accuracy"], color=colors, height=0.6,
            xerr=summary.loc[names, "accuracy_sd"], error_kw={"ecolor": COLORS["neutral"], "capsize": 3})
    ax.axvline(target_only, color=COLORS["target"], linestyle="--", linewidth=1.5,
               label=f"仅目标域模型（{target_only:.1%}）")
    if "majority" in summary.index:
        majority = summary.loc["majority", "accuracy"]
        ax.axvline(majority, color=COLORS["neutral"], linestyle=":", linewidth=1.5,
                   label=f"多数类基线（{majority:.1%}）")
    ax.set_yticks(rows)
    ax.set_yticklabels([STRATEGY_LABELS[n] for n in names])
    ax.set_xlabel("生鲜超市评估用户上的准确率")
    ax.set_xlim(0.5, 1.0)
    ax.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    ax.legend(loc="upper right", frameon=False)
    fig.tight_layout()
    return fig
