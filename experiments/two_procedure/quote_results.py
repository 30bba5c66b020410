"""Quote the generated report's verdicts into docs/objectives.md, so the page says nothing the report does not.

    python -m experiments.two_procedure.quote_results  # after experiments.two_procedure.run (the Makefile runs both)

The block between the two markers in docs/objectives.md is replaced by the report's gate line, its learning-rate
line, its line on reproducing the published run (when it has one) and its predictions with their verdicts and
intervals, verbatim.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rlvr.errors import UserError, exit_on_user_error
from rlvr.files import claim_output, write_atomically

REPO_ROOT = Path(__file__).resolve().parents[2]
START = "<!-- quoted from results/objectives_toy.md by experiments/two_procedure/quote_results.py: start -->"
END = "<!-- quoted: end -->"


def quoted_lines(report: str) -> list[str]:
    """The gate's and the learning rate's verdict lines, then the section of predictions, as the report has them."""
    lines = report.splitlines()
    verdicts = [line for line in lines if line.startswith(("**Gate:", "**Learning rate:"))]
    if "## The predictions, with verdicts" not in lines or len(verdicts) != 2:
        raise UserError("the report has no gate, learning-rate or predictions section; rerun the experiment")
    start = lines.index("## The predictions, with verdicts") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    reproduction = [line for line in lines if line.startswith("**Reproduction:")]
    return [*verdicts, *reproduction, *lines[start:end]]


def replace_block(page: str, quoted: Sequence[str]) -> str:
    if page.count(START) != 1 or page.count(END) != 1 or page.index(START) > page.index(END):
        raise UserError(f"the page needs the markers {START!r} and {END!r} once each, in that order")
    before, rest = page.split(START)
    _, after = rest.split(END)
    return before + START + "\n" + "\n".join(quoted).strip("\n") + "\n" + END + after


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=REPO_ROOT / "docs" / "results" / "objectives_toy.md")
    parser.add_argument("--page", type=Path, default=REPO_ROOT / "docs" / "objectives.md")
    args = parser.parse_args(argv)
    for path in (args.report, args.page):
        if not path.is_file():
            raise UserError(f"{path} does not exist")
    with claim_output([args.page], "--page", inputs=[args.report], overwrite=True) as (page_path,):  # edited in place
        write_atomically(page_path, replace_block(page_path.read_text(), quoted_lines(args.report.read_text())))
    print(f"quoted the verdicts of {args.report} into {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
