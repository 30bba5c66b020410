"""The arithmetic toy task: ``a+b*c=`` answered with the number (see task.py and docs/objectives.md)."""
