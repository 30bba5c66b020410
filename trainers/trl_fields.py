"""Every field of TRL's config for the mode (GRPOConfig, DPOConfig or SFTConfig, each a TrainingArguments) that
main.py has no option of its own for, under TRL's name: ``--epsilon_high 0.28``, ``--epsilon-high 0.28`` or
``epsilon_high: 0.28`` in the YAML file. The fields are TRL's own dataclass fields, read at run time, and parsed by
transformers' HfArgumentParser, so each value is checked as TRL types it and forwarded unchanged.

TRL is imported only when such a field is given: main.py's own options are parsed without torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any, NoReturn

from rlvr.errors import UserError
from trainers.trl_names import TRANSLATED


def trl_config_class(mode: str):
    """The TRL config dataclass a mode's trainer takes; None for --mode eval, which trains nothing."""
    if mode == "eval":
        return None
    if mode == "dpo":
        from trl import DPOConfig

        return DPOConfig
    if mode == "sft":
        from trl import SFTConfig

        return SFTConfig
    from trl import GRPOConfig

    return GRPOConfig


def trl_field_names(mode: str) -> set[str]:
    config_class = trl_config_class(mode)
    return {field.name for field in dataclasses.fields(config_class)} if config_class else set()


def parse_trl_fields(mode: str, flags: list[str], error_prefix: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """The TRL fields set by ``flags`` (command-line words main.py's own parser left over), as (fields forwarded to
    TRL, our own options they translate to). UserError for a word that is no field of the mode's TRL config."""
    if not flags:
        return {}, {}
    config_class = trl_config_class(mode)
    if config_class is None:
        raise UserError(f"{error_prefix}--mode eval trains nothing and takes no TRL training field: {flags[0]}")
    values = vars(_field_parser(config_class, error_prefix).parse_args([_underscored(word) for word in flags]))
    values = {name: _from_json(name, value) for name, value in values.items()}
    ours = {TRANSLATED[name][0]: TRANSLATED[name][1](values.pop(name)) for name in list(values) if name in TRANSLATED}
    return values, ours


def yaml_values_as_flags(values: dict[str, Any], where: str) -> list[str]:
    """YAML keys main.py has no option for, as TRL-field flags, so they meet the checks typed flags meet."""
    flags: list[str] = []
    for key, value in values.items():
        flag = "--" + str(key).lstrip("-").replace("-", "_")
        if value is None:
            continue
        if isinstance(value, bool):
            flags += [flag, str(value).lower()]
        elif isinstance(value, dict):
            flags += [flag, json.dumps(value)]
        elif isinstance(value, list):
            if any(isinstance(item, list | dict) for item in value):
                raise UserError(f"{where}: {key} must be a value or a list of values, got {value!r}"[:200])
            flags += [flag, *map(str, value)]
        else:
            flags.append(f"{flag}={value}")
    return flags


def _field_parser(config_class, error_prefix: str) -> argparse.ArgumentParser:
    from transformers import HfArgumentParser

    parser = HfArgumentParser(config_class, allow_abbrev=False)
    for action in parser._actions:
        action.default = argparse.SUPPRESS  # only the fields given are forwarded; TRL keeps its own defaults

    def one_line_error(message: str) -> NoReturn:
        if message.startswith("unrecognized arguments"):
            message += f" (neither an option of main.py nor a field of TRL's {config_class.__name__})"
        raise UserError(f"{error_prefix}{message}")

    parser.error = one_line_error  # type: ignore[method-assign]
    return parser


def _underscored(word: str) -> str:
    """``--epsilon-high=0.28`` as ``--epsilon_high=0.28``: TRL's field names have underscores."""
    if not word.startswith("--"):
        return word
    name, equals, value = word.partition("=")
    return "--" + name[2:].replace("-", "_") + equals + value


def _from_json(name: str, value: Any) -> Any:
    """A dict field (generation_kwargs, model_init_kwargs, ...) given as JSON text on the command line."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise UserError(f"--{name} {value[:60]!r} is not a JSON object: {error}") from None
    return value
