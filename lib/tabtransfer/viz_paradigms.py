"""Figures of chapter 4: the transfer paradigms drawn in the embedding space.

Every plotting function takes numbers the chapter has just computed and returns a
matplotlib Figure. :func:`figure_paradigms` recomputes the chapter's main comparison with the
same package functions and draws it, for ``figures/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from tabtransfer.embedding import PurchaseEmbedding
from tabtransfer.paradigms import PARADIGM_LABELS, run_replications, summarise
from tabtransfer.plotting import BLUES, COLORS
from tabtransfer.simulation import simulate_course_data

__all__ = [
    "PARADIGM_COLORS",
    "figure_paradigms",
    "mean_gap_axes",
    "plot_alignment_panels",
    "plot_coral_family",
    "plot_fine_tuning",
    "plot_importance",
    "plot_learning_curve",
    "plot_method_intervals",
]

#: Colour of each paradigm in the comparison figures.
PARADIGM_COLORS = {
    "baseline": COLORS["neutral"],
    "feature": COLORS["aligned"],
    "instance": COLORS["target"],
    "model": BLUES[1],
}

# Points drawn per cloud in the scatter panels; more only hide each other.
_MAX_POINTS = 1500


def mean_gap_axes(Zs, Zt) -> np.ndarray:
    r"""Return two orthonormal directions that show the gap between two clouds.

    The first is the unit vector along :math:`\bar z_t - \bar z_s`. The second is
    the direction of largest target variance orthogonal to the first.

    Parameters
    ----------
    Zs, Zt : array-like, shapes (n_s, d) and (n_t, d)
        Source and target embeddings, ``d >= 2``.

    Returns
    -------
    ndarray, shape (d, 2)
        Project rows with ``Z @ axes``.
    """
    Zs, Zt = np.asarray(Zs, dtype=float), np.asarray(Zt, dtype=float)
    if Zs.ndim != 2 or Zt.ndim != 2 or Zs.shape[1] != Zt.shape[1] or Zs.shape[1] < 2:
        raise ValueError(
            f"Zs and Zt must be 2-D with the same number (>= 2) of columns, got {Zs.shape} and {Zt.shape}."
        )
    gap = Zt.mean(axis=0) - Zs.mean(axis=0)
    norm = np.linalg.norm(gap)
    if norm == 0:
        raise ValueError(
            "The two means are equal, so there is no gap direction to draw."
        )
    first = gap / norm
    centred = Zt - Zt.mean(axis=0)
    residual = centred - np.outer(centred @ first, first)
    _, _, vt = np.linalg.svd(residual, full_matrices=False)
    second = vt[0] - (vt[0] @ first) * first
    return np.column_stack([first, second / np.linalg.norm(second)])


def _thin(points: np.ndarray, seed: int = 0) -> np.ndarray:
    if len(points) <= _MAX_POINTS:
        return points
    return points[
        np.random.default_rng(seed).choice(len(points), _MAX_POINTS, replace=False)
    ]


def plot_alignment_panels(
    target_2d: np.ndarray, source_panels: Mapping[str, np.ndarray]
) -> Figure:
    """Draw the target cloud beside each version of the source cloud, one panel each.

    Parameters
    ----------
    target_2d : ndarray, shape (n_t, 2)
        Target users projected on :func:`mean_gap_axes`.
    source_panels : mapping of str to ndarray of shape (n_s, 2)
        Panel title (Chinese, shown under the panel) to the projected source users.
    """
    fig, axes = plt.subplots(
        1,
        len(source_panels),
        figsize=(4 * len(source_panels), 3.9),
        sharex=True,
        sharey=True,
    )
    axes = np.atleast_1d(axes)
    target_points = _thin(np.asarray(target_2d))
    for ax, (title, source_2d) in zip(axes, source_panels.items()):
        source_points = _thin(np.asarray(source_2d))
        ax.scatter(
            *source_points.T,
            s=4,
            alpha=0.25,
            color=COLORS["source"],
            label="源域用户",
            rasterized=True,
        )
        ax.scatter(
            *target_points.T,
            s=4,
            alpha=0.25,
            color=COLORS["target"],
            label="目标域用户",
            rasterized=True,
        )
        ax.scatter(
            *np.asarray(source_2d).mean(axis=0),
            marker="X",
            s=120,
            color=COLORS["source"],
            edgecolor="white",
        )
        ax.scatter(
            *np.asarray(target_2d).mean(axis=0),
            marker="X",
            s=120,
            color=COLORS["target"],
            edgecolor="white",
        )
        ax.set_xlabel(f"均值差方向\n{title}")
    axes[0].set_ylabel("与之正交、目标域方差最大的方向")
    legend = axes[0].legend(loc="upper left", markerscale=4)
    for handle in legend.legend_handles:
        handle.set_alpha(1)
    fig.tight_layout()
    return fig


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def plot_importance(
    source_2d: np.ndarray,
    target_2d: np.ndarray,
    weights: np.ndarray,
    p_source: np.ndarray,
    p_target: np.ndarray,
) -> Figure:
    """Draw importance weights in the embedding plane and the domain probabilities.

    Parameters
    ----------
    source_2d, target_2d : ndarray, shape (n, 2)
        Users projected on :func:`mean_gap_axes`.
    weights : ndarray, shape (n_s,)
        Importance weight of each source user (mean 1).
    p_source, p_target : ndarray
        :math:`\\hat P(\\text{target} \\mid x)` of source users and of target users.
    """
    fig, (ax_space, ax_hist) = plt.subplots(1, 2, figsize=(10.5, 4.0))
    order = np.argsort(weights)
    heavy = order[-_MAX_POINTS:]
    ax_space.scatter(
        *_thin(np.asarray(target_2d)).T,
        s=4,
        alpha=0.2,
        color=COLORS["target"],
        label="目标域用户",
    )
    ax_space.scatter(
        *_thin(np.asarray(source_2d)).T,
        s=3,
        alpha=0.15,
        color=COLORS["neutral"],
        label="源域用户",
    )
    # Marker area grows linearly with the weight, from 3 to 60 points squared.
    ax_space.scatter(
        *np.asarray(source_2d)[heavy].T,
        s=3 + 57 * weights[heavy] / weights.max(),
        alpha=0.6,
        color=COLORS["source"],
    )
    ax_space.set_xlabel("均值差方向")
    ax_space.set_ylabel("与之正交、目标域方差最大的方向")
    handles = [
        plt.Line2D(
            [], [], marker="o", linestyle="", color=COLORS["target"], label="目标域用户"
        ),
        plt.Line2D(
            [], [], marker="o", linestyle="", color=COLORS["neutral"], label="源域用户"
        ),
        plt.Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color=COLORS["source"],
            label=f"权重最大的 {len(heavy):,} 个源域用户\n（点越大，权重越大）",
        ),
    ]
    ax_space.legend(handles=handles, loc="upper left", fontsize=9)

    bins = np.linspace(-12, 8, 41)
    ax_hist.hist(
        _logit(p_source),
        bins=bins,
        density=True,
        alpha=0.7,
        color=COLORS["source"],
        label="源域用户",
    )
    ax_hist.hist(
        _logit(p_target),
        bins=bins,
        density=True,
        alpha=0.7,
        color=COLORS["target"],
        label="目标域用户",
    )
    ticks = np.array([1e-5, 1e-3, 0.1, 0.5, 0.9, 0.999])
    ax_hist.set_xticks(_logit(ticks), [f"{t:g}" for t in ticks])
    ax_hist.set_xlabel("域分类器给出的 P(目标域 | x)（对数几率刻度）")
    ax_hist.set_ylabel("密度")
    ax_hist.legend()
    fig.tight_layout()
    return fig


def plot_fine_tuning(
    cv_losses: pd.Series,
    chosen: float,
    logit_source: np.ndarray,
    logit_tuned: np.ndarray,
    y: np.ndarray,
) -> Figure:
    """Draw the cross-validation curve of the prior strength and the moved boundary.

    Parameters
    ----------
    cv_losses : Series
        Cross-validated log loss indexed by strength (``inf`` allowed).
    chosen : float
        The chosen strength.
    logit_source, logit_tuned : ndarray, shape (n,)
        Log-odds of held-out target users under the source and the fine-tuned model.
    y : ndarray, shape (n,)
        Their labels.
    """
    fig, (ax_cv, ax_logit) = plt.subplots(1, 2, figsize=(10.5, 4.0))
    labels = ["∞" if np.isinf(s) else f"{s:g}" for s in cv_losses.index]
    positions = np.arange(len(labels))
    ax_cv.plot(positions, cv_losses.to_numpy(), marker="o", color=COLORS["source"])
    chosen_position = list(cv_losses.index).index(chosen)
    ax_cv.scatter(
        [chosen_position],
        [cv_losses.loc[chosen]],
        s=160,
        facecolor="none",
        edgecolor=COLORS["aligned"],
        linewidth=2,
        label="交叉验证选中的强度",
        zorder=3,
    )
    ax_cv.set_xticks(positions, labels)
    ax_cv.set_xlabel("先验强度 λ（∞ = 只重估截距）")
    ax_cv.set_ylabel("交叉验证对数损失（每人，越低越好）")
    ax_cv.legend()

    y = np.asarray(y)
    for label, color, name in [
        (0, COLORS["neutral"], "未参与"),
        (1, COLORS["target"], "参与"),
    ]:
        mask = y == label
        ax_logit.scatter(
            logit_source[mask],
            logit_tuned[mask],
            s=6,
            alpha=0.4,
            color=color,
            label=f"目标域留出用户：{name}",
        )
    limit = np.percentile(np.abs(np.r_[logit_source, logit_tuned]), 99)
    ax_logit.axvline(0, color=COLORS["source"], linewidth=1.2, label="源域模型的分界线")
    ax_logit.axhline(
        0, color=COLORS["aligned"], linewidth=1.2, label="微调后模型的分界线"
    )
    ax_logit.plot(
        [-limit, limit],
        [-limit, limit],
        color=COLORS["neutral"],
        linestyle=":",
        linewidth=1,
    )
    ax_logit.set_xlim(-limit, limit)
    ax_logit.set_ylim(-limit, limit)
    ax_logit.set_xlabel("源域模型的对数几率")
    ax_logit.set_ylabel("微调后模型的对数几率")
    ax_logit.legend(fontsize=8, loc="upper left", markerscale=2)
    fig.tight_layout()
    return fig


def _interval_errors(frame: pd.DataFrame, metric: str) -> np.ndarray:
    return np.vstack(
        [
            frame[metric] - frame[f"{metric}_low"],
            frame[f"{metric}_high"] - frame[metric],
        ]
    )


def plot_method_intervals(
    summary: pd.DataFrame, metrics: Sequence[str] = ("accuracy", "auc")
) -> Figure:
    """Draw each method's mean and 95% interval, one panel per metric.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`tabtransfer.paradigms.summarise` for one labelled-set size,
        with ``method``, ``label``, ``paradigm`` and the metric columns. Rows are
        drawn top to bottom in their order; the row ``source_only`` (if present)
        gives a dashed reference line.
    metrics : sequence of str
        Metrics to draw; ``"accuracy"`` is shown in percent.
    """
    names = {"accuracy": "目标域留出用户的准确率", "auc": "目标域留出用户的 AUC"}
    fig, axes = plt.subplots(
        1,
        len(metrics),
        figsize=(5.2 * len(metrics), 0.42 * len(summary) + 1.4),
        sharey=True,
    )
    axes = np.atleast_1d(axes)
    positions = np.arange(len(summary))[::-1]
    colors = [PARADIGM_COLORS[p] for p in summary["paradigm"]]
    for ax, metric in zip(axes, metrics):
        errors = _interval_errors(summary, metric)
        for position, value, error, color in zip(
            positions, summary[metric], errors.T, colors
        ):
            ax.errorbar(
                value,
                position,
                xerr=error.reshape(2, 1),
                fmt="o",
                color=color,
                capsize=3,
                markersize=6,
            )
        if "source_only" in set(summary["method"]):
            reference = summary.loc[summary["method"] == "source_only", metric].iloc[0]
            ax.axvline(reference, color=COLORS["neutral"], linestyle="--", linewidth=1)
        ax.set_xlabel(names.get(metric, metric))
        if metric == "accuracy":
            ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(positions, summary["label"])
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", color=c)
        for c in PARADIGM_COLORS.values()
    ]
    fig.legend(
        handles, PARADIGM_LABELS.values(), loc="lower center", ncol=4, frameon=False
    )
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def plot_coral_family(
    summaries: Mapping[str, pd.DataFrame],
    order: Sequence[str],
    tick_labels: Sequence[str],
    metrics: Sequence[str] = ("accuracy", "auc"),
) -> Figure:
    """Draw accuracy and AUC along the CORAL family, one line per embedding size.

    Parameters
    ----------
    summaries : mapping of str to DataFrame
        Line name (e.g. ``"50 维嵌入"``) to a :func:`tabtransfer.paradigms.summarise`
        output that has a row for every method in ``order`` and a row
        ``source_only``, drawn as a dashed line in the same colour.
    order : sequence of str
        Method keys of the family's points, from full covariance to mean only.
    tick_labels : sequence of str
        Tick label of each point, same length as ``order``.
    """
    if len(order) != len(tick_labels):
        raise ValueError(
            f"order has {len(order)} methods but tick_labels has {len(tick_labels)} labels."
        )
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.4 * len(metrics), 3.9))
    axes = np.atleast_1d(axes)
    positions = np.arange(len(order))
    line_colors = [COLORS["aligned"], BLUES[3], BLUES[1]]
    for ax, metric in zip(axes, metrics):
        for (name, summary), color in zip(summaries.items(), line_colors):
            family = summary.set_index("method").loc[list(order)]
            ax.errorbar(
                positions,
                family[metric],
                yerr=_interval_errors(family, metric),
                marker="o",
                capsize=3,
                color=color,
                label=f"{name}：对齐后训练",
            )
            baseline = summary.loc[summary["method"] == "source_only", metric].iloc[0]
            ax.axhline(
                baseline,
                color=color,
                linestyle="--",
                linewidth=1,
                label=f"{name}：源域直接套用",
            )
        ax.set_xticks(positions, tick_labels)
        ax.set_xlabel("CORAL 的正则 λ（以源域方差为单位）")
        ax.set_ylabel({"accuracy": "准确率", "auc": "AUC"}.get(metric, metric))
        if metric == "accuracy":
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    axes[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_learning_curve(
    summary: pd.DataFrame,
    flat: pd.DataFrame,
    metrics: Sequence[str] = ("accuracy", "auc"),
) -> Figure:
    """Draw target performance against the number of labelled target users.

    Parameters
    ----------
    summary : DataFrame
        :func:`tabtransfer.paradigms.summarise` output with several ``n_labelled``.
    flat : DataFrame
        Summary rows of methods that use no target label; each is drawn as a
        horizontal line with a band.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.4 * len(metrics), 4.0))
    axes = np.atleast_1d(axes)
    # Line colour and style per method; methods not listed are drawn grey and solid.
    styles = {
        "target_only": (COLORS["target"], "-", "o"),
        "pooled": (COLORS["neutral"], "-", "^"),
        "intercept": (PARADIGM_COLORS["model"], "--", "s"),
        "fine_tune": (PARADIGM_COLORS["model"], "-", "o"),
        "source_only": (COLORS["neutral"], "--", ""),
        "recentre": (COLORS["aligned"], "--", ""),
    }
    palette = {method: style[0] for method, style in styles.items()}
    for ax, metric in zip(axes, metrics):
        for method, group in summary.groupby("method", sort=False):
            group = group.sort_values("n_labelled")
            color, linestyle, marker = styles.get(method, (COLORS["neutral"], "-", "o"))
            ax.plot(
                group["n_labelled"],
                group[metric],
                marker=marker,
                linestyle=linestyle,
                color=color,
                label=group["label"].iloc[0],
            )
            ax.fill_between(
                group["n_labelled"],
                group[f"{metric}_low"],
                group[f"{metric}_high"],
                color=color,
                alpha=0.15,
            )
        for row in flat.itertuples():
            color = palette.get(row.method, COLORS["neutral"])
            ax.axhline(
                getattr(row, metric),
                color=color,
                linestyle=":",
                linewidth=1.5,
                label=f"{row.label}（不用标签）",
            )
            ax.axhspan(
                getattr(row, f"{metric}_low"),
                getattr(row, f"{metric}_high"),
                color=color,
                alpha=0.1,
            )
        ax.set_xscale("log")
        sizes = np.sort(summary["n_labelled"].unique())
        ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("有标签的目标域用户数")
        ax.set_ylabel({"accuracy": "准确率", "auc": "AUC"}.get(metric, metric))
        if metric == "accuracy":
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    axes[-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def figure_paradigms() -> Figure:
    """Recompute chapter 4's main comparison (seed 0, 20 replications) and draw it.

    Same steps as the chapter: 100,000 simulated source users, a 50-dimensional
    embedding fitted on all of them, a fixed random subsample of 10,000 source users
    for training, and 20 fresh target samples of 1,000 users with 100 labelled.
    """
    data = simulate_course_data(seed=0)
    embedding = PurchaseEmbedding(n_components=50).fit(
        data.source[data.purchase_columns]
    )
    source_train = data.source.sample(10_000, random_state=0)
    results = run_replications(source_train, embedding, n_replications=20)
    return plot_method_intervals(summarise(results))
