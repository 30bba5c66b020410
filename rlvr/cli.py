"""Command-line help that shows every default, so a user never has to read the code to learn one."""

from __future__ import annotations

import argparse


def show_every_default(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give each option without help text one that shows its default.

    argparse's ArgumentDefaultsHelpFormatter adds "(default: ...)" only to options that have help text, so options
    left without one would hide their default; this fills them in. Returns the parser for chaining.
    """
    parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    for action in parser._actions:
        if action.option_strings and action.default is not argparse.SUPPRESS and not action.help:
            action.help = "(default: %(default)s)"  # a blank help text would be dropped, default and all
    return parser
