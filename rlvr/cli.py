"""The finishing touches every command's parser gets: help that shows every default, so a user never has to read
the code to learn one; a bad option reported as one line (exit code 2) instead of argparse's usage block; no
abbreviated options (``--learning 0`` is refused, not taken for ``--learning-rate 0``); and every ``--dashed-flag``
also spelt ``--dashed_flag``, as transformers' HfArgumentParser and TRL's scripts spell them."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from typing import NoReturn

from rlvr.errors import UserError


class DefaultOnceFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's "(default: ...)" after each option's help, unless the help already says its default in words
    ("(default: the task's embedded dataset)"): each default is printed once."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.help and "(default: " in action.help:
            return action.help
        return super()._get_help_string(action)


def show_every_default(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give each option without help text one that shows its default.

    argparse's ArgumentDefaultsHelpFormatter adds "(default: ...)" only to options that have help text, so options
    left without one would hide their default; this fills them in. Returns the parser for chaining.
    """
    parser.formatter_class = DefaultOnceFormatter
    for action in parser._actions:
        if action.option_strings and action.default is not argparse.SUPPRESS and not action.help:
            action.help = "(default: %(default)s)"  # a blank help text would be dropped, default and all
    return parser


def finish_parser(parser: argparse.ArgumentParser, error_prefix: str = "") -> argparse.ArgumentParser:
    """Every default shown in --help, and parse errors raised as UserError (one line under exit_on_user_error),
    prefixed with ``error_prefix`` (where the values came from, e.g. a config file)."""

    def one_line_error(message: str) -> NoReturn:
        raise UserError(f"{error_prefix}{message}")

    parser.error = one_line_error  # type: ignore[method-assign]
    parser.allow_abbrev = False  # argparse reads it at parse time: a prefix of a flag is an unknown flag
    accept_underscore_spellings(parser)
    return show_every_default(parser)


def accept_underscore_spellings(parser: argparse.ArgumentParser) -> None:
    """Let ``--num_generations`` mean ``--num-generations`` (and ``--no_lora`` mean ``--no-lora``).

    Each word spelt with underscores whose dashed spelling is a flag is read as that flag, before argparse sees it;
    --help lists each option once. Other words are left as they are.
    """
    parse_known_args = parser.parse_known_args

    def dashed_parse_known_args(args=None, namespace=None):
        words = sys.argv[1:] if args is None else list(args)
        return parse_known_args([_dashed(parser, word) for word in words], namespace)

    parser.parse_known_args = dashed_parse_known_args  # type: ignore[method-assign]


def _dashed(parser: argparse.ArgumentParser, word: str) -> str:
    if not word.startswith("--") or "_" not in word:
        return word
    name, equals, value = word.partition("=")
    spelt = "--" + name[2:].replace("_", "-")
    return spelt + equals + value if spelt in parser._option_string_actions else word


# Warnings our dependencies raise about each other, which a user can do nothing about. Each is named here, filtered
# by its text, so a new warning still shows.
KNOWN_DEPENDENCY_WARNINGS = (
    # TRL 1.16 still calls transformers' gradient_checkpointing* methods, renamed activation_checkpointing* in v5.
    (FutureWarning, r"`(is_)?gradient_checkpointing(_enable|_disable)?` is deprecated"),
)
# DeepSpeed logs this on every import on a machine without a GPU, where it is expected.
KNOWN_DEEPSPEED_LOG = "Setting accelerator to CPU"


def filter_known_warnings() -> None:
    """Silence KNOWN_DEPENDENCY_WARNINGS and the DeepSpeed CPU notice, once per process, before the imports that
    raise them."""
    for category, pattern in KNOWN_DEPENDENCY_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern, category=category)
    logging.getLogger("DeepSpeed").addFilter(lambda record: KNOWN_DEEPSPEED_LOG not in record.getMessage())


def forget_unused_wandb_mode() -> None:
    """Drop WANDB_MODE=offline for a command that does not report to wandb: transformers prints "Running in WANDB
    offline mode" on import whenever it is set, which would tell the user that wandb logs when it does not."""
    if os.environ.get("WANDB_MODE") == "offline":
        del os.environ["WANDB_MODE"]
