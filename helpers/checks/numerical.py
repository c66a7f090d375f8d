"""Graded checks for the numerical notebook (see helpers.checks.core)."""
