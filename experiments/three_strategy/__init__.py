"""Three-strategy addition: GRPO, PSR, NSR, W-REINFORCE, NSR in the paper's geometry and SR alone against shuffled
controls, on a toy where the paper's large-k claims can come out either way. Run: ``make science``
(``python -m experiments.three_strategy.run``); docs/objectives.md describes it, docs/results/three_strategy.md
holds its report."""
