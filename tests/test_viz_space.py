"""Tests of the chapter 2 and 3 figures (tabtransfer.viz_space)."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.contour import ContourSet
from sklearn.linear_model import LogisticRegression

import tabtransfer  # noqa: F401  (sets the CJK font used by the figure text)
from tabtransfer.viz_space import (
    SeparabilityPanel,
    figure_2,
    figure_3,
    plot_embedding_space,
    plot_separability,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _clouds(n_source=500, n_target=80, seed=0):
    rng = np.random.default_rng(seed)
    Zs = pd.DataFrame(rng.normal(size=(n_source, 2)), columns=["z01", "z02"])
    Zt = pd.DataFrame(
        rng.normal(loc=3.0, scale=0.5, size=(n_target, 2)), columns=["z01", "z02"]
    )
    return Zs, Zt


def _source_offsets(ax):
    # The first collection of each panel is the (moved) source, the second the target.
    return ax.collections[0].get_offsets().data, ax.collections[1].get_offsets().data


def test_embedding_space_same_users_in_both_panels():
    Zs, Zt = _clouds()
    shift = np.array([2.0, -1.0])
    fig = plot_embedding_space(
        Zs, Zt, Zs + shift, xlabel="x", ylabel="y", max_points=200
    )
    left, right = fig.axes
    left_source, _ = _source_offsets(left)
    right_source, _ = _source_offsets(right)
    assert left_source.shape == (200, 2)
    np.testing.assert_allclose(right_source - left_source, np.tile(shift, (200, 1)))


def test_embedding_space_draws_every_target_user():
    Zs, Zt = _clouds()
    fig = plot_embedding_space(Zs, Zt, Zs, xlabel="x", ylabel="y", max_points=100)
    for ax in fig.axes:
        _, target = _source_offsets(ax)
        assert target.shape == (len(Zt), 2)


def test_embedding_space_panels_share_limits():
    Zs, Zt = _clouds()
    fig = plot_embedding_space(Zs, Zt, Zs * 0.1 + 3.0, xlabel="x", ylabel="y")
    left, right = fig.axes
    assert left.get_xlim() == right.get_xlim()
    assert left.get_ylim() == right.get_ylim()
    # The limits cover every point drawn in either panel.
    low, high = left.get_xlim()
    assert low <= min(Zs["z01"].min(), Zt["z01"].min())
    assert high >= max(Zs["z01"].max(), Zt["z01"].max())


def test_embedding_space_subsample_is_seeded():
    Zs, Zt = _clouds()
    first = plot_embedding_space(
        Zs, Zt, Zs, xlabel="x", ylabel="y", max_points=50, random_state=3
    )
    second = plot_embedding_space(
        Zs, Zt, Zs, xlabel="x", ylabel="y", max_points=50, random_state=3
    )
    np.testing.assert_array_equal(
        _source_offsets(first.axes[0])[0], _source_offsets(second.axes[0])[0]
    )


def test_embedding_space_rejects_three_columns():
    Zs, Zt = _clouds()
    wide = Zs.assign(z03=0.0)
    with pytest.raises(ValueError, match="exactly 2 columns"):
        plot_embedding_space(wide, Zt, wide, xlabel="x", ylabel="y")


def test_embedding_space_rejects_row_mismatch():
    Zs, Zt = _clouds()
    with pytest.raises(ValueError, match="same source users"):
        plot_embedding_space(Zs, Zt, Zs.iloc[:-1], xlabel="x", ylabel="y")


def test_embedding_space_rejects_nan():
    Zs, Zt = _clouds()
    broken = Zt.copy()
    broken.iloc[0, 0] = np.nan
    with pytest.raises(ValueError):
        plot_embedding_space(Zs, broken, Zs, xlabel="x", ylabel="y")


def test_embedding_space_rejects_bad_max_points():
    Zs, Zt = _clouds()
    with pytest.raises(ValueError, match="max_points"):
        plot_embedding_space(Zs, Zt, Zs, xlabel="x", ylabel="y", max_points=0)


def _separable_panel(seed=0, n=400):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 2)), columns=["u", "v"])
    y = (X["u"] + 2 * X["v"] > 0.3).astype(int).to_numpy()
    model = LogisticRegression().fit(X, y)
    return X, y, model


def _boundary_points(ax):
    """Vertices of the unfilled 0.5 contour drawn in a panel."""
    lines = [c for c in ax.collections if isinstance(c, ContourSet) and not c.filled]
    assert len(lines) == 1, f"expected one contour line, found {len(lines)}"
    return np.vstack(
        [path.vertices for path in lines[0].get_paths() if len(path.vertices)]
    )


def _scatter_points(ax) -> int:
    return sum(
        len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)
    )


def test_separability_line_at_half_probability():
    X, y, model = _separable_panel()
    panel = SeparabilityPanel(X, model, "u", "v", accuracy=1.0)
    fig = plot_separability(panel, panel, y)
    points = _boundary_points(fig.axes[0])
    probability = model.predict_proba(pd.DataFrame(points, columns=["u", "v"]))[:, 1]
    np.testing.assert_allclose(probability, 0.5, atol=0.02)


def test_separability_prints_each_accuracy():
    X, y, model = _separable_panel()
    fig = plot_separability(
        SeparabilityPanel(X, model, "u", "v", accuracy=0.536),
        SeparabilityPanel(X, model, "u", "v", accuracy=0.779),
        y,
    )
    texts = [[text.get_text() for text in ax.texts] for ax in fig.axes]
    assert any("53.6%" in text for text in texts[0])
    assert any("77.9%" in text for text in texts[1])


def test_separability_subsamples_points():
    X, y, model = _separable_panel(n=1000)
    panel = SeparabilityPanel(X, model, "u", "v", accuracy=1.0)
    fig = plot_separability(panel, panel, y, max_points=300)
    assert _scatter_points(fig.axes[0]) == 300


def test_separability_rejects_non_binary_labels():
    X, y, model = _separable_panel()
    panel = SeparabilityPanel(X, model, "u", "v", accuracy=1.0)
    with pytest.raises(ValueError, match="only 0 and 1"):
        plot_separability(panel, panel, y + 1)


def test_separability_rejects_model_without_probabilities():
    X, y, _ = _separable_panel()
    panel = SeparabilityPanel(X, object(), "u", "v", accuracy=1.0)
    with pytest.raises(ValueError, match="predict_proba"):
        plot_separability(panel, panel, y)


def test_separability_rejects_length_mismatch():
    X, y, model = _separable_panel()
    panel = SeparabilityPanel(X, model, "u", "v", accuracy=1.0)
    with pytest.raises(ValueError, match="same users"):
        plot_separability(panel, panel, y[:-1])


def test_separability_rejects_accuracy_in_percent():
    X, y, model = _separable_panel()
    good = SeparabilityPanel(X, model, "u", "v", accuracy=1.0)
    percent = SeparabilityPanel(X, model, "u", "v", accuracy=77.9)
    with pytest.raises(ValueError, match="fraction"):
        plot_separability(good, percent, y)


def _printed_accuracy(ax) -> float:
    for text in ax.texts:
        match = re.search(r"([0-9.]+)%", text.get_text())
        if match:
            return float(match.group(1))
    raise AssertionError("no accuracy printed in the panel")


def test_figure_2_draws_two_domains_in_two_panels():
    fig = figure_2(n_source=3_000)
    assert len(fig.axes) == 2
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert any("源域" in label for label in labels)
    assert any("目标域" in label for label in labels)
    # Rendering raises on a missing CJK glyph (pytest turns that warning into an error).
    fig.canvas.draw()


def test_figure_2_alignment_moves_source_toward_target():
    fig = figure_2(n_source=3_000)
    left, right = fig.axes
    source_before, target = _source_offsets(left)
    source_after, _ = _source_offsets(right)
    gap_before = np.linalg.norm(source_before.mean(axis=0) - target.mean(axis=0))
    gap_after = np.linalg.norm(source_after.mean(axis=0) - target.mean(axis=0))
    assert gap_after < 0.2 * gap_before


def test_figure_3_interaction_space_beats_raw_space():
    fig = figure_3(n_source=6_000)
    left, right = (ax for ax in fig.axes if ax.texts)
    assert _printed_accuracy(right) > _printed_accuracy(left) + 5
    fig.canvas.draw()
