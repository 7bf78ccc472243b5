"""Interop programs, runner and proxy for ``make interop`` (not pytest tests)."""
