"""Average treatment effect on the treated (ATT) by propensity score matching.

Estimand and estimator
----------------------
With potential outcomes Y(1), Y(0) and treatment T, the ATT is
tau = E[Y(1) - Y(0) | T = 1]. Matching on the propensity score e(x) identifies
it when (Y(0) independent of T given X) and e(x) < 1 (Rosenbaum and Rubin, 1983).
The estimate is

    tau_hat = (1 / N_m) * sum over matched treated i of (Y_i - mean of Y_j over J(i)),

where J(i) is the match set of i (see :mod:`tabtransfer.psm.matching`) and N_m is
the number of matched treated units. With a caliper, unmatched treated units are
dropped, so tau_hat estimates the ATT over the matched treated units only.

Standard error
--------------
The variance is the Abadie and Imbens (2006) estimator for the ATT of matching
with replacement (conditional-variance part plus heterogeneity part):

    V = (1 / N_m^2) * [ sum_i (Y_i - Yhat_i(0) - tau_hat)^2
                        + sum_j (K_j^2 - sum_{i: j in J(i)} 1/|J(i)|^2) sigma2_j ],

with K_j the matching weight of control j and sigma2_j its conditional variance,
estimated by matching each control to its nearest other controls on the same
score. The second term counts the reuse of controls, which a paired t-test misses.
Without replacement no control is reused, the second term is zero, and V is the
variance of the matched differences divided by N_m.
It treats the propensity score as known: the extra variation from estimating
the logistic coefficients is ignored. Abadie and Imbens (2016) show that for the
ATT this correction can raise or lower the variance, so the reported SE can be
too small or too large. The SE also ignores the bias of matching when J(i) is
not close to i, and that the caliper depends on the data.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from tabtransfer._validation import check_matrix
from tabtransfer.psm.balance import balance_from_arrays, common_support
from tabtransfer.psm.matching import (
    MatchResult,
    caliper_width,
    match_nearest,
    neighbour_variance,
)
from tabtransfer.psm.propensity import LogisticPropensity

__all__ = ["PSMResult", "UnmatchedTreatedWarning", "estimate_att"]

SE_METHOD = (
    "Abadie-Imbens (2006) variance for nearest-neighbour matching, "
    "propensity score treated as known"
)


class UnmatchedTreatedWarning(UserWarning):
    """Treated units without a control inside the caliper were dropped."""


@dataclass(eq=False)
class PSMResult:
    """Result of :func:`estimate_att`.

    Attributes
    ----------
    att : float
        ATT estimate over the matched treated units, in outcome units.
    se : float
        Standard error of ``att`` by ``se_method``.
    se_method : str
        Name of the variance estimator and what it ignores.
    n_treated, n_matched, n_unmatched : int
        Treated units in total, with at least one match, and dropped by the caliper.
    n_controls, n_controls_used : int
        Controls in total and with a positive matching weight.
    n_tied : int
        Matched treated units whose last match was decided among several controls
        at exactly the same distance (shared with replacement, broken by order
        without).
    n_neighbors : int
        k of 1:k matching.
    replace : bool
        Matching with replacement.
    caliper_width : float
        Caliper in logit units (``numpy.inf`` without a caliper).
    balance : pandas.DataFrame
        Output of :func:`tabtransfer.psm.balance_table`.
    support : pandas.DataFrame
        Output of :func:`tabtransfer.psm.common_support`.
    propensity, logit_propensity : pandas.Series
        Estimated e(x) and its logit for every row, indexed like the input.
    weights : pandas.Series
        Matching weight of every row: 1 for a matched treated unit, 0 for an
        unmatched one, K_j for a control.
    treated : pandas.Series of bool
        Treatment indicator, indexed like the input.
    matched : pandas.Series of bool
        True for matched treated units and for controls with positive weight.
    model : LogisticPropensity
        The fitted propensity model.
    matching : MatchResult
        Match sets, in the order of the treated and control rows.
    """

    att: float
    se: float
    se_method: str
    n_treated: int
    n_matched: int
    n_unmatched: int
    n_controls: int
    n_controls_used: int
    n_tied: int
    n_neighbors: int
    replace: bool
    caliper_width: float
    balance: pd.DataFrame
    support: pd.DataFrame
    propensity: pd.Series
    logit_propensity: pd.Series
    weights: pd.Series
    treated: pd.Series
    matched: pd.Series
    model: LogisticPropensity = field(repr=False)
    matching: MatchResult = field(repr=False)

    def confidence_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Return the normal-approximation interval att +- z * se."""
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, got {level}.")
        z = float(norm.ppf(0.5 + level / 2.0))
        return self.att - z * self.se, self.att + z * self.se

    def summary(self) -> pd.DataFrame:
        """Return the estimate and its settings as a one-column DataFrame."""
        low, high = self.confidence_interval()
        rows = {
            "estimand": "ATT over matched treated units",
            "att": self.att,
            "se": self.se,
            "ci95_low": low,
            "ci95_high": high,
            "n_treated": self.n_treated,
            "n_matched": self.n_matched,
            "n_unmatched": self.n_unmatched,
            "n_controls": self.n_controls,
            "n_controls_used": self.n_controls_used,
            "n_tied": self.n_tied,
            "matching": f"1:{self.n_neighbors} nearest neighbour on logit(PS), "
            + ("with" if self.replace else "without")
            + " replacement",
            "caliper_width_logit": self.caliper_width,
            "max_abs_smd_before": float(self.balance["smd_before"].abs().max()),
            "max_abs_smd_after": float(self.balance["smd_after"].abs().max()),
            "se_method": self.se_method,
        }
        return pd.DataFrame({"value": pd.Series(rows, dtype=object)})


