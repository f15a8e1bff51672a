"""Love plot and overlap plot of a propensity score matching result.

Colours follow :data:`tabtransfer.plotting.COLORS`: treated units use
``COLORS["target"]`` and controls ``COLORS["source"]``, as the two groups are
drawn throughout the book. Matched (weighted) controls use ``COLORS["aligned"]``,
the colour of a group after it has been moved towards the other. Values before
matching use ``COLORS["neutral"]``. Labels are in Chinese, like every figure of
the book.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from tabtransfer.plotting import COLORS

__all__ = ["plot_love", "plot_overlap"]


def plot_love(result, ax=None, threshold: float = 0.1, absolute: bool = True, labels=None):
    """Draw the standardised mean difference of each covariate before and after matching.

    Parameters
    ----------
    result : PSMResult
        Output of :func:`tabtransfer.psm.estimate_att`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on. A new figure is created when omitted.
    threshold : float, default=0.1
        Balance threshold drawn as a dashed line (and its negative when
        ``absolute`` is False).
    absolute : bool, default=True
        Plot |SMD| instead of the signed SMD.
    labels : mapping, optional
        Display names of the covariates, e.g. ``{"re74": "1974 年收入"}``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = result.balance
    before = table["smd_before"].to_numpy()
    after = table["smd_after"].to_numpy()
    if absolute:
        before, after = np.abs(before), np.abs(after)
    names = [str((labels or {}).get(name, name)) for name in table.index]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 0.32 * len(names) + 1.2))
    rows = np.arange(len(names))[::-1]
    ax.hlines(rows, np.minimum(before, after), np.maximum(before, after), color=COLORS["neutral"],
              linewidth=0.8, alpha=0.6)
    ax.scatter(before, rows, facecolors="none", edgecolors=COLORS["neutral"], s=36,
               label="匹配前", zorder=3)
    ax.scatter(after, rows, color=COLORS["source"], s=36, label="匹配后", zorder=4)
    ax.axvline(threshold, color=COLORS["accent"], linestyle="--", linewidth=1.0,
               label=f"阈值 {threshold:g}")
    if not absolute:
        ax.axvline(-threshold, color=COLORS["accent"], linestyle="--", linewidth=1.0)
        ax.axvline(0.0, color=COLORS["neutral"], linewidth=0.8)
    ax.set_yticks(rows)
    ax.set_yticklabels(names)
    ax.set_xlabel("标准化均值差的绝对值" if absolute else "标准化均值差")
    ax.legend(loc="lower right", frameon=False)
    return ax


def plot_overlap(result, ax=None, bins: int = 40, show_matched: bool = True):
    """Draw the distributions of logit e(x) for treated, control and matched control units.

    Parameters
    ----------
    result : PSMResult
        Output of :func:`tabtransfer.psm.estimate_att`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on. A new figure is created when omitted.
    bins : int, default=40
        Number of histogram bins, shared by all groups.
    show_matched : bool, default=True
        Also draw the controls weighted by their matching weights, whose
        distribution should lie on top of the treated one after matching.

    Returns
    -------
    matplotlib.axes.Axes
        Histograms normalised to density, so groups of very different size
        can be compared.
    """
    logit = result.logit_propensity.to_numpy()
    treated = result.treated.to_numpy()
    weights = result.weights.to_numpy()
    edges = np.histogram_bin_edges(logit, bins=bins)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.hist(logit[~treated], bins=edges, density=True, color=COLORS["source"], alpha=0.35,
            label=f"对照组（全部，{int((~treated).sum()):,} 人）")
    ax.hist(logit[treated], bins=edges, density=True, color=COLORS["target"], alpha=0.6,
            label=f"处理组（{int(treated.sum()):,} 人）")
    if show_matched:
        ax.hist(logit[~treated], bins=edges, weights=weights[~treated], density=True,
                histtype="step", linewidth=1.8, color=COLORS["aligned"],
                label="对照组（按匹配权重）")
    ax.set_xlabel("倾向得分的对数几率 logit e(x)")
    ax.set_ylabel("密度")
    ax.legend(frameon=False)
    return ax
