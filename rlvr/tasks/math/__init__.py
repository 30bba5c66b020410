"""The MATH task: competition problems with a \\boxed{} answer, checked with math-verify (see task.py)."""
