"""Figures of chapters 2 and 3: users as points, and a straight line between classes.

:func:`plot_embedding_space` draws the source and target users in two embedding
dimensions before and after alignment (Figure 2). :func:`plot_separability` draws
two feature spaces side by side with the 0.5 line of a fitted classifier in each
(Figure 3). Both take numbers the chapter has computed and return a Figure.
:func:`figure_2` and :func:`figure_3` recompute those numbers from the simulator
with the chapters' settings, for the ``figures/`` folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from tabtransfer._validation import check_matrix
from tabtransfer.alignment import coral
from tabtransfer.embedding import PurchaseEmbedding
from tabtransfer.participation import make_participation_model
from tabtransfer.plotting import BLUES, COLORS
from tabtransfer.simulation import simulate_course_data

__all__ = [
    "SeparabilityPanel",
    "figure_2",
    "figure_3",
    "plot_embedding_space",
    "plot_separability",
]

# Chapter 2 aligns with CORAL on columns scaled by the source SD, with a ridge of
# 10% of each column's source variance (see tabtransfer.alignment.CORAL).
CORAL_REG = 0.1
CORAL_STANDARDIZE = True

# Grid resolution (points per axis) for drawing a classifier's 0.5 contour.
_GRID_SIZE = 200


def _check_points(X, name: str, min_rows: int = 2) -> np.ndarray:
    array, _ = check_matrix(X, name, min_rows=min_rows)
    if array.shape[1] != 2:
        raise ValueError(
            f"{name} must have exactly 2 columns (the two plotted axes), got "
            f"{array.shape[1]}. Select two columns, e.g. Z[['z01', 'z02']]."
        )
    return array


def _check_max_points(max_points) -> int:
    if (
        isinstance(max_points, bool)
        or not isinstance(max_points, (int, np.integer))
        or max_points < 1
    ):
        raise ValueError(f"max_points must be a positive integer, got {max_points!r}.")
    return int(max_points)


def _sample_rows(n_rows: int, max_points: int, random_state) -> np.ndarray:
    """Return sorted row indices of a uniform subsample of at most max_points rows."""
    if n_rows <= max_points:
        return np.arange(n_rows)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_rows, size=max_points, replace=False))


def _padded_limits(
    *arrays: np.ndarray, column: int, trim: float = 0.0
) -> tuple[float, float]:
    """Return padded axis limits, leaving out the share ``trim`` at each end."""
    values = np.concatenate([a[:, column] for a in arrays])
    low, high = (float(v) for v in np.quantile(values, [trim, 1 - trim]))
    pad = 0.04 * (high - low) if high > low else 1.0
    return low - pad, high + pad


def plot_embedding_space(
    Zs_2d,
    Zt_2d,
    Zs_aligned_2d,
    *,
    xlabel: str,
    ylabel: str,
    max_points: int = 3000,
    random_state=0,
) -> Figure:
    """Draw Figure 2: source and target users before and after alignment, same axes.

    The left panel shows the source points :math:`Z_s` and the target points
    :math:`Z_t`, the right panel the aligned source :math:`\\varphi(Z_s)` and the
    same :math:`Z_t`. Both panels use the same axis limits, so a point that moves
    between the panels moved in the space, not on the page. The same subsample of
    source users is drawn in both panels.

    Parameters
    ----------
    Zs_2d : array-like or DataFrame, shape (n_s, 2)
        Source users in the two plotted coordinates (e.g. columns ``z01, z02``).
    Zt_2d : array-like or DataFrame, shape (n_t, 2)
        Target users in the same coordinates. All are drawn.
    Zs_aligned_2d : array-like or DataFrame, shape (n_s, 2)
        The same source users after alignment, row for row, in the same coordinates.
    xlabel, ylabel : str
        Axis labels (Chinese in the book).
    max_points : int, default=3000
        Number of source users drawn; a uniform subsample if there are more.
    random_state : int, numpy Generator or None, default=0
        Seed of the subsample.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If an input does not have exactly 2 numeric columns, contains NaN, or the
        aligned source has a different number of rows than the source.
    """
    source = _check_points(Zs_2d, "Zs_2d")
    target = _check_points(Zt_2d, "Zt_2d")
    aligned = _check_points(Zs_aligned_2d, "Zs_aligned_2d")
    if aligned.shape[0] != source.shape[0]:
        raise ValueError(
            f"Zs_aligned_2d has {aligned.shape[0]} rows but Zs_2d has {source.shape[0]}; "
            "pass the aligned version of the same source users, row for row."
        )
    rows = _sample_rows(source.shape[0], _check_max_points(max_points), random_state)
    source, aligned = source[rows], aligned[rows]

    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.6), sharex=True, sharey=True)
    xlim = _padded_limits(source, target, aligned, column=0)
    ylim = _padded_limits(source, target, aligned, column=1)
    panels = [
        (
            axes[0],
            source,
            COLORS["source"],
            f"源域 $Z_s$：电商用户（抽样 {len(rows):,} 人）",
            "对齐前",
        ),
        (
            axes[1],
            aligned,
            COLORS["aligned"],
            "对齐后的源域 $\\varphi(Z_s)$",
            "对齐后（CORAL）",
        ),
    ]
    for ax, moved, color, label, corner in panels:
        ax.scatter(
            moved[:, 0],
            moved[:, 1],
            s=5,
            alpha=0.35,
            color=color,
            linewidths=0,
            label=label,
        )
        ax.scatter(
            target[:, 0],
            target[:, 1],
            s=7,
            alpha=0.6,
            color=COLORS["target"],
            linewidths=0,
            label=f"目标域 $Z_t$：超市用户（{target.shape[0]:,} 人）",
        )
        ax.text(
            0.03, 0.97, corner, transform=ax.transAxes, ha="left", va="top", fontsize=12
        )
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_xlabel(xlabel)
        legend = ax.legend(loc="upper right", fontsize=9, markerscale=3, framealpha=0.9)
        for handle in legend.legend_handles:
            handle.set_alpha(1.0)
    axes[0].set_ylabel(ylabel)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class SeparabilityPanel:
    """One panel of :func:`plot_separability`: users in two features and a fitted line.

    Attributes
    ----------
    X : DataFrame or array-like, shape (n, 2)
        The users in the panel's two features, in the units the model was fitted on.
        A DataFrame keeps the column names the model saw in ``fit``.
    model : classifier
        Fitted on these two columns; must have ``predict_proba``. Its 0.5 contour
        is drawn, which is a straight line for logistic regression.
    xlabel, ylabel : str
        Axis labels.
    accuracy : float
        Accuracy of the model's 0.5 rule, as a fraction in [0, 1], printed in the panel.
    """

    X: object
    model: object
    xlabel: str
    ylabel: str
    accuracy: float


def _panel_grid(panel: SeparabilityPanel, points: np.ndarray):
    # The interaction feature has long tails, so the limits leave out 0.5% of the
    # users at each end to keep the bulk readable.
    xlim = _padded_limits(points, column=0, trim=0.005)
    ylim = _padded_limits(points, column=1, trim=0.005)
    xx, yy = np.meshgrid(np.linspace(*xlim, _GRID_SIZE), np.linspace(*ylim, _GRID_SIZE))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    if isinstance(panel.X, pd.DataFrame):
        grid = pd.DataFrame(grid, columns=panel.X.columns)
    probability = np.asarray(panel.model.predict_proba(grid))[:, 1].reshape(xx.shape)
    return xx, yy, probability, xlim, ylim


def plot_separability(
    left: SeparabilityPanel,
    right: SeparabilityPanel,
    y,
    *,
    max_points: int = 1500,
    random_state=0,
) -> Figure:
    """Draw Figure 3: two feature spaces of the same users with each model's 0.5 line.

    Each panel shows the users as points coloured by their label, shades the two
    half-planes that the model predicts as 1 and 0, and draws the boundary where
    the predicted probability is 0.5. The panel's accuracy is printed in its corner.

    Parameters
    ----------
    left, right : SeparabilityPanel
        The two spaces, with the same users in the same row order.
    y : array-like of {0, 1}, shape (n,)
        Labels of the users (1 = joined the promotion).
    max_points : int, default=1500
        Number of users drawn; a uniform subsample (the same in both panels) if
        there are more.
    random_state : int, numpy Generator or None, default=0
        Seed of the subsample.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a panel's ``X`` does not have 2 numeric columns, its model has no
        ``predict_proba``, the panels and ``y`` differ in length, ``y`` is not 0/1,
        or an accuracy is outside [0, 1].
    """
    points = [
        _check_points(panel.X, f"{side}.X")
        for side, panel in (("left", left), ("right", right))
    ]
    labels = np.asarray(y)
    if (
        labels.ndim != 1
        or labels.shape[0] != points[0].shape[0]
        or points[1].shape[0] != points[0].shape[0]
    ):
        raise ValueError(
            "left.X, right.X and y must describe the same users, but got "
            f"{points[0].shape[0]} and {points[1].shape[0]} rows and y of shape "
            f"{labels.shape}."
        )
    if not np.isin(labels, [0, 1]).all():
        raise ValueError(
            f"y must contain only 0 and 1, got values {np.unique(labels)[:5]}."
        )
    for side, panel in (("left", left), ("right", right)):
        if not hasattr(panel.model, "predict_proba"):
            raise ValueError(
                f"{side}.model has no predict_proba method (got "
                f"{type(panel.model).__name__}); pass a fitted probabilistic "
                "classifier such as LogisticRegression."
            )
        valid = isinstance(panel.accuracy, Real) and 0 <= panel.accuracy <= 1
        if not valid:
            raise ValueError(
                f"{side}.accuracy must be a fraction in [0, 1], got {panel.accuracy!r}; "
                "pass e.g. accuracy_score(y, model.predict(X))."
            )
    rows = _sample_rows(labels.shape[0], _check_max_points(max_points), random_state)

    joined_color, other_color = BLUES[1], COLORS["neutral"]
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.6))
    for ax, panel, array in zip(axes, (left, right), points):
        xx, yy, probability, xlim, ylim = _panel_grid(panel, array)
        ax.contourf(
            xx,
            yy,
            probability >= 0.5,
            levels=[-0.5, 0.5, 1.5],
            colors=[other_color, joined_color],
            alpha=0.08,
        )
        ax.contour(xx, yy, probability, levels=[0.5], colors="black", linewidths=1.5)
        drawn_points, drawn_labels = array[rows], labels[rows]
        for value, color, marker in ((1, joined_color, "o"), (0, other_color, "x")):
            selected = drawn_points[drawn_labels == value]
            ax.scatter(
                selected[:, 0],
                selected[:, 1],
                s=10 if marker == "o" else 12,
                marker=marker,
                color=color,
                alpha=0.55,
                linewidths=0.8 if marker == "x" else 0,
            )
        ax.text(
            0.03,
            0.97,
            f"直线的准确率：{100 * panel.accuracy:.1f}%",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=11,
            bbox={
                "boxstyle": "round,pad=0.3",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.85,
            },
        )
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
    handles = [
        Line2D([], [], marker="o", linestyle="", color=joined_color, label="参与促销"),
        Line2D([], [], marker="x", linestyle="", color=other_color, label="未参与"),
        Line2D([], [], color="black", linewidth=1.5, label="逻辑回归的 0.5 分界线"),
        Patch(facecolor=joined_color, alpha=0.15, label="预测为参与的一侧"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def figure_2(seed: int = 0, n_source: int = 100_000) -> Figure:
    """Recompute and draw Figure 2 with chapter 2's settings.

    Simulates the course data and fits :class:`PurchaseEmbedding` (50 dimensions)
    on the source counts. Both domains are embedded, and the source is aligned to
    the target with CORAL (``reg=0.1`` on columns scaled by the source SD). The
    figure plots the first two embedding dimensions, ``z01`` and ``z02``.

    Parameters
    ----------
    seed : int, default=0
        Seed of the simulation and of the plotted subsample.
    n_source : int, default=100_000
        Number of source users to simulate (smaller values for quick tests).
    """
    data = simulate_course_data(n_source=n_source, seed=seed)
    embedding = PurchaseEmbedding(n_components=50).fit(
        data.source[data.purchase_columns]
    )
    Zs = embedding.transform(data.source[data.purchase_columns])
    Zt = embedding.transform(data.target[data.purchase_columns])
    Zs_aligned = coral(Zs, Zt, reg=CORAL_REG, standardize=CORAL_STANDARDIZE)
    axes = ["z01", "z02"]
    return plot_embedding_space(
        Zs[axes],
        Zt[axes],
        Zs_aligned[axes],
        xlabel="嵌入第 1 维 z01（主流品类的购买量）",
        ylabel="嵌入第 2 维 z02（特价品偏好）",
        random_state=seed,
    )


def figure_3(seed: int = 0, n_source: int = 100_000) -> Figure:
    """Recompute and draw Figure 3 with chapter 3's settings.

    Holds out 20% of the simulated source users, fits the purchase embedding on
    the source, and fits :func:`make_participation_model` on the training users in
    two spaces: (age, log visit frequency) and (interaction :math:`-a r`, ``z02``).
    Both panels show held-out users and report held-out accuracy.

    Parameters
    ----------
    seed : int, default=0
        Seed of the simulation, the train/test split and the plotted subsample.
    n_source : int, default=100_000
        Number of source users to simulate (smaller values for quick tests).
    """
    data = simulate_course_data(n_source=n_source, seed=seed)
    source = data.source
    embedding = PurchaseEmbedding(n_components=50).fit(source[data.purchase_columns])
    Zs = embedding.transform(source[data.purchase_columns])
    a = (source["age"] - 40) / 12
    r = np.log(source["income"] / 8) / 0.5
    spaces = pd.DataFrame(
        {
            "age": source["age"].astype(float),
            "log_visit": np.log(source["visit_freq"]),
            "neg_age_x_income": -a * r,
            "z02": Zs["z02"],
        },
        index=source.index,
    )
    ys = source["participate"]
    train, test = train_test_split(source.index, test_size=0.2, random_state=seed)
    panels = []
    for columns, xlabel, ylabel in (
        (["age", "log_visit"], "年龄（岁）", "每月到访次数的对数"),
        (
            ["neg_age_x_income", "z02"],
            "交互特征 $-a\\cdot r$",
            "嵌入第 2 维 z02（特价品偏好）",
        ),
    ):
        model = make_participation_model().fit(
            spaces.loc[train, columns], ys.loc[train]
        )
        X_test = spaces.loc[test, columns]
        accuracy = float(accuracy_score(ys.loc[test], model.predict(X_test)))
        panels.append(SeparabilityPanel(X_test, model, xlabel, ylabel, accuracy))
    return plot_separability(panels[0], panels[1], ys.loc[test], random_state=seed)
