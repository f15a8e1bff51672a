"""Covariate balance and common support before and after matching.

Standardised mean difference (SMD) of covariate x, for the ATT:

    SMD = (mean_treated(x) - mean_control(x)) / s,

where the means after matching use the matching weights and the denominator s is
computed once, before matching, so the before/after change reflects the means
alone. ``denominator="treated"`` (the default) uses s = s_treated, the standard
deviation of the treated group, because the treated group is the target
population of the ATT (MatchIt's default for the ATT). ``denominator="pooled"``
uses s = sqrt((s_treated^2 + s_control^2) / 2) (Austin, 2009). An |SMD| below 0.1
is the usual threshold for adequate balance.

The variance ratio is Var_treated(x) / Var_control(x), near 1 under balance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["balance_from_arrays", "balance_table", "common_support", "weighted_mean_variance"]


def weighted_mean_variance(values: np.ndarray, weights: np.ndarray):
    """Return the weighted mean and variance of each column.

    The variance uses reliability weights,
    sum w (x - m)^2 / (sum w - sum w^2 / sum w), which is the usual unbiased
    sample variance (ddof=1) when every weight is 1.

    Parameters
    ----------
    values : numpy.ndarray, shape (n, p)
    weights : numpy.ndarray, shape (n,)
        Non-negative weights with at least one positive entry. With a single
        positive weight the variance is 0.

    Returns
    -------
    mean, variance : numpy.ndarray, shape (p,)
    """
    # Element-wise products and column sums, not a BLAS product, so the result
    # does not depend on how BLAS splits the sum over threads.
    total = weights.sum()
    column_weights = weights[:, None]
    mean = (values * column_weights).sum(axis=0) / total
    squared = ((values - mean) ** 2 * column_weights).sum(axis=0)
    effective = total - np.sum(weights**2) / total
    variance = squared / effective if effective > 0 else np.zeros(values.shape[1])
    return mean, variance


def _variance_ratio(variance_treated, variance_control):
    """Var_t / Var_c, with 1 where both are 0 and inf where only Var_c is 0."""
    ratio = np.full(variance_treated.shape, np.inf)
    both_zero = (variance_treated == 0) & (variance_control == 0)
    positive = variance_control > 0
    ratio[positive] = variance_treated[positive] / variance_control[positive]
    ratio[both_zero] = 1.0
    return ratio


def balance_table(
    covariates: pd.DataFrame,
    treated,
    weights,
    denominator: str = "treated",
) -> pd.DataFrame:
    """Compare covariate means and variances before and after matching.

    Parameters
    ----------
    covariates : pandas.DataFrame, shape (n, p)
        Numeric covariates of all units, treated and control.
    treated : array-like of bool, shape (n,)
        Treatment indicator.
    weights : array-like of float, shape (n,)
        Matching weights: 1 for matched treated units, 0 for unmatched ones, and
        K_j (the number of treated units that control j represents) for controls.
    denominator : {"treated", "pooled"}, default="treated"
        Standard deviation in the SMD denominator, computed before matching.

    Returns
    -------
    pandas.DataFrame, one row per covariate, with columns
        ``mean_treated_before``, ``mean_control_before``, ``smd_before``,
        ``variance_ratio_before``, ``mean_treated_after``, ``mean_control_after``,
        ``smd_after``, ``variance_ratio_after``.

    Warns
    -----
    UserWarning
        When the treated standard deviation of a covariate is 0, so its SMD uses
        the pooled standard deviation instead.
    """
    return balance_from_arrays(
        covariates.to_numpy(dtype=np.float64),
        covariates.columns,
        treated,
        weights,
        denominator=denominator,
    )


def balance_from_arrays(values, names, treated, weights, denominator="treated"):
    """Compute :func:`balance_table` from a float array of shape (n, p) and p names."""
    if denominator not in ("treated", "pooled"):
        raise ValueError(f"denominator must be 'treated' or 'pooled', got {denominator!r}.")
    treated = np.asarray(treated, dtype=bool)
    weights = np.asarray(weights, dtype=np.float64)
    names = pd.Index(names)

    x_t, x_c = values[treated], values[~treated]
    mean_t0, var_t0 = x_t.mean(axis=0), x_t.var(axis=0, ddof=1)
    mean_c0, var_c0 = x_c.mean(axis=0), x_c.var(axis=0, ddof=1)
    # Rows with weight 0 do not change weighted moments, and after matching most
    # controls have weight 0, so only the used rows are passed on.
    used_t = weights[treated] > 0
    used_c = weights[~treated] > 0
    mean_t1, var_t1 = weighted_mean_variance(x_t[used_t], weights[treated][used_t])
    mean_c1, var_c1 = weighted_mean_variance(x_c[used_c], weights[~treated][used_c])

    pooled = np.sqrt((var_t0 + var_c0) / 2.0)
    if denominator == "treated":
        scale = np.sqrt(var_t0)
        zero = scale == 0
        if zero.any():
            warnings.warn(
                f"Covariates {list(names[zero])} are constant among the treated units, so their "
                "SMD uses the pooled standard deviation instead of the treated one.",
                UserWarning,
                stacklevel=2,
            )
            scale = np.where(zero, pooled, scale)
    else:
        scale = pooled

    return pd.DataFrame(
        {
            "mean_treated_before": mean_t0,
            "mean_control_before": mean_c0,
            "smd_before": (mean_t0 - mean_c0) / scale,
            "variance_ratio_before": _variance_ratio(var_t0, var_c0),
            "mean_treated_after": mean_t1,
            "mean_control_after": mean_c1,
            "smd_after": (mean_t1 - mean_c1) / scale,
            "variance_ratio_after": _variance_ratio(var_t1, var_c1),
        },
        index=pd.Index(names, name="covariate"),
    )


def common_support(logit_propensity, treated) -> pd.DataFrame:
    """Summarise the overlap of the two groups on the logit of the propensity score.

    Parameters
    ----------
    logit_propensity : array-like, shape (n,)
    treated : array-like of bool, shape (n,)

    Returns
    -------
    pandas.DataFrame, index ``["treated", "control"]``, columns
        ``n`` (units), ``min`` and ``max`` (range of the logit), and
        ``n_outside_other`` (units of this group whose logit lies outside the
        range of the other group, i.e. off the common support).
    """
    logit = np.asarray(logit_propensity, dtype=np.float64)
    treated = np.asarray(treated, dtype=bool)
    rows = {}
    for name, mine, other in (
        ("treated", logit[treated], logit[~treated]),
        ("control", logit[~treated], logit[treated]),
    ):
        outside = (mine < other.min()) | (mine > other.max())
        rows[name] = {
            "n": mine.size,
            "min": mine.min(),
            "max": mine.max(),
            "n_outside_other": int(np.count_nonzero(outside)),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
