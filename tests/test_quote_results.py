"""docs/objectives.md quotes the generated report verbatim, between its markers, and nowhere else."""

from __future__ import annotations

import pytest

from experiments.two_procedure.quote_results import END, START, quoted_lines, replace_block
from rlvr.errors import UserError

REPORT = """# Results

**Gate: passed.**

**Learning rate: chosen 3e-4.**

## The predictions, with verdicts

1. **PSR raises Pass@1 over the base**: reproduced
   - psr - base, Pass@1: +0.100 [+0.050, +0.150]

## Every arm at the end
| arm |
"""


def test_the_verdicts_are_quoted_verbatim_between_the_markers():
    page = f"intro\n{START}\nold text\n{END}\noutro\n"
    quoted = replace_block(page, quoted_lines(REPORT))
    assert "old text" not in quoted and quoted.startswith("intro\n") and quoted.endswith("outro\n")
    assert "1. **PSR raises Pass@1 over the base**: reproduced" in quoted
    assert "   - psr - base, Pass@1: +0.100 [+0.050, +0.150]" in quoted
    assert "**Learning rate: chosen 3e-4.**" in quoted and "Every arm" not in quoted


def test_a_page_without_markers_or_a_report_without_verdicts_is_refused():
    with pytest.raises(UserError, match="markers"):
        replace_block("no markers here", ["x"])
    with pytest.raises(UserError, match="rerun the experiment"):
        quoted_lines("# Results\n")


def test_the_objectives_page_has_the_markers():
    from experiments.two_procedure.quote_results import REPO_ROOT

    page = (REPO_ROOT / "docs" / "objectives.md").read_text()
    assert page.count(START) == 1 and page.count(END) == 1


def test_the_line_on_reproducing_the_published_run_is_quoted_when_the_report_has_one():
    with_check = REPORT + "\n## Against the published run\n\n**Reproduction: every number and verdict reproduced.**\n"
    assert "**Reproduction: every number and verdict reproduced.**" in quoted_lines(with_check)
    assert not any(line.startswith("**Reproduction:") for line in quoted_lines(REPORT))