def _check_columns(data, treatment, outcome, covariates) -> list:
    if not isinstance(data, pd.DataFrame):
        raise ValueError(
            f"data must be a pandas DataFrame, got {type(data).__name__}. "
            "Wrap arrays with pandas.DataFrame(...) and name the columns."
        )
    if isinstance(covariates, str):
        raise ValueError(
            f"covariates must be a list of column names, got the string {covariates!r}. "
            f"Pass [{covariates!r}]."
        )
    covariates = list(covariates)
    if not covariates:
        raise ValueError("covariates is empty. Pass at least one covariate column.")

    duplicated = sorted({c for c in covariates if covariates.count(c) > 1}, key=str)
    if duplicated:
        raise ValueError(f"covariates lists {duplicated} more than once. List each once.")

    missing = [c for c in [treatment, outcome, *covariates] if c not in data.columns]
    if missing:
        raise ValueError(
            f"Columns {missing} not found in data. Available columns: {list(data.columns)}."
        )

    if treatment == outcome:
        raise ValueError(f"treatment and outcome are the same column {treatment!r}.")
    if outcome in covariates:
        raise ValueError(
            f"The outcome {outcome!r} is listed among the covariates. The propensity "
            "model must not see the outcome, so remove it from covariates."
        )
    if treatment in covariates:
        raise ValueError(
            f"The treatment {treatment!r} is listed among the covariates. Remove it."
        )
    return covariates


def _check_treatment(column: pd.Series) -> np.ndarray:
    name = column.name
    if column.isna().any():
        raise ValueError(
            f"Treatment {name!r} has {int(column.isna().sum())} missing value(s). "
            "Drop those rows or code them 0/1."
        )
    values = pd.unique(column)
    if not set(values.tolist()) <= {0, 1}:
        found_values = sorted(values.tolist(), key=str)[:10]
        raise ValueError(
            f"Treatment {name!r} must be binary (0/1 or False/True), got values {found_values}. "
            "Recode it, e.g. (data[treatment] == treated_value).astype(int)."
        )
    treated = column.to_numpy() == 1
    n_treated = int(treated.sum())
    n_controls = treated.size - n_treated
    if n_treated < 2 or n_controls < 2:
        raise ValueError(
            f"Treatment {name!r} has {n_treated} treated and {n_controls} control "
            "unit(s); matching needs at least 2 of each (a single class cannot be matched)."
        )
    return treated


