"""Graded checks for the normalization notebook (see helpers.checks.core)."""
