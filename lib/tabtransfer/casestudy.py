r"""Case study of chapter 5: what is the supermarket's stored-value promotion worth?

The new supermarket has few users and estimates the effect of its stored-value
promotion (``treatment``) on next-month spend (``spend``, yuan) by propensity score
matching (:func:`tabtransfer.psm.estimate_att`). In the simulator the treatment
depends on age, visit frequency and the latent price sensitivity :math:`\psi`, which
also lowers spend, so matching on age and visit frequency alone leaves :math:`\psi`
as a confounder. The e-commerce source reveals :math:`\psi` through baskets. This
module compares propensity models that differ only in how much of that knowledge
they receive:

==================  ==========================================================
pipeline            covariates of the propensity model
==================  ==========================================================
``local``           age and log visit frequency
``raw_embedding``   local + the 50 standardised embedding columns
``score``           local + the transferred score (below), no alignment
``score_coral_<r>`` local + the transferred score after CORAL with ``reg=r``
``value_share``     local + the share of value lines in the basket (no source)
``oracle``          local + the true price sensitivity (unavailable in practice)
==================  ==========================================================

The transferred score is the log-odds of promotion participation that a logistic
regression, fitted on the 100,000 source users' standardised embeddings, assigns
to a target user's embedding. Participation rises with :math:`\psi` (coefficient
2.0 in the simulator), so the score works as a price-sensitivity proxy.

CORAL direction
---------------
CORAL (Sun, Feng and Saenko, AAAI 2016) maps the source onto the target and
retrains the classifier. For a linear score the retraining is not needed: the
CORAL map :math:`x \mapsto (x - \mu_s) M + \mu_t` is affine and invertible, and its
inverse is the CORAL map from the target to the source with the same ``reg``,
because :math:`(C_s^{-1/2} C_t^{1/2})^{-1} = C_t^{-1/2} C_s^{1/2}`. A logistic
regression refitted on the aligned source therefore scores a target row as the
source model scores the target row mapped back into the source space, up to the
small L2 penalty of the fit. This module uses the cheap direction (one CORAL fit
on the target sample, no refit on 100,000 rows) and the tests check the
equivalence.

Units of ``reg``
----------------
Embeddings are standardised by the source column SDs before anything else, so
the source variance of every column is 1 and CORAL's ``reg`` is in units of the
source variance: ``reg=0`` aligns exactly, ``reg=1`` is strong damping, and large
``reg`` approaches the identity map, which leaves the propensity model unchanged.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.special import logit
from scipy.stats import rankdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from tabtransfer.alignment import CORAL
from tabtransfer.embedding import PurchaseEmbedding
from tabtransfer.plotting import BLUES, COLORS
from tabtransfer.psm import UnmatchedTreatedWarning, balance_table, estimate_att
from tabtransfer.simulation import CATEGORIES, simulate_course_data

__all__ = [
    "DEFAULT_REGS",
    "LOCAL_COVARIATES",
    "PIPELINE_LABELS",
    "SourceKnowledge",
    "coral_score",
    "evaluate_pipeline",
    "figure_4",
    "fit_source_knowledge",
    "hidden_confounder_smd",
    "linear_distortion",
    "pipeline_covariates",
    "pipeline_label",
    "plot_case_study",
    "prepare_target",
    "rank_auc",
    "replicate_case_study",
    "standardised_embedding",
    "summarise_replications",
    "value_share",
]

#: Covariates every pipeline uses: age in years and log visits per month.
LOCAL_COVARIATES = ("age", "log_visit")

#: CORAL ridges of the replication study, in units of the source variance.
DEFAULT_REGS = (0.0, 0.1, 1.0)

#: Chinese display names of the pipelines without a CORAL ridge.
PIPELINE_LABELS = {
    "local": "仅本地特征",
    "raw_embedding": "本地 + 原始 50 维嵌入",
    "score": "本地 + 迁移得分（未对齐）",
    "value_share": "本地 + 特价品占比（手工）",
    "oracle": "本地 + 真实价格敏感度（先知）",
}


@dataclass(frozen=True)
class SourceKnowledge:
    """Everything learned once on the source users and reused on every target sample.

    Attributes
    ----------
    embedding : PurchaseEmbedding
        TF-IDF + truncated SVD embedding fitted on the source purchase counts.
    scaler : sklearn.preprocessing.StandardScaler
        Standardises each embedding column by its source mean and SD.
    score_model : sklearn.linear_model.LogisticRegression
        Participation (0/1) regressed on the standardised source embedding; its
        ``decision_function`` is the transferred score, in log-odds.
    reference : pandas.DataFrame, shape (n_reference, n_components)
        Standardised embeddings of a random subset of source users, the source
        sample from which CORAL estimates the source mean and covariance.
    """

    embedding: PurchaseEmbedding
    scaler: StandardScaler
    score_model: LogisticRegression
    reference: pd.DataFrame

    @property
    def embedding_columns(self) -> list[str]:
        """Names ``z01``, ``z02``, ... of the embedding columns."""
        return list(self.embedding.get_feature_names_out())


def _check_users(users, required: Sequence[str], name: str) -> None:
    if not isinstance(users, pd.DataFrame):
        raise ValueError(
            f"{name} must be a pandas DataFrame from tabtransfer.simulate_course_data, "
            f"got {type(users).__name__}."
        )
    missing = [column for column in required if column not in users.columns]
    if missing:
        raise ValueError(
            f"{name} is missing the columns {missing[:5]}; pass the frame returned by "
            "tabtransfer.simulate_course_data (data.source or data.target)."
        )


def _purchase_columns() -> list[str]:
    return CATEGORIES["column"].tolist()


def _value_columns() -> list[str]:
    return CATEGORIES.loc[CATEGORIES["is_value"], "column"].tolist()


def value_share(users: pd.DataFrame) -> pd.Series:
    """Return each user's share of purchases in value lines, a number in [0, 1].

    Parameters
    ----------
    users : pandas.DataFrame
        Rows with the 120 purchase-count columns of :data:`tabtransfer.CATEGORIES`.

    Returns
    -------
    pandas.Series, named ``"value_share"``, indexed like ``users``
        Value-line purchases divided by all purchases. A user without purchases
        has no share; they get the mean share of the other users, with a warning.

    Raises
    ------
    ValueError
        If the count columns are missing or every user has zero purchases.
    """
    _check_users(users, _purchase_columns(), "users")
    total = users[_purchase_columns()].sum(axis=1)
    share = users[_value_columns()].sum(axis=1) / total.where(total > 0)
    empty = share.isna()
    if empty.all():
        raise ValueError("Every user has zero purchases, so no value share is defined.")
    if empty.any():
        warnings.warn(
            f"{int(empty.sum())} user(s) have no purchases; their value share is set "
            "to the mean share of the other users.",
            UserWarning,
            stacklevel=2,
        )
        share = share.fillna(share.mean())
    return share.rename("value_share")


def fit_source_knowledge(
    source: pd.DataFrame,
    *,
    n_components: int = 50,
    n_reference: int = 10_000,
    random_state: int = 0,
) -> SourceKnowledge:
    """Fit the embedding, the standardisation and the participation score on the source.

    Parameters
    ----------
    source : pandas.DataFrame
        Source users (``data.source``) with purchase counts and ``participate``.
    n_components : int, default=50
        Embedding dimension.
    n_reference : int, default=10_000
        Source users kept as CORAL's source sample (all users if fewer). The
        50 x 50 covariance from 10,000 rows is far more precise than the target's
        from 1,000 rows, and each CORAL fit stays cheap.
    random_state : int, default=0
        Seed of the embedding's SVD and of the reference subset.

    Returns
    -------
    SourceKnowledge
    """
    _check_users(source, [*_purchase_columns(), "participate"], "source")
    if isinstance(n_reference, bool) or not isinstance(n_reference, Integral) or n_reference < 2:
        raise ValueError(f"n_reference must be an integer of at least 2, got {n_reference!r}.")
    counts = source[_purchase_columns()]
    with threadpool_limits(limits=1, user_api="blas"):
        embedding = PurchaseEmbedding(n_components=n_components, random_state=random_state).fit(counts)
        raw = embedding.transform(counts)
        scaler = StandardScaler().fit(raw)
        Zs = pd.DataFrame(scaler.transform(raw), index=raw.index, columns=raw.columns)
        # Fitted on an array, so the model scores arrays and frames without warnings.
        score_model = LogisticRegression(max_iter=2000).fit(Zs.to_numpy(), source["participate"])
    reference = Zs.sample(n=min(n_reference, len(Zs)), random_state=random_state)
    return SourceKnowledge(embedding, scaler, score_model, reference)


def standardised_embedding(knowledge: SourceKnowledge, users: pd.DataFrame) -> pd.DataFrame:
    """Embed users and standardise each column by the source mean and SD."""
    raw = knowledge.embedding.transform(users[_purchase_columns()])
    return pd.DataFrame(knowledge.scaler.transform(raw), index=raw.index, columns=raw.columns)


def linear_distortion(n_components: int = 50, *, spread: float = 5.0, seed: int = 0) -> np.ndarray:
    r"""Return a random symmetric positive-definite matrix :math:`A = Q\,\mathrm{diag}(s)\,Q^\top`.

    Used by the stylised world of chapter 5, in which the target embedding is the
    true embedding times :math:`A`: a shift that really is a linear map.
    :math:`Q` is a random orthogonal matrix and each stretch :math:`s_j` is
    log-uniform on ``[1/spread, spread]``.

    Parameters
    ----------
    n_components : int, default=50
    spread : float, default=5.0
        Largest stretch factor, above 1.
    seed : int, default=0

    Returns
    -------
    numpy.ndarray, shape (n_components, n_components)
    """
    if isinstance(spread, bool) or not isinstance(spread, Real) or not spread > 1:
        raise ValueError(f"spread must be a number above 1, got {spread!r}.")
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n_components, n_components)))
    stretch = np.exp(rng.uniform(-np.log(spread), np.log(spread), n_components))
    return (Q * stretch) @ Q.T


def prepare_target(
    users: pd.DataFrame,
    knowledge: SourceKnowledge,
    *,
    distortion: np.ndarray | None = None,
) -> pd.DataFrame:
    """Add the columns every pipeline reads to a target frame.

    Parameters
    ----------
    users : pandas.DataFrame
        Target users (``data.target``) with ``treatment``, ``spend``, ``propensity``,
        ``price_sensitivity`` and ``true_effect``: the simulator's truth, which
        the evaluation needs.
    knowledge : SourceKnowledge
    distortion : numpy.ndarray of shape (d, d), optional
        Matrix that multiplies the standardised embedding from the right (the
        stylised world of :func:`linear_distortion`).

    Returns
    -------
    pandas.DataFrame
        ``users`` plus ``log_visit`` (natural log of visits per month), the
        standardised embedding columns ``z01`` ... and ``score`` (the transferred
        score of the embedding, in log-odds).
    """
    required = [
        *_purchase_columns(), "age", "visit_freq", "treatment", "spend", "propensity",
        "price_sensitivity", "true_effect",
    ]
    _check_users(users, required, "users")
    Zt = standardised_embedding(knowledge, users)
    if distortion is not None:
        distortion = np.asarray(distortion, dtype=float)
        if distortion.shape != (Zt.shape[1], Zt.shape[1]):
            raise ValueError(
                f"distortion must have shape ({Zt.shape[1]}, {Zt.shape[1]}), got {distortion.shape}."
            )
        Zt = pd.DataFrame(Zt.to_numpy() @ distortion, index=Zt.index, columns=Zt.columns)
    frame = users.drop(columns=_purchase_columns()).assign(
        log_visit=np.log(users["visit_freq"]),
        value_share=value_share(users),
    )
    frame = pd.concat([frame, Zt], axis=1)
    frame["score"] = knowledge.score_model.decision_function(Zt.to_numpy())
    return frame


def coral_score(frame: pd.DataFrame, knowledge: SourceKnowledge, reg: float) -> pd.Series:
    """Score target rows after mapping their embedding into the source space with CORAL.

    Fits :class:`tabtransfer.CORAL` from the target embedding (rows of ``frame``)
    to the source reference sample with ridge ``reg`` (source-variance units) and
    applies the source score model to the mapped rows. For a linear score this
    equals aligning the source to the target and refitting the score model (see
    the module docstring).

    Returns
    -------
    pandas.Series of float, log-odds, indexed like ``frame``
    """
    Zt = frame[knowledge.embedding_columns]
    mapped = CORAL(reg=reg).fit(Zt, knowledge.reference).transform(Zt)
    return pd.Series(knowledge.score_model.decision_function(np.asarray(mapped)), index=frame.index)


def _coral_name(reg: float) -> str:
    return f"score_coral_{reg:g}"


def pipeline_covariates(knowledge: SourceKnowledge, regs: Iterable[float] = DEFAULT_REGS) -> dict:
    """Return the propensity-model covariates of every pipeline, by pipeline name.

    Returns
    -------
    dict of str to list of str
        The CORAL pipelines read a column ``score_coral_<reg>`` that
        :func:`evaluate_pipeline` adds before matching.
    """
    local = list(LOCAL_COVARIATES)
    pipelines = {
        "local": local,
        "raw_embedding": local + knowledge.embedding_columns,
        "score": local + ["score"],
    }
    for reg in regs:
        pipelines[_coral_name(reg)] = local + [_coral_name(reg)]
    pipelines["value_share"] = local + ["value_share"]
    pipelines["oracle"] = local + ["price_sensitivity"]
    return pipelines


def pipeline_label(name: str) -> str:
    """Return the Chinese display name of a pipeline."""
    if name.startswith("score_coral_"):
        return f"本地 + 迁移得分（CORAL，reg={name.removeprefix('score_coral_')}）"
    return PIPELINE_LABELS.get(name, name)


def _psm_with_metrics(frame: pd.DataFrame, covariates: list[str]):
    """Run PSM and return the result and whether the propensity model converged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The number of treated units dropped by the caliper is reported instead.
        warnings.simplefilter("ignore", UnmatchedTreatedWarning)
        result = estimate_att(frame, "treatment", "spend", covariates)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    for warning in caught:
        if not issubclass(warning.category, ConvergenceWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return result, converged


def rank_auc(labels, scores) -> float:
    """Return the area under the ROC curve from the Mann-Whitney rank sum.

    Equals :func:`sklearn.metrics.roc_auc_score` for binary labels (ties count
    one half) at a fraction of its input-checking cost, which matters in a loop
    of hundreds of estimates.
    """
    labels = np.asarray(labels, dtype=bool)
    n_positive = int(labels.sum())
    n_negative = labels.size - n_positive
    if n_positive == 0 or n_negative == 0:
        raise ValueError("AUC needs both classes among the labels.")
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[labels].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


def hidden_confounder_smd(result, frame: pd.DataFrame) -> float:
    """Return the SMD of the true price sensitivity after matching (treated SD units)."""
    table = balance_table(frame[["price_sensitivity"]], result.treated, result.weights)
    return float(table["smd_after"].iloc[0])


def evaluate_pipeline(
    frame: pd.DataFrame,
    covariates: list[str],
    *,
    knowledge: SourceKnowledge | None = None,
) -> dict:
    """Estimate the ATT with one pipeline and score the estimate against the truth.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`prepare_target`.
    covariates : list of str
        Covariates of the propensity model, from :func:`pipeline_covariates`.
        A ``score_coral_<reg>`` column is computed here with :func:`coral_score`,
        so its cost counts in the pipeline's time.
    knowledge : SourceKnowledge, optional
        Needed only for the CORAL pipelines.

    Returns
    -------
    dict
        ``att`` and ``true_att`` (yuan; the true ATT is the mean true effect of
        all treated users), ``bias`` (yuan), ``logit_corr`` (Pearson correlation
        of the estimated and the true propensity logit), ``propensity_rmse``
        (root mean squared error of the estimated propensity, a probability),
        ``auc`` (in-sample AUC of the estimated propensity for the treatment),
        ``smd_psi_after`` (SMD of the hidden price sensitivity after matching),
        ``max_abs_smd_after`` (largest |SMD| among the model's covariates after
        matching), ``n_treated`` (treated users in the sample), ``n_unmatched``
        (treated users dropped by the caliper),
        ``converged`` and ``seconds`` (wall time of the score and the matching).
    """
    started = time.perf_counter()
    missing = [c for c in covariates if c.startswith("score_coral_") and c not in frame.columns]
    if missing:
        if knowledge is None:
            raise ValueError(f"Pipeline columns {missing} need knowledge=SourceKnowledge(...).")
        frame = frame.assign(
            **{c: coral_score(frame, knowledge, float(c.removeprefix("score_coral_"))) for c in missing}
        )
    result, converged = _psm_with_metrics(frame, covariates)
    seconds = time.perf_counter() - started

    true_logit = logit(frame["propensity"].to_numpy())
    treated = frame["treatment"].to_numpy() == 1
    true_att = float(frame.loc[treated, "true_effect"].mean())
    return {
        "att": result.att,
        "true_att": true_att,
        "bias": result.att - true_att,
        "logit_corr": float(np.corrcoef(result.logit_propensity, true_logit)[0, 1]),
        "propensity_rmse": float(np.sqrt(np.mean((result.propensity - frame["propensity"]) ** 2))),
        "auc": rank_auc(treated, result.propensity.to_numpy()),
        "smd_psi_after": hidden_confounder_smd(result, frame),
        "max_abs_smd_after": float(result.balance["smd_after"].abs().max()),
        "n_treated": result.n_treated,
        "n_unmatched": result.n_unmatched,
        "converged": converged,
        "seconds": seconds,
    }


def _check_seeds(seeds) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed, e.g. range(50).")
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, Integral) or s < 0]
    if bad:
        raise ValueError(f"seeds must be non-negative integers, got {bad[:5]}.")
    return [int(s) for s in seeds]