def _check_outcome(column: pd.Series) -> np.ndarray:
    name = column.name
    if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
        raise ValueError(f"Outcome {name!r} must be numeric, got dtype {column.dtype}.")
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"Outcome {name!r} has {int(bad.sum())} missing or infinite value(s), the "
            f"first at row label {column.index[np.flatnonzero(bad)[0]]!r}; drop or impute them."
        )
    return values


def _tie_keys(index: pd.Index) -> np.ndarray:
    """Rank of each row label, the tie-break order without replacement.

    Falls back to the row position when the labels are not unique or not sortable.
    """
    if index.is_unique:
        try:
            order = index.argsort()
        except TypeError:
            return np.arange(index.size)
        ranks = np.empty(index.size, dtype=np.int64)
        ranks[order] = np.arange(index.size)
        return ranks
    return np.arange(index.size)


def _abadie_imbens_se(y_t, y_c, logit_c, matching: MatchResult, att, variance_neighbors):
    matched = matching.matched
    residual = y_t[matched] - matching.control_means(y_c)[matched] - att
    reuse = matching.control_weights**2 - matching.control_weight_squares
    used = reuse > 0
    reuse_term = 0.0
    if used.any():
        sigma2 = neighbour_variance(
            logit_c, y_c, n_neighbors=variance_neighbors, order=matching.control_order
        )
        reuse_term = float(np.sum(reuse[used] * sigma2[used]))
    n_matched = int(matched.sum())
    variance = (float(np.sum(residual**2)) + reuse_term) / n_matched**2
    return float(np.sqrt(variance))


