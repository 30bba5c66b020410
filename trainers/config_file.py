"""A ``--config FILE`` YAML mapping turned into main.py's command-line flags, so its values meet the very type,
choice and range checks typed flags meet. Keys are our option names (dashes or underscores) or TRL's names for
them (``model_name_or_path``, ``num_train_epochs``, ...); every other key is left for TRL's fields
(trainers/trl_fields.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from rlvr.errors import UserError
from trainers.trl_names import TRL_ALIASES

# Other names of our options a file may use: the flag aliases that are no field name.
FILE_ALIASES = {"vlm_name": "model", **{alias: dest for dest, aliases in TRL_ALIASES.items() for alias in aliases}}


def yaml_as_flags(parser: argparse.ArgumentParser, path: str) -> tuple[list[str], dict[str, Any]]:
    """(flags of our options, {key: value} of the keys that are none of them) from the YAML file ``path``."""
    values = read_yaml_mapping(path)
    actions = {action.dest: action for action in parser._actions if action.option_strings}
    flags: list[str] = []
    others: dict[str, Any] = {}
    key_of_dest: dict[str, Any] = {}
    for key, value in values.items():
        dest = str(key).lstrip("-").replace("-", "_")
        dest = FILE_ALIASES.get(dest, dest)
        if dest in ("config", "help"):
            raise UserError(f"config file {path}: unknown option {key!r}")
        if dest in key_of_dest:
            raise UserError(f"config file {path}: {key_of_dest[dest]!r} and {key!r} set the same option; keep one")
        key_of_dest[dest] = key
        action = actions.get(dest)
        if action is None:
            others[str(key)] = value
        else:
            flags += _flags_for(action, value, f"config file {path}: {key}")
    return flags, others


def read_yaml_mapping(path: str) -> dict:
    config_path = Path(path)
    if config_path.is_dir():
        raise UserError(f"config file {path} is a folder, not a YAML file")
    if not config_path.is_file():
        raise UserError(f"config file {path} does not exist")
    try:
        values = yaml.load(config_path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}
    except DuplicateKey as duplicate:
        raise UserError(f"config file {path}: {duplicate}") from None
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"config file {path} is not valid YAML: {first_line}") from None
    if not isinstance(values, dict):
        raise UserError(f"config file {path} must hold a mapping of option names to values")
    return values


class DuplicateKey(Exception):
    """A key given twice in one YAML mapping, which PyYAML would resolve silently by taking the last."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load's loader, refusing a mapping that gives a key twice instead of keeping the last value."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in first_line:
                raise DuplicateKey(f"the key {key!r} is given twice (lines {first_line[key]} and {line}); keep one")
            if isinstance(key, str | int | float | bool):
                first_line[key] = line
        return super().construct_mapping(node, deep)


def _flags_for(action: argparse.Action, value: Any, where: str) -> list[str]:
    flag = action.option_strings[0]
    if isinstance(action, argparse._StoreTrueAction | argparse.BooleanOptionalAction):
        if not isinstance(value, bool):
            raise UserError(f"{where} must be true or false, got {value!r}")
        if isinstance(action, argparse._StoreTrueAction):
            return [flag] if value else []
        return [flag if value else "--no-" + flag.removeprefix("--")]
    if value is None:
        return []
    if action.nargs == "+":
        items = value if isinstance(value, list) else [value]
        if not items or any(isinstance(item, list | dict) or item is None for item in items):
            raise UserError(f"{where} must be a value or a list of values, got {value!r}")
        for item in items:
            # argparse would read an item such as "--no-resume" as a flag of its own, not as a value.
            if isinstance(item, str) and item.startswith("-") and not _is_number(item):
                raise UserError(f"{where}: the item {item!r} starts with '-', which would make it a flag; remove it")
        return [flag, *map(str, items)]
    if isinstance(value, list | dict):
        raise UserError(f"{where} takes one value, got {type(value).__name__} {value!r}"[:200])
    return [f"{flag}={value}"]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