def replicate_case_study(
    knowledge: SourceKnowledge,
    *,
    n_target: int = 1_000,
    seeds: Iterable[int] = range(50),
    regs: Iterable[float] = DEFAULT_REGS,
    pipelines: Sequence[str] | None = None,
    simulation_kwargs: dict | None = None,
    distortion: np.ndarray | None = None,
) -> pd.DataFrame:
    """Run every pipeline on fresh target samples drawn with different seeds.

    The source knowledge stays fixed. Each seed draws a new target sample
    (users, purchases, treatment and spend noise) with
    ``simulate_course_data(n_source=2, n_target=n_target, seed=seed)``. The
    target does not depend on ``n_source``, so each draw costs milliseconds.

    Parameters
    ----------
    knowledge : SourceKnowledge
    n_target : int, default=1000
        Target users per replication.
    seeds : iterable of int, default=range(50)
    regs : iterable of float, default=DEFAULT_REGS
        CORAL ridges, in source-variance units.
    pipelines : sequence of str, optional
        Subset of the names of :func:`pipeline_covariates`; all by default.
    simulation_kwargs : dict, optional
        Extra arguments of :func:`tabtransfer.simulate_course_data`, e.g.
        ``{"target_mix": "ecommerce", "value_boost": 1.0}``.
    distortion : numpy.ndarray, optional
        Passed to :func:`prepare_target`.

    Notes
    -----
    BLAS runs on one thread here and in :func:`fit_source_knowledge`. The
    matrices are small, and on a busy machine threaded BLAS calls wait for
    descheduled threads. On a 2-core AMD EPYC virtual machine at a load average
    of 8, one :func:`tabtransfer.negative.run_negative_transfer` call took 10 s
    with two BLAS threads and 1.5 s with one.

    Returns
    -------
    pandas.DataFrame
        One row per seed and pipeline, with ``pipeline``, ``n_target``, ``seed``
        and the keys of :func:`evaluate_pipeline`; ``error`` contains the message
        when matching was impossible (the metrics are then NaN).
    """
    seeds = _check_seeds(seeds)
    covariates = pipeline_covariates(knowledge, regs)
    names = list(covariates) if pipelines is None else list(pipelines)
    unknown = [name for name in names if name not in covariates]
    if unknown:
        raise ValueError(f"Unknown pipelines {unknown}; choose from {list(covariates)}.")
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for seed in seeds:
            users = simulate_course_data(
                n_source=2, n_target=n_target, seed=seed, **(simulation_kwargs or {})
            ).target
            frame = prepare_target(users, knowledge, distortion=distortion)
            for name in names:
                rows.append(_evaluate_row(frame, name, covariates[name], knowledge, seed))
    return pd.DataFrame(rows)


