"""Shared pytest configuration: a non-interactive matplotlib backend."""

import matplotlib

matplotlib.use("Agg")

# Fixture notebooks (e.g. hostile submissions) are data, not notebooks for nbval to run.
collect_ignore_glob = ["fixtures/*", "fixtures/**/*"]
