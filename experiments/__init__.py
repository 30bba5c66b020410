"""Experiments that run the project's own commands end to end and write their results to docs/results/."""
