"""helpers.plots.style: plain-text log labels, the inline backend without a tight bbox, power_of_ten."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers.plots.style import PowerOfTenFormatter, plain_log_labels, power_of_ten

_FROM_SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def _value_of(label: str) -> float:
    """Read ``10⁻⁵⁷`` or ``2×10⁻¹`` back as a number (the oracle: a label must name its tick)."""
    mantissa, _, power = label.rpartition("10")
    mantissa = mantissa.rstrip("×")
    return (float(mantissa) if mantissa else 1.0) * 10.0 ** int(power.translate(_FROM_SUPERSCRIPT) or "1")


def _drawn_labels(axis) -> list:
    axis.figure.draw_without_rendering()  # lays out the ticks and their labels
    ticks = list(axis.get_major_ticks()) + list(axis.get_minor_ticks())
    return [(t.get_loc(), t.label1.get_text()) for t in ticks if t.label1.get_visible() and t.label1.get_text()]


@pytest.mark.parametrize(
    ("low", "high"),
    [(1e-57, 1.0), (1e-3, 1e3), (0.07, 0.7), (2e-3, 4e-3), (1e-200, 1e200), (1.0, 10.0)],
)
def test_log_labels_are_plain_text_and_name_their_ticks(low, high):
    fig = Figure()
    ax = fig.add_subplot()
    ax.semilogy([0, 1], [low, high])
    ax.set_ylim(low, high)
    plain_log_labels(ax)
    labels = _drawn_labels(ax.yaxis)
    assert labels, "no labelled tick at all"
    for loc, text in labels:
        assert "$" not in text and "\\" not in text, text
        np.testing.assert_allclose(_value_of(text), loc, rtol=1e-9)


def test_only_log_axes_change():
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([1, 10], [1, 100])
    ax.set_yscale("log")
    plain_log_labels(ax)
    assert isinstance(ax.yaxis.get_major_formatter(), PowerOfTenFormatter)
    assert not isinstance(ax.xaxis.get_major_formatter(), PowerOfTenFormatter)


@pytest.mark.parametrize("label", [r"$\mathdefault{\sqrt{10}}$", "1e-05", ""])
def test_a_label_it_cannot_rewrite_is_kept(monkeypatch, label):
    from matplotlib import ticker

    monkeypatch.setattr(ticker.LogFormatterSciNotation, "__call__", lambda self, x, pos=None: label)
    assert PowerOfTenFormatter()(10.0) == label


INLINE = textwrap.dedent(
    """
    import sys
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure
    from matplotlib_inline.config import InlineBackend

    formats = set(sys.argv[1].split(",")) - {""}
    shell = InteractiveShell.instance()
    config = InlineBackend.instance(shell=shell)
    config.figure_formats = formats
    from helpers.plots import apply_style

    apply_style()
    png = shell.display_formatter.formatters["image/png"]
    try:
        printer = png.lookup(Figure())
    except KeyError:
        print("no png")
    else:
        print("png", printer.keywords.get("bbox_inches", "tight"))
    """
)


@pytest.mark.parametrize(("formats", "expected"), [("png", "png None"), ("", "no png")])
def test_apply_style_drops_the_tight_bbox_and_keeps_the_kernels_formats(formats, expected):
    # a fresh interpreter: IPython's shell and the inline backend's config are process-wide singletons
    out = subprocess.run([sys.executable, "-c", INLINE, formats], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


def test_apply_style_outside_a_kernel_is_harmless():
    out = subprocess.run(
        [sys.executable, "-c", "from helpers.plots import apply_style; apply_style(); print('ok')"],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (8.46e-58, "10⁻⁵⁷"), (1.0, "10⁰"), (0.357, "10⁰"), (0.31, "10⁻¹"), (9.99, "10¹"),
        (1.22e17, "10¹⁷"), (3.2e16, "10¹⁷"), (3.1e16, "10¹⁶"), (np.float64(2.68e-8), "10⁻⁸"),
        (5e-324, "10⁻³²³"), (1.7e308, "10³⁰⁸"), (0, "0"), (7, "10¹"),
    ],
)
def test_power_of_ten_is_the_nearest_on_a_log_scale(x, expected):
    assert power_of_ten(x) == expected
    if x:  # it reads back (with the labels' oracle) as 10**k within a factor sqrt(10)
        assert abs(np.log10(_value_of(power_of_ten(x))) - np.log10(float(x))) <= 0.5


@pytest.mark.parametrize(("x", "error"), [(-1.0, ValueError), (float("nan"), ValueError), (np.inf, ValueError),
                                          ("1e3", TypeError), (True, TypeError)])
def test_power_of_ten_rejects_what_has_no_order_of_magnitude(x, error):
    with pytest.raises(error, match="x must be"):
        power_of_ten(x)
