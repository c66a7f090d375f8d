"""Graded checks for the gradcheck notebook (see helpers.checks.core)."""