def estimate_att(
    data: pd.DataFrame,
    treatment: str,
    outcome: str,
    covariates: Sequence[str],
    *,
    n_neighbors: int = 1,
    replace: bool = True,
    caliper: float | None = 0.2,
    caliper_scale: str = "sd",
    smd_denominator: str = "treated",
    variance_neighbors: int = 2,
    C: float = np.inf,
) -> PSMResult:
    """Estimate the ATT by nearest-neighbour matching on the logit of the propensity score.

    The steps are:

    1. fit a logistic propensity model of ``treatment`` on ``covariates`` (never
       on ``outcome``),
    2. match each treated unit to its ``n_neighbors`` nearest controls on
       logit e(x) within the caliper,
    3. average the matched differences of ``outcome``,
    4. compute the Abadie-Imbens standard error and the balance table.

    ``data`` is read only, never modified.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    treatment : str
        Column with the binary treatment, 0/1 or False/True.
    outcome : str
        Column with the numeric outcome.
    covariates : sequence of str
        Numeric covariate columns of the propensity model, without the outcome.
    n_neighbors : int, default=1
        k of 1:k matching.
    replace : bool, default=True
        With replacement, all controls tied at the deciding distance share the
        match, so the result does not depend on the row order. Without
        replacement, treated units are matched from the largest propensity down
        and ties are broken by the row label (see :mod:`tabtransfer.psm.matching`).
    caliper : float or None, default=0.2
        Caliper multiplier (see ``caliper_scale``). None disables the caliper.
    caliper_scale : {"sd", "logit"}, default="sd"
        ``"sd"``: the width is ``caliper`` times the pooled SD of logit e(x)
        (Austin, 2011). ``"logit"``: ``caliper`` is the width in logit units.
    smd_denominator : {"treated", "pooled"}, default="treated"
        Standard deviation in the standardised mean differences.
    variance_neighbors : int, default=2
        Same-group neighbours J used to estimate the conditional outcome
        variance in the standard error.
    C : float, default=numpy.inf
        Inverse L2 penalty of the propensity model; ``numpy.inf`` is unpenalised.

    Returns
    -------
    PSMResult

    Raises
    ------
    ValueError
        If a column is missing, or the outcome or treatment is among the
        covariates. If the treatment is not 0/1 or a group has fewer than 2
        units. If there are missing values, non-numeric columns or linearly
        dependent covariates. If 1:k matching without replacement has too few
        controls, or no treated unit has a control inside the caliper.

    Warns
    -----
    UnmatchedTreatedWarning
        When some treated units have no control inside the caliper. They are
        dropped and counted in ``n_unmatched``.

    References
    ----------
    Rosenbaum, P. R. and Rubin, D. B. (1983). Biometrika 70(1), 41-55.
    Abadie, A. and Imbens, G. W. (2006). Large sample properties of matching
    estimators for average treatment effects. Econometrica 74(1), 235-267.
    Abadie, A. and Imbens, G. W. (2016). Matching on the estimated propensity
    score. Econometrica 84(2), 781-807.
    Austin, P. C. (2011). Pharmaceutical Statistics 10(2), 150-161.
    """
    covariates = _check_columns(data, treatment, outcome, covariates)
    treated = _check_treatment(data[treatment])
    y = _check_outcome(data[outcome])
    X, _ = check_matrix(data[covariates], "data[covariates]")
    if (
        isinstance(variance_neighbors, bool)
        or not isinstance(variance_neighbors, (int, np.integer))
        or variance_neighbors < 1
    ):
        raise ValueError(
            f"variance_neighbors must be a positive integer, got {variance_neighbors!r}."
        )

    model = LogisticPropensity(C=C).fit(X, treated, feature_names=covariates)
    if model.separated_:
        raise ValueError(
            f"The covariates {covariates} separate treated and control units "
            "completely, so no treated unit has a comparable control and the ATT is "
            "not identified by matching. Drop or coarsen the separating covariates."
        )
    logit = model.decision_function(X)
    logit_t, logit_c = logit[treated], logit[~treated]
    y_t, y_c = y[treated], y[~treated]

    width = caliper_width(logit_t, logit_c, caliper=caliper, scale=caliper_scale)
    tie_key_treated = tie_key_control = None
    if not replace:
        tie_keys = _tie_keys(data.index)
        tie_key_treated, tie_key_control = tie_keys[treated], tie_keys[~treated]
    matching = match_nearest(
        logit_t,
        logit_c,
        n_neighbors=n_neighbors,
        replace=replace,
        caliper_width=width,
        tie_key_treated=tie_key_treated,
        tie_key_control=tie_key_control,
    )

    n_treated = int(treated.sum())
    n_matched = int(matching.matched.sum())
    n_unmatched = n_treated - n_matched
    if n_matched == 0:
        raise ValueError(
            f"No treated unit has a control within the caliper of {width:.4g} logit "
            f"units (caliper={caliper}, caliper_scale={caliper_scale!r}). Check the "
            "overlap plot, widen the caliper, or pass caliper=None."
        )
    if n_unmatched:
        warnings.warn(
            f"{n_unmatched} of {n_treated} treated units have no control within the "
            f"caliper of {width:.4g} logit units and were dropped, so the estimate is the "
            f"ATT over the {n_matched} matched treated units. Widen the caliper or pass "
            "caliper=None to keep them.",
            UnmatchedTreatedWarning,
            stacklevel=2,
        )

    matched_t = matching.matched
    att = float(np.mean(y_t[matched_t] - matching.control_means(y_c)[matched_t]))
    se = _abadie_imbens_se(y_t, y_c, logit_c, matching, att, variance_neighbors)

    weights = np.empty(y.size)
    weights[treated] = matched_t.astype(np.float64)
    weights[~treated] = matching.control_weights
    balance = balance_from_arrays(X, covariates, treated, weights, denominator=smd_denominator)

    index = data.index
    propensity = expit(logit)
    return PSMResult(
        att=att,
        se=se,
        se_method=SE_METHOD,
        n_treated=n_treated,
        n_matched=n_matched,
        n_unmatched=n_unmatched,
        n_controls=int((~treated).sum()),
        n_controls_used=int(np.count_nonzero(matching.control_weights > 0)),
        n_tied=matching.n_tied,
        n_neighbors=int(n_neighbors),
        replace=bool(replace),
        caliper_width=width,
        balance=balance,
        support=common_support(logit, treated),
        propensity=pd.Series(propensity, index=index, name="propensity"),
        logit_propensity=pd.Series(logit, index=index, name="logit_propensity"),
        weights=pd.Series(weights, index=index, name="weight"),
        treated=pd.Series(treated, index=index, name=treatment),
        matched=pd.Series(weights > 0, index=index, name="matched"),
        model=model,
        matching=matching,
    )
