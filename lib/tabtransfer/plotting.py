"""Plot style of the course: one blue palette, fixed domain colours, a CJK font.

Every figure in the book and in ``figures/`` is drawn after :func:`set_style`,
which ``import tabtransfer`` calls once. Chapters never register fonts themselves.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

#: Colours of the domains, used the same way in every figure.
COLORS = {
    "source": "#0b3c78",  # e-commerce users (source domain), navy
    "target": "#4fa3d9",  # supermarket users (target domain), sky blue
    "aligned": "#7a6fc2",  # source after alignment, blue-violet
    "neutral": "#8c8c8c",  # baselines and reference lines
    "accent": "#d9622b",  # the one warm colour: failures and negative transfer
}

#: Sequential blue palette for bars and lines that are not a domain.
BLUES = ["#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1", "#c6dbef"]

#: Family name of the CJK font shipped by the ``mplfonts`` package.
CJK_FONT = "Noto Sans CJK SC"
_CJK_FILE = "NotoSansCJKsc-Regular.otf"


def _register_cjk_font() -> str:
    """Register the Noto Sans CJK SC file from ``mplfonts`` and return its family name."""
    try:
        import mplfonts
    except ImportError as error:  # pragma: no cover - mplfonts is a hard dependency
        raise ImportError(
            "The CJK font comes from the 'mplfonts' package, which is not installed. "
            "Install the course requirements: pip install -r requirements.txt"
        ) from error
    font_file = Path(mplfonts.__file__).parent / "fonts" / _CJK_FILE
    if not font_file.is_file():
        raise FileNotFoundError(
            f"CJK font file not found: {font_file}. Reinstall mplfonts "
            "(pip install --force-reinstall mplfonts)."
        )
    font_manager.fontManager.addfont(str(font_file))
    return font_manager.FontProperties(fname=str(font_file)).get_name()


def set_style() -> None:
    """Apply the course's matplotlib style.

    Registers Noto Sans CJK SC, makes it the first sans-serif family with DejaVu Sans
    as the fallback for glyphs it lacks, keeps the true minus sign (U+2212, which the
    CJK font contains), and sets the blue colour cycle. Safe to call more than once.
    """
    family = _register_cjk_font()
    mpl.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [family, "DejaVu Sans"],
            "axes.unicode_minus": True,
            "axes.prop_cycle": mpl.cycler(
                color=[COLORS["source"], COLORS["target"], COLORS["aligned"], *BLUES[2:]]
            ),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "svg.fonttype": "path",
            "font.size": 11,
        }
    )
