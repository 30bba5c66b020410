"""Three-strategy addition: a toy in which the paper's large-k claims can come out either way (problems.py)."""
