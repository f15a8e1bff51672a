r"""The three transfer paradigms and three baselines, run side by side on one split.

Every method trains the course's participation model
(:func:`tabtransfer.make_participation_model`: standardisation, then logistic
regression) on some version of the data and is scored on held-out target users.
The methods differ only in which space operation they perform first:

==================  =========  ========================================================
method key          paradigm   what it does before training
==================  =========  ========================================================
``source_only``     baseline   nothing: train on the source, apply to the target
``target_only``     baseline   train on the labelled target users only
``pooled``          baseline   train on source rows and labelled target rows together
``recentre``        feature    move the source embedding so its mean is the target's
``coral``           feature    CORAL: match the target's mean and covariance
``importance``      instance   weight source rows by :math:`\hat p_t(x) / \hat p_s(x)`
``nearest``         instance   keep the source rows closest to a target user
``intercept``       model      keep the source coefficients, refit the intercept
``fine_tune``       model      refit all coefficients with a prior at the source model
==================  =========  ========================================================

Feature transfer moves only the embedding columns: age, income and visit frequency
mean the same thing in both shops, so their shift is real and the model keeps it.
Feature and instance transfer use the features of every target user but no target
label. Target-only, pooled and model transfer use the labels of the labelled target
users. No method sees the labels of the held-out users.

:func:`run_replications` repeats the comparison on fresh target samples and returns
one row per replication, labelled-set size and method (see :data:`RESULT_COLUMNS`).
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from numbers import Integral

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from tabtransfer.alignment import CORAL
from tabtransfer.embedding import PurchaseEmbedding
from tabtransfer.finetune import FineTunedLogisticRegression
from tabtransfer.instance import importance_weights, nearest_source_rows
from tabtransfer.participation import make_participation_model, participation_features
from tabtransfer.simulation import simulate_course_data

__all__ = [
    "DEFAULT_STRENGTHS",
    "METHODS",
    "PARADIGM_LABELS",
    "RESULT_COLUMNS",
    "FittedTransfer",
    "Method",
    "TransferSplit",
    "choose_strength",
    "coral_family_methods",
    "cross_validated_log_loss",
    "fit_coral",
    "fit_fine_tuned",
    "fit_importance_weighted",
    "fit_nearest_source",
    "fit_pooled",
    "fit_recentred",
    "fit_source_only",
    "fit_target_only",
    "make_split",
    "paired_difference",
    "recentre",
    "run_replications",
    "score_method",
    "summarise",
    "user_features",
]

#: Grid of prior strengths :math:`\lambda` searched by :func:`choose_strength`.
#: ``inf`` keeps the source coefficients and refits only the intercept.
DEFAULT_STRENGTHS = (10.0, 30.0, 100.0, 300.0, np.inf)

# Gradient tolerance of the fits inside cross-validation. Looser than the final
# fit's default (1e-10) because only the ranking of strengths by log loss matters.
_CV_TOL = 1e-5

# Names that PurchaseEmbedding gives its output columns: z01, z02, ...
_EMBEDDING_COLUMN = re.compile(r"z\d+")

#: Chinese names of the paradigms, for tables and figures.
PARADIGM_LABELS = {
    "baseline": "基线",
    "feature": "特征迁移",
    "instance": "样本迁移",
    "model": "模型迁移",
}

#: Columns of the frame returned by :func:`run_replications`, in order.
RESULT_COLUMNS = [
    "replication",
    "target_seed",
    "n_labelled",
    "method",
    "label",
    "paradigm",
    "accuracy",
    "auc",
    "predicted_rate",
    "observed_rate",
    "n_effective",
]


@dataclass(frozen=True)
class TransferSplit:
    """Source training rows and one target sample split into labelled and held-out parts.

    Attributes
    ----------
    Xs : DataFrame, shape (n_s, p)
        Participation features of the source users (see :func:`user_features`).
    ys : ndarray of int, shape (n_s,)
        Source labels, 1 for users who joined the promotion.
    Xt : DataFrame, shape (n_t, p)
        Features of every target user, labelled and held out. Feature and instance
        transfer use these features but no target label.
    yt : ndarray of int, shape (n_t,)
        Target labels. Only ``yt[labelled]`` may be used for training.
    labelled : ndarray of bool, shape (n_t,)
        Which target users have a label available for training.
    embedding_columns : tuple of str
        Columns of ``Xs`` and ``Xt`` that come from the purchase embedding.
    source_model : Pipeline
        The participation model fitted on ``Xs, ys``. Shared by the methods that
        start from it, so it is fitted once per source.
    """

    Xs: pd.DataFrame
    ys: np.ndarray
    Xt: pd.DataFrame
    yt: np.ndarray
    labelled: np.ndarray
    embedding_columns: tuple[str, ...]
    source_model: Pipeline

    @property
    def Xt_labelled(self) -> pd.DataFrame:
        """Features of the labelled target users."""
        return self.Xt.loc[self.labelled]

    @property
    def yt_labelled(self) -> np.ndarray:
        """Labels of the labelled target users."""
        return self.yt[self.labelled]

    @property
    def Xt_held_out(self) -> pd.DataFrame:
        """Features of the held-out target users, on which every method is scored."""
        return self.Xt.loc[~self.labelled]

    @property
    def yt_held_out(self) -> np.ndarray:
        """Labels of the held-out target users, used for scoring only."""
        return self.yt[~self.labelled]


@dataclass(frozen=True)
class FittedTransfer:
    """A trained classifier and the effective number of rows it was trained on.

    Attributes
    ----------
    model : classifier with ``predict_proba``
        Takes target features in the layout of :attr:`TransferSplit.Xt`.
    n_effective : float
        Rows behind the fit: the row count, or the Kish effective sample size
        :math:`(\\sum_i w_i)^2 / \\sum_i w_i^2` for weighted rows.
    """

    model: object
    n_effective: float


@dataclass(frozen=True)
class Method:
    """A named transfer method.

    Attributes
    ----------
    label : str
        Chinese name shown in tables and figures.
    paradigm : str
        ``"baseline"``, ``"feature"``, ``"instance"`` or ``"model"``.
    fit : callable
        ``fit(split) -> FittedTransfer``.
    """

    label: str
    paradigm: str
    fit: Callable[[TransferSplit], FittedTransfer]


def user_features(
    users: pd.DataFrame, embedding: PurchaseEmbedding, n_dims: int | None = None
) -> pd.DataFrame:
    """Build participation features with the first ``n_dims`` embedding dimensions.

    Truncated SVD orders its directions by explained variance, so the first
    ``n_dims`` columns of a fitted embedding form an ``n_dims``-dimensional
    embedding without a second fit.

    Parameters
    ----------
    users : DataFrame
        Rows of :func:`tabtransfer.simulate_course_data` output.
    embedding : PurchaseEmbedding
        Fitted on source purchase counts.
    n_dims : int, optional
        Number of embedding dimensions to keep, 1 to ``embedding.n_components``.
        Defaults to all of them.

    Returns
    -------
    DataFrame, shape (n_users, 4 + n_dims)
        Output of :func:`tabtransfer.participation_features`.
    """
    if n_dims is None:
        n_dims = embedding.n_components
    if (
        isinstance(n_dims, bool)
        or not isinstance(n_dims, Integral)
        or not 1 <= n_dims <= embedding.n_components
    ):
        raise ValueError(
            f"n_dims must be an integer from 1 to {embedding.n_components} (the embedding's "
            f"n_components), got {n_dims!r}."
        )
    Z = embedding.transform(users[embedding.columns_]).iloc[:, :n_dims]
    return participation_features(users, Z)


def _labels(y, name: str) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1 or not np.isin(labels, (0, 1)).all():
        raise ValueError(
            f"{name} must be a 1-D array of 0/1 labels, got values {np.unique(labels)[:5]}."
        )
    return labels.astype(np.int64)


def make_split(
    Xs: pd.DataFrame,
    ys,
    Xt: pd.DataFrame,
    yt,
    n_labelled: int,
    *,
    random_state=None,
    source_model: Pipeline | None = None,
) -> TransferSplit:
    """Mark a random ``n_labelled`` target users as labelled and hold out the rest.

    Parameters
    ----------
    Xs, Xt : DataFrame
        Source and target features with the same columns (:func:`user_features`).
    ys, yt : array-like of 0/1
        Labels, one per row.
    n_labelled : int
        Number of labelled target users, at least 10 and at most ``n_t - 50``, so
        that both parts can be scored.
    random_state : int or numpy Generator, optional
        Seed of the random choice. The users are taken from a random permutation,
        so with the same seed a larger ``n_labelled`` contains the smaller set.
    source_model : Pipeline, optional
        Participation model already fitted on ``Xs, ys``. Fitted here if omitted.

    Returns
    -------
    TransferSplit

    Raises
    ------
    ValueError
        If the columns differ, the sizes are out of range, or the labelled users
        do not contain both classes.
    """
    if not Xs.columns.equals(Xt.columns):
        raise ValueError(
            "Xs and Xt must have the same columns in the same order. Build both with user_features."
        )
    ys, yt = _labels(ys, "ys"), _labels(yt, "yt")
    if len(ys) != len(Xs) or len(yt) != len(Xt):
        raise ValueError(
            f"Each row needs one label: got {len(Xs)} source rows with {len(ys)} labels and "
            f"{len(Xt)} target rows with {len(yt)} labels."
        )
    n_target = len(Xt)
    if (
        isinstance(n_labelled, bool)
        or not isinstance(n_labelled, Integral)
        or not 10 <= n_labelled <= n_target - 50
    ):
        raise ValueError(
            f"n_labelled must be an integer from 10 to {n_target - 50} (keeping at least 50 of the "
            f"{n_target} target users held out), got {n_labelled!r}."
        )
    order = np.random.default_rng(random_state).permutation(n_target)
    labelled = np.zeros(n_target, dtype=bool)
    labelled[order[:n_labelled]] = True
    if np.unique(yt[labelled]).size < 2:
        raise ValueError(
            f"The {n_labelled} labelled target users all have the same label. Label more users "
            "or use another random_state."
        )
    if source_model is None:
        source_model = make_participation_model().fit(Xs, ys)
    embedding_columns = tuple(
        column for column in Xs.columns if _EMBEDDING_COLUMN.fullmatch(str(column))
    )
    if not embedding_columns:
        raise ValueError(
            "Xs has no embedding columns (z01, z02, ...). Build the features with user_features."
        )
    return TransferSplit(Xs, ys, Xt, yt, labelled, embedding_columns, source_model)


def recentre(Zs: pd.DataFrame, Zt: pd.DataFrame) -> pd.DataFrame:
    r"""Shift the source so that its column means equal the target's.

    .. math:: z \mapsto z - \bar z_s + \bar z_t

    This is CORAL (:class:`tabtransfer.CORAL`, ``center=True``) in the limit
    ``reg`` :math:`\to \infty`, where the covariance map tends to the identity and
    only the means are matched.

    Parameters
    ----------
    Zs : DataFrame, shape (n_s, d)
        Source rows.
    Zt : DataFrame, shape (n_t, d)
        Target rows with the same columns.

    Returns
    -------
    DataFrame, shape (n_s, d)
        The shifted source, with the index and columns of ``Zs``.
    """
    if not isinstance(Zs, pd.DataFrame) or not isinstance(Zt, pd.DataFrame):
        raise ValueError(
            "recentre expects two DataFrames. Wrap arrays with pandas.DataFrame first."
        )
    if not Zs.columns.equals(Zt.columns):
        raise ValueError("Zs and Zt must have the same columns in the same order.")
    return Zs - Zs.mean() + Zt.mean()


def _replace_embedding(split: TransferSplit, Z_aligned: pd.DataFrame) -> pd.DataFrame:
    """Return the source features with the embedding columns replaced."""
    Xs = split.Xs.copy()
    Xs[list(split.embedding_columns)] = Z_aligned
    return Xs


def fit_source_only(split: TransferSplit) -> FittedTransfer:
    """Return the participation model trained on the source alone (no transfer)."""
    return FittedTransfer(split.source_model, float(len(split.Xs)))


def fit_target_only(split: TransferSplit) -> FittedTransfer:
    """Train the participation model on the labelled target users only."""
    model = make_participation_model().fit(split.Xt_labelled, split.yt_labelled)
    return FittedTransfer(model, float(split.labelled.sum()))


def fit_pooled(split: TransferSplit) -> FittedTransfer:
    """Train the participation model on source and labelled target rows, weighted alike."""
    X = pd.concat([split.Xs, split.Xt_labelled])
    y = np.concatenate([split.ys, split.yt_labelled])
    return FittedTransfer(make_participation_model().fit(X, y), float(len(y)))


def fit_recentred(split: TransferSplit) -> FittedTransfer:
    """Re-centre the source embedding on the target mean, then train (:func:`recentre`)."""
    columns = list(split.embedding_columns)
    Xs = _replace_embedding(split, recentre(split.Xs[columns], split.Xt[columns]))
    return FittedTransfer(make_participation_model().fit(Xs, split.ys), float(len(Xs)))


def fit_coral(split: TransferSplit, reg: float = 0.0) -> FittedTransfer:
    """Align the source embedding to the target with CORAL, then train.

    Parameters
    ----------
    split : TransferSplit
    reg : float, default=0.0
        Ridge :math:`\\lambda` of :class:`tabtransfer.CORAL` in units of the
        source variance of each embedding column (``standardize="source"``).
        0 matches the full covariance; a large value matches the mean only.
    """
    columns = list(split.embedding_columns)
    aligner = CORAL(reg=reg, standardize="source")
    Xs = _replace_embedding(
        split, aligner.fit_transform(split.Xs[columns], split.Xt[columns])
    )
    return FittedTransfer(make_participation_model().fit(Xs, split.ys), float(len(Xs)))


def fit_importance_weighted(
    split: TransferSplit, clip_quantile: float = 0.99
) -> FittedTransfer:
    """Weight source rows by the density ratio :math:`p_t(x)/p_s(x)`, then train.

    The weights come from :func:`tabtransfer.importance_weights`, a logistic domain
    classifier on every participation feature, clipped at ``clip_quantile``.
    ``n_effective`` is their Kish effective sample size.
    """
    weights = importance_weights(split.Xs, split.Xt, clip_quantile=clip_quantile)
    model = make_participation_model()
    model.fit(
        split.Xs,
        split.ys,
        logisticregression__sample_weight=np.asarray(weights.weights),
    )
    return FittedTransfer(model, weights.ess)


def fit_nearest_source(split: TransferSplit, k: int = 1000) -> FittedTransfer:
    """Keep the ``k`` source rows closest to some target user, then train on them.

    Distances are Euclidean on features standardised by the source column SDs
    (the source model's scaler), computed by :func:`tabtransfer.nearest_source_rows`.
    """
    scaler = split.source_model[0]
    nearest = nearest_source_rows(
        scaler.transform(split.Xs), scaler.transform(split.Xt), k
    )
    rows = nearest["source_row"].to_numpy()
    if np.unique(split.ys[rows]).size < 2:
        raise ValueError(
            f"The {k} nearest source rows all have the same label. Choose a larger k."
        )
    model = make_participation_model().fit(split.Xs.iloc[rows], split.ys[rows])
    return FittedTransfer(model, float(k))


def cross_validated_log_loss(
    split: TransferSplit,
    strengths: Sequence[float] = DEFAULT_STRENGTHS,
    *,
    n_splits: int = 5,
    random_state=0,
) -> pd.Series:
    r"""Estimate the out-of-fold log loss of fine-tuning for each prior strength.

    Uses only the labelled target users: stratified ``n_splits``-fold
    cross-validation, in which every fold fine-tunes the source model on the other
    folds and is scored by the mean log loss :math:`-\frac1n\sum_i [y_i \log \hat p_i
    + (1-y_i)\log(1-\hat p_i)]` (nats per user) on its own users.

    Parameters
    ----------
    split : TransferSplit
    strengths : sequence of float
        Prior strengths :math:`\lambda \ge 0` (``numpy.inf`` allowed), see
        :class:`tabtransfer.FineTunedLogisticRegression`.
    n_splits : int, default=5
        Number of folds, at most the size of the smaller class among labelled users.
    random_state : int, default=0
        Seed of the fold shuffling.

    Returns
    -------
    Series
        Mean out-of-fold log loss, indexed by strength.
    """
    scaler, source = split.source_model[0], split.source_model[-1]
    X = scaler.transform(split.Xt_labelled)
    y = split.yt_labelled
    smaller_class = int(min(y.sum(), len(y) - y.sum()))
    if (
        isinstance(n_splits, bool)
        or not isinstance(n_splits, Integral)
        or not 2 <= n_splits <= smaller_class
    ):
        raise ValueError(
            f"n_splits must be an integer from 2 to {smaller_class} (the smaller class among the "
            f"labelled target users), got {n_splits!r}."
        )
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    losses = np.zeros(len(strengths))
    for train, test in folds.split(X, y):
        for i, strength in enumerate(strengths):
            model = FineTunedLogisticRegression(source, strength=strength, tol=_CV_TOL)
            model.fit(X[train], y[train])
            # The log loss from the log-odds z is log(1 + e^z) - y z, which stays
            # exact where the probability rounds to 0 or 1.
            scores = model.decision_function(X[test])
            losses[i] += np.sum(np.logaddexp(0.0, scores) - y[test] * scores)
    return pd.Series(
        losses / len(y), index=pd.Index(strengths, name="strength"), name="log_loss"
    )


def choose_strength(
    split: TransferSplit, strengths: Sequence[float] = DEFAULT_STRENGTHS, **cv_kwargs
) -> float:
    """Return the prior strength with the lowest cross-validated log loss.

    Ties go to the larger strength, the one closer to the source model.
    ``cv_kwargs`` go to :func:`cross_validated_log_loss`.
    """
    losses = cross_validated_log_loss(split, strengths, **cv_kwargs)
    best = losses[losses <= losses.min() + 1e-12]
    return float(best.index.max())


def fit_fine_tuned(
    split: TransferSplit, strength: float | None = None, **cv_kwargs
) -> FittedTransfer:
    """Fine-tune the source model on the labelled target users.

    The features are standardised with the source model's scaler, and
    :class:`tabtransfer.FineTunedLogisticRegression` is fitted with a Gaussian
    prior centred on the source coefficients. The intercept is free.

    Parameters
    ----------
    split : TransferSplit
    strength : float, optional
        Prior strength :math:`\\lambda`. ``numpy.inf`` keeps the source
        coefficients and refits only the intercept. If omitted, chosen by
        :func:`choose_strength` on the labelled target users only.
    **cv_kwargs
        Passed to :func:`choose_strength` when ``strength`` is omitted.
    """
    if strength is None:
        strength = choose_strength(split, **cv_kwargs)
    scaler, source = split.source_model[0], split.source_model[-1]
    tuned = FineTunedLogisticRegression(source, strength=strength)
    tuned.fit(scaler.transform(split.Xt_labelled), split.yt_labelled)
    # The scaler stays the source's, so the fine-tuned coefficients are comparable
    # with the source coefficients entry by entry. A copy keeps a later refit of the
    # returned pipeline from changing the source model.
    pipeline = Pipeline(
        [("standardscaler", copy.deepcopy(scaler)), ("finetuned", tuned)]
    )
    return FittedTransfer(pipeline, float(split.labelled.sum()))


#: The methods compared in chapter 4, in display order.
METHODS: dict[str, Method] = {
    "source_only": Method("源域直接套用", "baseline", fit_source_only),
    "target_only": Method("仅目标域", "baseline", fit_target_only),
    "pooled": Method("源域与目标域合并", "baseline", fit_pooled),
    "recentre": Method("重新居中（只对齐均值）", "feature", fit_recentred),
    "coral": Method("CORAL（对齐完整协方差）", "feature", fit_coral),
    "importance": Method("重要性加权", "instance", fit_importance_weighted),
    "nearest": Method("最近源域样本（1,000 个）", "instance", fit_nearest_source),
    "intercept": Method(
        "只重估截距", "model", partial(fit_fine_tuned, strength=np.inf)
    ),
    "fine_tune": Method("微调（交叉验证选强度）", "model", fit_fine_tuned),
}


def coral_family_methods(regs: Sequence[float]) -> dict[str, Method]:
    """Return CORAL methods for several ridge values, keyed ``"coral_reg=<reg>"``.

    ``reg`` is in units of the source variance (see :func:`fit_coral`).
    """
    return {
        f"coral_reg={reg:g}": Method(
            f"CORAL，λ={reg:g}", "feature", partial(fit_coral, reg=float(reg))
        )
        for reg in regs
    }


def score_method(method: Method, split: TransferSplit) -> dict:
    """Fit one method on a split and score it on the held-out target users.

    Returns
    -------
    dict
        ``accuracy`` (threshold 0.5), ``auc``, ``predicted_rate`` (share predicted
        to join), ``observed_rate`` (share who joined) and ``n_effective``.
    """
    fitted = method.fit(split)
    probability = fitted.model.predict_proba(split.Xt_held_out)[:, 1]
    y = split.yt_held_out
    return {
        "accuracy": float(accuracy_score(y, probability > 0.5)),
        "auc": float(roc_auc_score(y, probability)),
        "predicted_rate": float(np.mean(probability > 0.5)),
        "observed_rate": float(np.mean(y)),
        "n_effective": float(fitted.n_effective),
    }


def _score_methods(
    methods: Mapping[str, Method], split: TransferSplit, keys: dict
) -> list[dict]:
    """Score every method on one split; each row starts with ``keys``."""
    rows = []
    for name, method in methods.items():
        row = {
            **keys,
            "method": name,
            "label": method.label,
            "paradigm": method.paradigm,
        }
        row.update(score_method(method, split))
        rows.append(row)
    return rows


def _resolve_methods(methods) -> dict[str, Method]:
    if methods is None:
        return dict(METHODS)
    if isinstance(methods, Mapping):
        return dict(methods)
    unknown = [name for name in methods if name not in METHODS]
    if unknown:
        raise ValueError(
            f"Unknown methods {unknown}. Choose from {list(METHODS)} or pass a dict of Method objects."
        )
    return {name: METHODS[name] for name in methods}


def run_replications(
    source_users: pd.DataFrame,
    embedding: PurchaseEmbedding,
    *,
    n_replications: int = 20,
    first_seed: int = 1,
    n_labelled: int | Sequence[int] = 100,
    n_target: int = 1000,
    methods=None,
    n_dims: int | None = None,
    simulation_kwargs: Mapping | None = None,
) -> pd.DataFrame:
    """Compare transfer methods on fresh target samples.

    The source users and the embedding stay fixed. Replication ``r`` draws a new
    target sample with ``simulate_course_data(n_source=2, n_target=n_target,
    seed=first_seed + r).target`` (the target does not depend on ``n_source``),
    labels a random subset of ``n_labelled`` users with the same seed, and scores
    every method on the remaining users. BLAS and OpenMP run single-threaded
    inside, because the matrices are small and threads only add waiting on a
    shared machine.

    Parameters
    ----------
    source_users : DataFrame
        Source users to train on (a subsample keeps the run short).
    embedding : PurchaseEmbedding
        Fitted embedding, applied unchanged to both domains.
    n_replications : int, default=20
        Number of target samples.
    first_seed : int, default=1
        Seed of the first target sample.
    n_labelled : int or sequence of int, default=100
        Size(s) of the labelled target set. With several sizes the labelled sets
        of one replication are nested.
    n_target : int, default=1000
        Users per target sample.
    methods : sequence of str or dict of Method, optional
        Keys of :data:`METHODS`, or a dict name -> :class:`Method`. Default: all of
        :data:`METHODS`.
    n_dims : int, optional
        Number of embedding dimensions used (see :func:`user_features`).
    simulation_kwargs : mapping, optional
        Extra arguments of :func:`tabtransfer.simulate_course_data`, e.g.
        ``{"value_boost": 1.0}``.

    Returns
    -------
    DataFrame
        One row per replication, labelled-set size and method, with the columns
        of :data:`RESULT_COLUMNS`.
    """
    if (
        isinstance(n_replications, bool)
        or not isinstance(n_replications, Integral)
        or n_replications < 1
    ):
        raise ValueError(
            f"n_replications must be a positive integer, got {n_replications!r}."
        )
    sizes = [n_labelled] if isinstance(n_labelled, Integral) else list(n_labelled)
    chosen = _resolve_methods(methods)
    kwargs = dict(simulation_kwargs or {})
    rows = []
    with threadpool_limits(limits=1):
        Xs = user_features(source_users, embedding, n_dims)
        ys = source_users["participate"].to_numpy()
        source_model = make_participation_model().fit(Xs, ys)
        for replication in range(n_replications):
            seed = first_seed + replication
            target = simulate_course_data(
                n_source=2, n_target=n_target, seed=seed, **kwargs
            ).target
            Xt, yt = (
                user_features(target, embedding, n_dims),
                target["participate"].to_numpy(),
            )
            for size in sizes:
                split = make_split(
                    Xs, ys, Xt, yt, size, random_state=seed, source_model=source_model
                )
                keys = {
                    "replication": replication,
                    "target_seed": seed,
                    "n_labelled": size,
                }
                rows.extend(_score_methods(chosen, split, keys))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _t_interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """Return the mean and the t interval of the mean, (mean, low, high)."""
    n = values.size
    mean = float(values.mean())
    if n < 2:
        warnings.warn(
            "A confidence interval needs at least 2 replications, got 1, so its bounds are NaN. "
            "Run more replications.",
            UserWarning,
            stacklevel=3,
        )
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return mean, mean - float(half), mean + float(half)


def summarise(
    results: pd.DataFrame,
    metrics: Sequence[str] = ("accuracy", "auc"),
    *,
    by: Sequence[str] = ("n_labelled", "method"),
    level: float = 0.95,
) -> pd.DataFrame:
    r"""Average each metric over replications with a t confidence interval.

    The interval is :math:`\bar m \pm t_{R-1,\,(1+\text{level})/2}\, s / \sqrt{R}` over
    the :math:`R` replications. It describes the variation of the target sample
    and of the labelled subset only; the source sample and the embedding are fixed.

    Parameters
    ----------
    results : DataFrame
        Output of :func:`run_replications`.
    metrics : sequence of str
        Result columns to summarise.
    by : sequence of str
        Grouping columns.
    level : float, default=0.95
        Confidence level.

    Returns
    -------
    DataFrame
        One row per group (in order of first appearance) with ``label``,
        ``paradigm``, ``n_replications`` and ``<metric>``, ``<metric>_low``,
        ``<metric>_high`` for each metric.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}.")
    missing = [
        column
        for column in [*metrics, *by, "label", "paradigm"]
        if column not in results.columns
    ]
    if missing:
        raise ValueError(
            f"results has no columns {missing}. Pass the output of run_replications."
        )
    rows = []
    for key, group in results.groupby(list(by), sort=False):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row["label"] = group["label"].iloc[0]
        row["paradigm"] = group["paradigm"].iloc[0]
        row["n_replications"] = len(group)
        for metric in metrics:
            mean, low, high = _t_interval(group[metric].to_numpy(dtype=float), level)
            row.update({metric: mean, f"{metric}_low": low, f"{metric}_high": high})
        rows.append(row)
    return pd.DataFrame(rows)


def paired_difference(
    results: pd.DataFrame,
    method: str,
    baseline: str,
    metric: str = "accuracy",
    *,
    level: float = 0.95,
) -> pd.Series:
    """Average the per-replication difference ``method - baseline`` with a t interval.

    Both methods are scored on the same held-out users in every replication, so
    the paired difference has a much narrower interval than the two separate means.
    ``results`` must contain a single labelled-set size.

    Returns
    -------
    Series
        ``mean``, ``low``, ``high`` and ``n_replications``.
    """
    sizes = results["n_labelled"].unique()
    if sizes.size != 1:
        raise ValueError(
            f"results contain several labelled-set sizes {sorted(sizes)}. Select one first, e.g. "
            "results[results['n_labelled'] == 100]."
        )
    wide = results.pivot_table(
        index=["replication", "n_labelled"], columns="method", values=metric
    )
    for name in (method, baseline):
        if name not in wide.columns:
            raise ValueError(
                f"Method {name!r} is not in results. Available methods: {list(wide.columns)}."
            )
    difference = (wide[method] - wide[baseline]).dropna().to_numpy()
    mean, low, high = _t_interval(difference, level)
    return pd.Series(
        {"mean": mean, "low": low, "high": high, "n_replications": difference.size}
    )
