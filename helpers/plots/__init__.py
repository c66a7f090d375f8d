"""Figures the notebooks reuse. Each function returns a matplotlib Figure; none calls
``plt.show()``. One module per topic."""

from helpers.plots.style import apply_style, power_of_ten  # noqa: F401