def _evaluate_row(frame, name, covariates, knowledge, seed) -> dict:
    row = {"pipeline": name, "n_target": len(frame), "seed": seed, "error": ""}
    try:
        row.update(evaluate_pipeline(frame, covariates, knowledge=knowledge))
    except ValueError as error:
        # Separation or an empty caliper in a small sample: counted, not hidden.
        row["error"] = str(error)
    return row


def summarise_replications(results: pd.DataFrame) -> pd.DataFrame:
    """Summarise the replications by sample size and pipeline.

    Returns
    -------
    pandas.DataFrame indexed by (``n_target``, ``pipeline``), in pipeline order,
    with ``logit_corr``, ``propensity_rmse``, ``auc`` (means), ``bias`` (mean,
    yuan), ``bias_sd`` (SD across replications, yuan), ``bias_se`` (standard
    error of the mean bias), ``rmse`` (root mean squared error of the ATT,
    yuan), ``abs_smd_psi`` (mean |SMD| of the hidden price sensitivity after
    matching), ``max_abs_smd`` (mean largest |SMD| among the model's own
    covariates after matching), ``n_unmatched`` (mean), ``milliseconds`` (median per estimate),
    ``n_replications`` (successful) and ``n_failed``.
    """
    ok = results[results["error"] == ""]
    grouped = ok.groupby(["n_target", "pipeline"], sort=False)
    summary = pd.DataFrame(
        {
            "logit_corr": grouped["logit_corr"].mean(),
            "propensity_rmse": grouped["propensity_rmse"].mean(),
            "auc": grouped["auc"].mean(),
            "bias": grouped["bias"].mean(),
            "bias_sd": grouped["bias"].std(),
            "bias_se": grouped["bias"].std() / np.sqrt(grouped["bias"].count()),
            "rmse": grouped["bias"].apply(lambda bias: float(np.sqrt(np.mean(bias**2)))),
            "abs_smd_psi": grouped["smd_psi_after"].apply(lambda smd: float(smd.abs().mean())),
            "max_abs_smd": grouped["max_abs_smd_after"].mean(),
            "n_unmatched": grouped["n_unmatched"].mean(),
            "milliseconds": 1000 * grouped["seconds"].median(),
            "n_replications": grouped["bias"].count(),
        }
    )
    failed = (results["error"] != "").groupby([results["n_target"], results["pipeline"]], sort=False).sum()
    summary["n_failed"] = failed.reindex(summary.index).fillna(0).astype(int)
    return summary


