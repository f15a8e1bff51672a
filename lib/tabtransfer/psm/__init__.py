"""Propensity score matching (PSM) for the average treatment effect on the treated.

The entry point is :func:`estimate_att`. Its conventions, each stated where it is
implemented:

- propensity model: unpenalised logistic regression fitted to the
  maximum-likelihood optimum, on the covariates only (:mod:`.propensity`);
- matching: 1:k nearest neighbour on the logit of the score, with replacement by
  default, caliper 0.2 x the pooled SD of the logit, exact ties shared
  (:mod:`.matching`);
- ATT and an Abadie-Imbens (2006) standard error that treats the score as known
  (:mod:`.effect`);
- balance: standardised mean differences with the treated SD before matching in
  the denominator, variance ratios, common support (:mod:`.balance`), and plots
  (:mod:`.plots`).
"""

from tabtransfer.psm.balance import balance_table, common_support, weighted_mean_variance
from tabtransfer.psm.effect import PSMResult, UnmatchedTreatedWarning, estimate_att
from tabtransfer.psm.matching import (
    MatchResult,
    caliper_width,
    match_nearest,
    neighbour_variance,
)
from tabtransfer.psm.plots import plot_love, plot_overlap
from tabtransfer.psm.propensity import LogisticPropensity

__all__ = [
    "LogisticPropensity",
    "MatchResult",
    "PSMResult",
    "UnmatchedTreatedWarning",
    "balance_table",
    "caliper_width",
    "common_support",
    "estimate_att",
    "match_nearest",
    "neighbour_variance",
    "plot_love",
    "plot_overlap",
    "weighted_mean_variance",
]
