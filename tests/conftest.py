"""Shared pytest configuration: a non-interactive matplotlib backend."""

import matplotlib

matplotlib.use("Agg")

# Fixture notebooks (e.g. hostile submissions) are data, not notebooks for nbval to run.
collect_ignore_glob = ["fixtures/*", "fixtures/**/*",
                       # test artifacts: screenshots, a built student bundle and its environment
                       "artifacts/*", "artifacts/**/*"]

# Property tests: fresh random examples on developers' machines (to find new cases), a fixed
# derivation under CI (CI=true), so a landing does not depend on the luck of one draw.
import os  # noqa: E402

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
