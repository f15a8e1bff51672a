"""Distances between a source and a target sample in the same feature space.

Four measures of how far apart two domains are, from the cheapest to the most
general:

- :func:`mean_gap`: distance between the means (first moment).
- :func:`coral_loss`: distance between the covariances (second moment).
- :func:`mmd2`: kernel maximum mean discrepancy (all moments, RBF kernel).
- :func:`proxy_a_distance`: how well a classifier separates the domains.

All take ``Xs`` of shape (n_s, d) and ``Xt`` of shape (n_t, d), as numpy arrays
or DataFrames with the same columns, and return a float.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from tabtransfer._validation import check_pair
from tabtransfer.alignment import _mean_and_covariance
from tabtransfer.instance import make_domain_classifier

__all__ = ["coral_loss", "mean_gap", "mmd2", "proxy_a_distance"]


def mean_gap(Xs, Xt) -> float:
    """Return the Euclidean distance between the source and target means.

    .. math:: \\lVert \\bar{x}_s - \\bar{x}_t \\rVert_2

    Parameters
    ----------
    Xs : array-like or DataFrame, shape (n_s, d)
    Xt : array-like or DataFrame, shape (n_t, d)

    Returns
    -------
    float
        In feature units, so it changes with the scale of the columns.
    """
    Xs_array, Xt_array, _ = check_pair(Xs, Xt)
    return float(np.linalg.norm(Xs_array.mean(axis=0) - Xt_array.mean(axis=0)))


def coral_loss(Xs, Xt) -> float:
    """Return the CORAL loss between the source and target covariances.

    .. math:: \\ell_{\\text{CORAL}} = \\frac{1}{4 d^2}\\, \\lVert C_s - C_t \\rVert_F^2

    where :math:`C_s, C_t` are the sample covariances (divisor :math:`n - 1`)
    and :math:`\\lVert\\cdot\\rVert_F` is the Frobenius norm, as defined in
    B. Sun and K. Saenko, "Deep CORAL: Correlation Alignment for Deep Domain
    Adaptation", ECCV 2016 Workshops. For example :math:`C_s = 2I_2` and
    :math:`C_t = I_2` give :math:`2 / 16 = 0.125`.

    Parameters
    ----------
    Xs : array-like or DataFrame, shape (n_s, d)
    Xt : array-like or DataFrame, shape (n_t, d)

    Returns
    -------
    float
        In squared squared-feature units (variance squared).
    """
    Xs_array, Xt_array, _ = check_pair(Xs, Xt)
    _, C_s = _mean_and_covariance(Xs_array)
    _, C_t = _mean_and_covariance(Xt_array)
    n_features = Xs_array.shape[1]
    return float(np.sum((C_s - C_t) ** 2) / (4 * n_features**2))


def _subsample(X: np.ndarray, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    if X.shape[0] <= max_rows:
        return X
    return X[rng.choice(X.shape[0], size=max_rows, replace=False)]


def mmd2(Xs, Xt, *, bandwidth="median", max_rows: int = 2000, random_state=0) -> float:
    """Estimate the squared maximum mean discrepancy (MMD) with an RBF kernel.

    Returns the unbiased U-statistic :math:`\\mathrm{MMD}^2_u` of A. Gretton,
    K. Borgwardt, M. Rasch, B. Schölkopf and A. Smola, "A Kernel Two-Sample
    Test", JMLR 13 (2012), 723-773:

    .. math::

        \\mathrm{MMD}^2_u = \\frac{1}{m(m-1)} \\sum_{i \\ne j} k(x_i, x_j)
        + \\frac{1}{n(n-1)} \\sum_{i \\ne j} k(y_i, y_j)
        - \\frac{2}{mn} \\sum_{i, j} k(x_i, y_j),
        \\qquad k(x, y) = \\exp\\!\\left(-\\frac{\\lVert x - y \\rVert^2}{2\\sigma^2}\\right).

    The estimate is unbiased, so it can be slightly negative when the two
    distributions are equal. Its expectation is 0 exactly when they are equal.

    Parameters
    ----------
    Xs : array-like or DataFrame, shape (n_s, d)
    Xt : array-like or DataFrame, shape (n_t, d)
    bandwidth : "median" or float, default="median"
        Kernel width :math:`\\sigma` in feature units. ``"median"`` uses the
        median heuristic: :math:`\\sigma^2` is the median squared Euclidean
        distance between pairs of distinct rows of the pooled (subsampled)
        sample, or the median over pairs at positive distance if that is 0.
    max_rows : int, default=2000
        Each domain with more rows is subsampled without replacement to
        ``max_rows`` rows. The kernel matrices then take at most
        :math:`3 \\cdot 2000^2` floats (96 MB), whatever the input size.
    random_state : int, numpy Generator or None, default=0
        Seed of the subsampling.

    Returns
    -------
    float
        Unitless, between -1 and 2 for the RBF kernel.
    """
    if not isinstance(max_rows, Integral) or max_rows < 2:
        raise ValueError(f"max_rows must be an integer >= 2, got {max_rows!r}.")
    Xs_array, Xt_array, _ = check_pair(Xs, Xt)
    rng = np.random.default_rng(random_state)
    Xs_array = _subsample(Xs_array, max_rows, rng)
    Xt_array = _subsample(Xt_array, max_rows, rng)
    m, n = Xs_array.shape[0], Xt_array.shape[0]

    squared_ss = euclidean_distances(Xs_array, squared=True)
    squared_tt = euclidean_distances(Xt_array, squared=True)
    squared_st = euclidean_distances(Xs_array, Xt_array, squared=True)

    if isinstance(bandwidth, str) and bandwidth == "median":
        pooled = np.concatenate(
            [
                squared_ss[np.triu_indices(m, k=1)],
                squared_tt[np.triu_indices(n, k=1)],
                squared_st.ravel(),
            ]
        )
        positive = pooled[pooled > 0]
        if positive.size == 0:
            # Every row of both samples is the same point: the distributions are equal.
            return 0.0
        sigma_squared = float(np.median(pooled))
        if sigma_squared == 0:
            # More than half of the pairs are duplicates, so use distinct pairs only.
            sigma_squared = float(np.median(positive))
    elif isinstance(bandwidth, Real) and np.isfinite(bandwidth) and bandwidth > 0:
        sigma_squared = float(bandwidth) ** 2
    else:
        raise ValueError(
            f"bandwidth must be 'median' or a positive number, got {bandwidth!r}."
        )

    scale = -1.0 / (2.0 * sigma_squared)
    kernel_ss = np.exp(squared_ss * scale)
    kernel_tt = np.exp(squared_tt * scale)
    kernel_st = np.exp(squared_st * scale)
    # The diagonals of kernel_ss and kernel_tt are k(x, x) = 1 and are excluded.
    within_s = (kernel_ss.sum() - m) / (m * (m - 1))
    within_t = (kernel_tt.sum() - n) / (n * (n - 1))
    between = kernel_st.mean()
    return float(within_s + within_t - 2.0 * between)


def proxy_a_distance(
    Xs, Xt, *, classifier=None, n_splits: int = 5, random_state=0
) -> float:
    """Return the proxy A-distance from a cross-validated domain classifier.

    .. math:: \\hat d_A = 2\\,(1 - 2\\varepsilon)

    after S. Ben-David, J. Blitzer, K. Crammer and F. Pereira, "Analysis of
    Representations for Domain Adaptation", NIPS 19 (2007). Here
    :math:`\\varepsilon` is the out-of-fold balanced error rate (the mean of the
    error rates on source rows and on target rows) of a classifier that predicts
    the domain, over ``n_splits`` stratified folds with shuffling. The balanced
    error keeps unequal domain sizes from looking separable. An error above 0.5
    (a classifier worse than chance) is set to 0.5, so the result lies in
    [0, 2]: near 0 when the domains are indistinguishable, 2 when they are
    perfectly separable.

    Parameters
    ----------
    Xs : array-like or DataFrame, shape (n_s, d)
    Xt : array-like or DataFrame, shape (n_t, d)
    classifier : scikit-learn classifier, optional
        Unfitted domain classifier; it is cloned. Defaults to
        :func:`tabtransfer.make_domain_classifier` (standardisation followed by
        logistic regression).
    n_splits : int, default=5
        Number of folds of :class:`sklearn.model_selection.StratifiedKFold`.
        Each domain needs at least ``n_splits`` rows.
    random_state : int or None, default=0
        Seed of the fold shuffling.

    Returns
    -------
    float
        Unitless, in [0, 2].
    """
    Xs_array, Xt_array, _ = check_pair(Xs, Xt)
    if not isinstance(n_splits, Integral) or n_splits < 2:
        raise ValueError(f"n_splits must be an integer >= 2, got {n_splits!r}.")
    smaller = min(Xs_array.shape[0], Xt_array.shape[0])
    if smaller < n_splits:
        raise ValueError(
            f"n_splits={n_splits} folds need at least {n_splits} rows per domain, but "
            f"one domain has {smaller}; pass a smaller n_splits or more rows."
        )
    X = np.vstack([Xs_array, Xt_array])
    is_target = np.r_[
        np.zeros(Xs_array.shape[0], bool), np.ones(Xt_array.shape[0], bool)
    ]
    model = make_domain_classifier() if classifier is None else clone(classifier)
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    predicted = cross_val_predict(model, X, is_target, cv=folds)
    error = min(1.0 - balanced_accuracy_score(is_target, predicted), 0.5)
    return 2.0 * (1.0 - 2.0 * error)
