"""Graded checks for the initialization notebook (see helpers.checks.core)."""
