"""Plot defaults shared by every notebook (the setup cell calls :func:`apply_style`)."""

import re

import matplotlib as mpl
from matplotlib import ticker


def apply_style() -> None:
    """Readable, deterministic defaults: fixed size and DPI, no timestamps in metadata.

    In a Jupyter kernel with the inline backend it also turns off the inline backend's
    ``bbox_inches="tight"``: that option draws every figure twice (once to measure it), the
    largest single cost of running a notebook of this course. Every figure of
    :mod:`helpers.plots` lays itself out inside its own canvas instead (fixed margins or
    constrained layout), so nothing is cut off. The image formats stay as the kernel has
    them: a grading kernel configured with no formats keeps drawing no images.
    """
    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 90,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.hashsalt": "dl-opt-setup",
    })
    _inline_figures_without_tight_bbox()


def _inline_figures_without_tight_bbox() -> None:
    try:
        from matplotlib_inline.config import InlineBackend
    except ImportError:  # plain Python: no inline backend to configure
        return
    if not InlineBackend.initialized():  # no kernel has set up the inline backend
        return
    config = InlineBackend.instance()
    # assigning the trait re-registers the formatters for config.figure_formats, with these kwargs
    config.print_figure_kwargs = {**config.print_figure_kwargs, "bbox_inches": None}


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class PowerOfTenFormatter(ticker.LogFormatterSciNotation):
    """Log-axis tick labels as plain text, ``10⁻⁵⁷`` and ``2×10⁻¹``, instead of mathtext.

    The same ticks and labels as matplotlib's default log formatter, written with Unicode
    superscripts: mathtext parses every new label with pyparsing (about 10 ms each), which
    made log-scale figures the slowest cells of the notebooks. A label this class cannot
    rewrite is returned as matplotlib wrote it.
    """

    def __call__(self, x, pos=None):
        label = super().__call__(x, pos)
        match = re.fullmatch(r"\$\\mathdefault\{(.*)\}\$", label)
        if match is None:
            return label
        text = match.group(1).replace(r"\times", "×")
        text = re.sub(r"\^\{(-?\d+)\}", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
        return label if "\\" in text or "{" in text else text


def plain_log_labels(ax) -> None:
    """Use :class:`PowerOfTenFormatter` on every log-scale axis of ``ax`` (call after setting the scale)."""
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            axis.set_major_formatter(PowerOfTenFormatter())
            axis.set_minor_formatter(PowerOfTenFormatter(labelOnlyBase=False))
