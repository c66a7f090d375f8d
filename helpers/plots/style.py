"""Plot defaults shared by every notebook (the setup cell calls :func:`apply_style`)."""

import math
import re

import matplotlib as mpl
from matplotlib import ticker

from helpers._validation import check_nonnegative_float


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


def power_of_ten(x) -> str:
    """The power of ten nearest to ``x`` on a log scale, as text: ``power_of_ten(8.46e-58) == "10⁻⁵⁷"``.

    How a notebook prints a quantity that explodes or vanishes through many layers: its order
    of magnitude is the lesson, and it is what every machine reproduces. The leading digits of
    a product of 50 matrices can depend on the processor (each BLAS kernel rounds the last bit
    of a matrix product its own way, and a chaotic network amplifies that difference).

    Parameters
    ----------
    x : float
        A finite number >= 0 (a standard deviation, a norm).

    Returns
    -------
    str
        ``10**k`` written like the log-axis labels of the figures (``10⁻⁵⁷``, ``10⁰``, ``10¹⁷``),
        with ``k = round(log10(x))``: every value from ``10**(k - 0.5)`` to ``10**(k + 0.5)``
        (a factor of about 3.16 either side) reads the same. ``"0"`` for 0.
    """
    x = check_nonnegative_float(x, "x")
    if x == 0:
        return "0"
    return "10" + str(round(math.log10(x))).translate(_SUPERSCRIPTS)
