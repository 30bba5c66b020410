"""The Countdown arithmetic task (see task.py and docs/tasks.md)."""
