"""rlvr: the domain every stage shares (tasks, models, data, method names, errors, files).

It imports none of the stages (trainers/, evaluation/, experiments/) and none of the scripts; docs/architecture.md
draws the layers.
"""
