"""rlvr: the library behind main.py, generate_samples.py and the evaluation scripts.

Layout: ``models`` (registry, offline tiny models), ``tasks`` (one sub-package per task: prompts, rewards,
datasets), ``data`` (local dataset formats). The objective math lives in ``trainers/objectives.py``.
"""
