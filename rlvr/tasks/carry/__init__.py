"""The two-procedure addition toy: ``a+b=`` answered with a strategy tag and the sum (see problems.py)."""
