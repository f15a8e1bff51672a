"""The course figures, drawn from measured results, and the command that regenerates them.

Each chapter draws its figure with the plotting function here, from numbers it has
just computed. ``python -m tabtransfer.figures`` recomputes the same results with the
same package functions and writes every figure to ``figures/`` as PNG (slides, README)
and SVG (print). ``tests/test_figures.py`` fails when a committed PNG is stale.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.ticker import PercentFormatter

from tabtransfer.participation import MotivationResult, run_motivation
from tabtransfer.plotting import COLORS
from tabtransfer.casestudy import figure_4
from tabtransfer.viz_paradigms import figure_paradigms
from tabtransfer.viz_space import figure_2, figure_3

__all__ = ["FIGURES", "plot_transfer_flow", "save_figure", "main"]

#: Seed of every figure in ``figures/``; the chapters use the same one.
FIGURE_SEED = 0


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def _domain_box(ax, x: float, y: float, width: float, height: float, color: str, lines: list[str]) -> None:
    box = FancyBboxPatch(
        (x, y), width, height, boxstyle="round,pad=0.02,rounding_size=0.04",
        linewidth=2, edgecolor=color, facecolor=color + "22",
    )
    ax.add_patch(box)
    ax.text(x + width / 2, y + height - 0.07, lines[0], ha="center", va="top", fontsize=13, color=color)
    for i, line in enumerate(lines[1:]):
        ax.text(x + width / 2, y + height - 0.22 - 0.11 * i, line, ha="center", va="top", fontsize=10.5)


def plot_transfer_flow(result: MotivationResult) -> Figure:
    """Draw Figure 1: source domain, the transfer map T, target domain, with accuracies.

    Parameters
    ----------
    result : MotivationResult
        Output of :func:`tabtransfer.participation.run_motivation`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = plt.figure(figsize=(10, 5.6))
    grid = fig.add_gridspec(2, 1, height_ratios=[1.35, 1], hspace=0.25)
    flow = fig.add_subplot(grid[0])
    flow.set_xlim(-0.01, 1.01)
    flow.set_ylim(0, 1)
    flow.axis("off")

    _domain_box(
        flow, 0.02, 0.08, 0.34, 0.84, COLORS["source"],
        ["源域 $D_s=(X_s, Y_s)$", f"电商用户 {result.n_source:,} 人", "特征 $X_s$：年龄、收入、到访频次、", "购买行为嵌入 $z \\in \\mathbb{R}^{50}$",
         f"标签 $Y_s$：是否参与促销"],
    )
    _domain_box(
        flow, 0.64, 0.08, 0.34, 0.84, COLORS["target"],
        ["目标域 $D_t=(X_t, Y_t)$", f"新超市用户 {result.n_target:,} 人", "同样的特征与标签，", "但年龄更大、到访更少、", "更常买特价品"],
    )
    arrow = FancyArrowPatch((0.37, 0.5), (0.63, 0.5), arrowstyle="-|>", mutation_scale=25,
                            linewidth=2.5, color=COLORS["neutral"])
    flow.add_patch(arrow)
    flow.text(0.5, 0.62, "迁移 $T$", ha="center", fontsize=13)
    flow.text(0.5, 0.36, "让源域学到的知识\n在目标域上可用", ha="center", va="top", fontsize=10)

    bars = fig.add_subplot(grid[1])
    labels = ["源域留出用户", "目标域：直接套用", "目标域：多数类基线"]
    values = [result.accuracy_source, result.accuracy_target, result.majority_target]
    colors = [COLORS["source"], COLORS["target"], COLORS["neutral"]]
    positions = range(len(labels))[::-1]
    bars.barh(list(positions), values, color=colors, height=0.6)
    for position, value in zip(positions, values):
        bars.text(value + 0.005, position, _percent(value), va="center", fontsize=11)
    bars.set_yticks(list(positions), labels)
    bars.set_xlim(0, 1)
    bars.xaxis.set_major_formatter(PercentFormatter(xmax=1))
    bars.set_xlabel("促销参与模型的准确率")
    bars.grid(axis="y", visible=False)
    return fig


def _figure_1() -> Figure:
    return plot_transfer_flow(run_motivation(seed=FIGURE_SEED))


#: Figure name (file stem in ``figures/``) and the function that draws it.
FIGURES: dict[str, Callable[[], Figure]] = {
    "fig1_transfer_flow": _figure_1,
    "fig2_embedding_space": figure_2,
    "fig3_separability": figure_3,
    "fig4_case_study": figure_4,
    "fig_ch04_paradigms": figure_paradigms,
}


def save_figure(fig: Figure, directory: Path | str, name: str) -> list[Path]:
    """Save ``fig`` as ``name.png`` and ``name.svg`` in ``directory``; return the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in ("png", "svg"):
        path = directory / f"{name}.{suffix}"
        # A fixed creation date keeps the SVG identical between runs.
        metadata = {"Date": None} if suffix == "svg" else {"Software": None}
        fig.savefig(path, metadata=metadata)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    """Regenerate the course figures (command line entry point)."""
    parser = argparse.ArgumentParser(description="Regenerate the course figures as PNG and SVG.")
    parser.add_argument("names", nargs="*", help=f"figures to draw (default: all of {sorted(FIGURES)})")
    parser.add_argument("--out", default="figures", help="output folder (default: figures)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure names {unknown}; choose from {sorted(FIGURES)}")
    for name in args.names or sorted(FIGURES):
        fig = FIGURES[name]()
        for path in save_figure(fig, args.out, name):
            print(path)
        plt.close(fig)


if __name__ == "__main__":
    main()
