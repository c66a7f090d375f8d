"""Plot defaults shared by every notebook (the setup cell calls :func:`apply_style`)."""

import matplotlib as mpl


def apply_style() -> None:
    """Readable, deterministic defaults: fixed size and DPI, no timestamps in metadata."""
    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 90,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "dl-opt-setup",
    })
