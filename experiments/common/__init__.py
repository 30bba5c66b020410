"""What the experiments share: running steps as subprocesses (steps), per-problem Pass@k and bootstrap intervals
(stats), and policy entropy of checkpoints (policy_entropy: `python -m experiments.common.policy_entropy --help`)."""
