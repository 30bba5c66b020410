"""The decomposed objectives against shuffled and coin-flip reward controls on two-procedure addition
(docs/objectives.md). Run: `make science-two-procedure`, or `python -m experiments.two_procedure.run` (`--smoke`: every
stage with tiny settings) then `python -m experiments.two_procedure.quote_results`."""