def _wrap_pipeline_label(label: str) -> str:
    """Break a pipeline label before its bracketed part, giving two short lines."""
    head, bracket, tail = label.partition("（")
    return f"{head}\n{bracket}{tail}" if bracket else label


def plot_case_study(summary: pd.DataFrame) -> Figure:
    """Draw Figure 4: propensity quality and ATT bias of each pipeline, per sample size.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`summarise_replications`.

    Returns
    -------
    matplotlib.figure.Figure
        Left: mean correlation of the estimated with the true propensity logit.
        Right: mean ATT bias in yuan, error bars one SD across replications.
        The figure is 8 inches wide, so that its labels stay legible when a
        book page scales it to the text width.
    """
    sizes = list(dict.fromkeys(summary.index.get_level_values("n_target")))
    names = list(dict.fromkeys(summary.index.get_level_values("pipeline")))
    colors = [BLUES[1], BLUES[4], BLUES[6]]
    rows = np.arange(len(names))[::-1]
    height = 0.8 / len(sizes)
    fig, (ax_quality, ax_bias) = plt.subplots(
        1, 2, figsize=(8, 0.6 * len(names) + 1.4), sharey=True
    )
    for k, size in enumerate(sizes):
        part = summary.xs(size, level="n_target").reindex(names)
        offset = rows + (len(sizes) - 1) / 2 * height - k * height
        label = f"目标域 {size:,} 人"
        ax_quality.barh(offset, part["logit_corr"], height=height, color=colors[k], label=label)
        ax_bias.barh(offset, part["bias"], height=height, color=colors[k], label=label,
                     xerr=part["bias_sd"], error_kw={"ecolor": COLORS["neutral"], "capsize": 2})
    ax_quality.set_yticks(rows)
    ax_quality.set_yticklabels(
        [_wrap_pipeline_label(pipeline_label(name)) for name in names],
        multialignment="right",
    )
    ax_quality.set_xlabel("与真实 logit 的相关系数")
    ax_quality.set_xlim(0, 1)
    ax_bias.axvline(0, color=COLORS["neutral"], linewidth=1)
    ax_bias.set_xlabel("ATT 偏差（元），±1 标准差")
    handles, labels = ax_bias.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(sizes), frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def figure_4(seed: int = 0, n_replications: int = 50) -> Figure:
    """Recompute chapter 5's replication study and draw Figure 4.

    Fits the source knowledge on ``simulate_course_data(seed=seed).source`` and
    replicates every pipeline at 1,000 and 300 target users over seeds
    ``0 .. n_replications - 1``, as the chapter does.
    """
    knowledge = fit_source_knowledge(simulate_course_data(seed=seed).source, random_state=seed)
    results = pd.concat(
        [
            replicate_case_study(knowledge, n_target=n, seeds=range(n_replications))
            for n in (1_000, 300)
        ],
        ignore_index=True,
    )
    return plot_case_study(summarise_replications(results))
