"""`make demo`: the whole pipeline on the tiny model and synthetic charts, then on the two-procedure addition toy; one
seed, no controls. Run: `python -m experiments.demo.run --output-dir runs/demo`."""
