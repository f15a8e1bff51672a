"""Instance transfer: reweight or select source rows so they resemble the target.

A domain classifier estimates :math:`P(\\text{target} \\mid x)`. By Bayes' rule
the density ratio of the two domains is its odds times the inverse prior ratio,

.. math::

    \\frac{p_t(x)}{p_s(x)}
    = \\frac{P(\\text{target} \\mid x)}{P(\\text{source} \\mid x)} \\cdot \\frac{n_s}{n_t},

which is the importance weight of covariate-shift correction (H. Shimodaira,
"Improving predictive inference under covariate shift by weighting the
log-likelihood function", J. Statist. Plann. Inference 90 (2000), 227-244).
:math:`P(\\text{target} \\mid x)` is the same kind of object as a propensity
score: the probability of belonging to one of two groups given the covariates.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from tabtransfer._validation import check_binary_labels, check_matrix, check_pair

__all__ = [
    "ImportanceWeights",
    "domain_probability",
    "importance_weights",
    "make_domain_classifier",
    "nearest_source_rows",
]

# Probabilities are kept inside [_PROBABILITY_EPS, 1 - _PROBABILITY_EPS] so that
# the odds p / (1 - p) stay finite when a classifier outputs exactly 0 or 1.
_PROBABILITY_EPS = 1e-12


def make_domain_classifier() -> Pipeline:
    """Return the default domain classifier: standardisation, then logistic regression.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted ``StandardScaler()`` followed by ``LogisticRegression(max_iter=1000)``
        (L2 penalty with C=1). Standardising first makes the penalty treat all
        columns alike whatever their units.
    """
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def _fit_target_probability(X: np.ndarray, is_target: np.ndarray, classifier):
    """Fit a clone of ``classifier`` and return it with the in-sample P(target | x)."""
    model = make_domain_classifier() if classifier is None else clone(classifier)
    model.fit(X, is_target)
    target_column = list(model.classes_).index(True)
    probability = model.predict_proba(X)[:, target_column]
    return model, probability


def domain_probability(X, domain, *, classifier=None):
    """Estimate the probability that each row belongs to the target domain.

    Fits a domain classifier on all rows and returns its in-sample prediction
    :math:`\\hat P(\\text{target} \\mid x)`, the domain analogue of a propensity
    score.

    Parameters
    ----------
    X : array-like or DataFrame, shape (n_rows, d)
        Pooled rows of both domains.
    domain : array-like, shape (n_rows,)
        Domain of each row, with exactly two distinct values. True, 1, or the
        larger of two other values (e.g. ``"target"`` against ``"source"``)
        marks the target.
    classifier : scikit-learn classifier with ``predict_proba``, optional
        Unfitted; it is cloned. Defaults to :func:`make_domain_classifier`.

    Returns
    -------
    ndarray or Series of float, shape (n_rows,)
        Probabilities in [0, 1]. A DataFrame ``X`` gives a Series with its index,
        named ``"p_target"``.

    Raises
    ------
    ValueError
        If ``domain`` does not contain both domains, or ``X`` is invalid.
    """
    X_array, _ = check_matrix(X, "X")
    is_target = check_binary_labels(domain, "domain", n_rows=X_array.shape[0])
    _, probability = _fit_target_probability(X_array, is_target, classifier)
    if isinstance(X, pd.DataFrame):
        return pd.Series(probability, index=X.index, name="p_target")
    return probability


@dataclass(frozen=True)
class ImportanceWeights:
    """Importance weights of the source rows and the quantities behind them.

    Attributes
    ----------
    weights : ndarray or Series, shape (n_s,)
        Clipped weights normalised to mean 1 over the source rows (unitless).
        A Series with the source index when ``Xs`` was a DataFrame.
    p_target : ndarray or Series, shape (n_s,)
        :math:`\\hat P(\\text{target} \\mid x)` of each source row.
    density_ratio : ndarray or Series, shape (n_s,)
        Unclipped estimate of :math:`p_t(x) / p_s(x)`, the odds times
        :math:`n_s / n_t`. Its mean over the source rows is near 1 when the
        classifier is well calibrated.
    clip_value : float
        Cap applied to ``density_ratio`` before normalising (inf if none).
    n_clipped : int
        Number of source rows whose ratio was above the cap.
    ess : float
        Kish effective sample size :math:`(\\sum_i w_i)^2 / \\sum_i w_i^2`, in rows.
    classifier : fitted scikit-learn classifier
        The domain classifier.
    """

    weights: np.ndarray | pd.Series
    p_target: np.ndarray | pd.Series
    density_ratio: np.ndarray | pd.Series
    clip_value: float
    n_clipped: int
    ess: float
    classifier: object

    @property
    def ess_fraction(self) -> float:
        """Effective sample size as a fraction of the number of source rows."""
        return self.ess / len(self.weights)

    def to_frame(self) -> pd.DataFrame:
        """Return weights, P(target | x) and density ratio as one DataFrame."""
        index = self.weights.index if isinstance(self.weights, pd.Series) else None
        return pd.DataFrame(
            {
                "weight": np.asarray(self.weights),
                "p_target": np.asarray(self.p_target),
                "density_ratio": np.asarray(self.density_ratio),
            },
            index=index,
        )


def importance_weights(Xs, Xt, *, classifier=None, clip_quantile: float | None = 0.99):
    """Estimate importance weights of source rows from a domain classifier.

    A classifier is fitted on the pooled rows to predict the domain. For each
    source row,

    .. math::

        r(x) = \\frac{\\hat P(\\text{target} \\mid x)}{1 - \\hat P(\\text{target} \\mid x)}
        \\cdot \\frac{n_s}{n_t} \\approx \\frac{p_t(x)}{p_s(x)}, \\qquad
        w_i = \\frac{\\min(r(x_i), c)}{\\frac{1}{n_s} \\sum_j \\min(r(x_j), c)},

    where :math:`c` is the ``clip_quantile`` quantile of :math:`r` over the
    source rows. The factor :math:`n_s / n_t` corrects for the class prior of
    the classifier; it cancels in the normalised :math:`w` but not in
    ``density_ratio``. Probabilities are kept in :math:`[10^{-12}, 1 - 10^{-12}]`.
    The probabilities are in-sample, which is adequate for logistic regression;
    a flexible classifier can overfit and give extreme weights.

    Parameters
    ----------
    Xs : array-like or DataFrame, shape (n_s, d)
        Source rows, the rows to be weighted.
    Xt : array-like or DataFrame, shape (n_t, d)
        Target rows.
    classifier : scikit-learn classifier with ``predict_proba``, optional
        Unfitted domain classifier; it is cloned. Defaults to
        :func:`make_domain_classifier`.
    clip_quantile : float in (0, 1] or None, default=0.99
        Ratios above this quantile of the source ratios are set to it, which
        caps the influence of a few rows. None or 1 disables clipping.

    Returns
    -------
    ImportanceWeights
        ``weights`` (mean 1), ``p_target``, ``density_ratio``, ``ess`` (Kish
        effective sample size) and the fitted ``classifier``. Use
        ``result.to_frame()`` for a table.
    """
    if clip_quantile is not None and (
        not isinstance(clip_quantile, Real) or not 0 < clip_quantile <= 1
    ):
        raise ValueError(
            f"clip_quantile must be in (0, 1] or None, got {clip_quantile!r}; "
            "e.g. 0.99 caps the top 1% of weights."
        )
    Xs_array, Xt_array, _ = check_pair(Xs, Xt)
    n_s, n_t = Xs_array.shape[0], Xt_array.shape[0]
    X = np.vstack([Xs_array, Xt_array])
    is_target = np.r_[np.zeros(n_s, dtype=bool), np.ones(n_t, dtype=bool)]
    model, probability = _fit_target_probability(X, is_target, classifier)

    p_target = np.clip(probability[:n_s], _PROBABILITY_EPS, 1 - _PROBABILITY_EPS)
    density_ratio = p_target / (1 - p_target) * (n_s / n_t)
    if clip_quantile is None or clip_quantile == 1:
        clip_value = np.inf
    else:
        clip_value = float(np.quantile(density_ratio, clip_quantile))
    clipped = np.minimum(density_ratio, clip_value)
    weights = clipped / clipped.mean()
    ess = float(weights.sum() ** 2 / np.sum(weights**2))

    if isinstance(Xs, pd.DataFrame):
        weights = pd.Series(weights, index=Xs.index, name="weight")
        p_target = pd.Series(p_target, index=Xs.index, name="p_target")
        density_ratio = pd.Series(density_ratio, index=Xs.index, name="density_ratio")
    return ImportanceWeights(
        weights=weights,
        p_target=p_target,
        density_ratio=density_ratio,
        clip_value=clip_value,
        n_clipped=int(np.sum(np.asarray(density_ratio) > clip_value)),
        ess=ess,
        classifier=model,
    )


def nearest_source_rows(Xs, Xt, k: int, *, metric: str = "euclidean") -> pd.DataFrame:
    """Select the k source rows that lie closest to the target sample.

    Each source row is scored by its distance to its nearest target row, found
    with :class:`sklearn.neighbors.NearestNeighbors` fitted on ``Xt`` (no
    n_s x n_t distance matrix is held in memory). The k source rows with the
    smallest scores are returned, closest first, ties in row order. Distances are
    in feature units, so standardise columns with different units first.

    Parameters
    ----------
    Xs : array-like or DataFrame, shape (n_s, d)
        Source rows to select from.
    Xt : array-like or DataFrame, shape (n_t, d)
        Target rows.
    k : int
        Number of source rows to return, 1 <= k <= n_s.
    metric : str, default="euclidean"
        Any metric accepted by ``NearestNeighbors``.

    Returns
    -------
    DataFrame, k rows
        Indexed by the source index labels (positions for arrays), with columns
        ``source_row`` (position in ``Xs``), ``target_row`` (position of the
        nearest target row) and ``distance``. Select the rows with
        ``Xs.loc[result.index]`` or ``Xs[result["source_row"]]``.
    """
    Xs_array, Xt_array, _ = check_pair(Xs, Xt, min_rows=1)
    n_s = Xs_array.shape[0]
    if not isinstance(k, Integral) or not 1 <= k <= n_s:
        raise ValueError(f"k must be an integer between 1 and n_s={n_s}, got {k!r}.")
    neighbours = NearestNeighbors(n_neighbors=1, metric=metric).fit(Xt_array)
    distance, target_row = neighbours.kneighbors(Xs_array)
    order = np.argsort(distance[:, 0], kind="stable")[:k]
    index = (
        Xs.index[order] if isinstance(Xs, pd.DataFrame) else pd.RangeIndex(n_s)[order]
    )
    return pd.DataFrame(
        {
            "source_row": order,
            "target_row": target_row[order, 0],
            "distance": distance[order, 0],
        },
        index=index,
    )
