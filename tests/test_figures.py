"""The committed figures in figures/ must match what the code draws now."""

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.testing.compare import compare_images

from tabtransfer.figures import FIGURES, save_figure

FIGURE_DIR = Path(__file__).resolve().parents[1] / "figures"

# Root-mean-square pixel difference allowed (0-255 scale): absorbs anti-aliasing
# differences between FreeType builds, not a changed number or label.
TOLERANCE = 2.0


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_committed_figure_is_current(name, tmp_path):
    committed = FIGURE_DIR / f"{name}.png"
    assert committed.is_file(), f"{committed} is missing. Run: python -m tabtransfer.figures"
    assert (FIGURE_DIR / f"{name}.svg").is_file(), f"{name}.svg is missing. Run: python -m tabtransfer.figures"
    fig = FIGURES[name]()
    fresh_png, _ = save_figure(fig, tmp_path, name)
    plt.close(fig)
    difference = compare_images(str(committed), str(fresh_png), tol=TOLERANCE)
    assert difference is None, f"{committed.name} is stale ({difference}). Run: python -m tabtransfer.figures"


def test_cli_rejects_unknown_name():
    from tabtransfer.figures import main

    with pytest.raises(SystemExit):
        main(["no_such_figure"])
