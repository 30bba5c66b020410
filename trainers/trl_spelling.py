"""A TRL user's spelling of main.py's command line: our options under TRL's names (``--model_name_or_path``),
switches with a value (``--use_peft false``), and the words left over, which are TRL's own fields
(trainers/trl_fields.py, imported only when there are some)."""

from __future__ import annotations

import argparse

from rlvr.errors import UserError
from trainers.trl_names import TRL_ALIASES


def add_trl_aliases(parser: argparse.ArgumentParser) -> None:
    """Our options under TRL's names for them too (listed in --help), spelt with underscores or dashes."""
    actions = {action.dest: action for action in parser._actions if action.option_strings}
    for dest, names in TRL_ALIASES.items():
        for name in names:
            actions[dest].option_strings.append("--" + name)
            for flag in ("--" + name, "--" + name.replace("_", "-")):
                parser._option_string_actions[flag] = actions[dest]


TRUE_WORDS, FALSE_WORDS = ("true", "yes", "1"), ("false", "no", "0")


def booleans_as_flags(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--use_peft true`` / ``--lora false``, as HfArgumentParser takes booleans, as our switches
    (``--lora`` / ``--no-lora``); a switch without a value stays as it is."""
    words: list[str] = []
    for word in argv:
        action = parser._option_string_actions.get(words[-1].replace("_", "-")) if words else None
        value = word.lower()
        if isinstance(action, argparse._StoreTrueAction | argparse.BooleanOptionalAction) and value in (
            *TRUE_WORDS,
            *FALSE_WORDS,
        ):
            flag = words.pop()
            if value in TRUE_WORDS:
                words.append(flag)
            elif isinstance(action, argparse.BooleanOptionalAction):
                words.append("--no-" + action.option_strings[0].removeprefix("--"))
            continue
        words.append(word)
    return words


def trl_fields(mode: str, config_path: str | None, yaml_trl: dict, leftover: list[str]) -> dict:
    """``trl_args`` and the options TRL's names translate to, from the file's other keys and then the command
    line's other words (the command line wins). TRL is imported only when there are some."""
    if leftover and not leftover[0].startswith("--"):
        raise UserError(f"unrecognized arguments: {' '.join(leftover)}")
    if not (yaml_trl or leftover):
        return {}
    from trainers.trl_fields import parse_trl_fields, trl_field_names, yaml_values_as_flags

    where = f"config file {config_path}"
    known = trl_field_names(mode)
    for key in yaml_trl:
        if str(key).lstrip("-").replace("-", "_") not in known:
            raise UserError(f"{where}: unknown option {key!r} (neither main.py's nor TRL's for --mode {mode})")
    trl_args, ours = parse_trl_fields(mode, yaml_values_as_flags(yaml_trl, where), error_prefix=f"{where}: ")
    typed_args, typed_ours = parse_trl_fields(mode, leftover)
    return {**ours, **typed_ours, "trl_args": {**trl_args, **typed_args}}


def set_on_command_line(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """Our options the command line itself sets (to something other than their default): a TRL field of the
    config file that translates to one of them yields to it."""
    given = vars(parser.parse_known_args(argv)[0])
    return {name for name, value in given.items() if value != parser.get_default(name)}
