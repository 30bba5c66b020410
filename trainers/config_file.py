"""A ``--config FILE`` YAML mapping turned into main.py's command-line flags, so its values meet the very type,
choice and range checks typed flags meet. A key names one of our options as any of its flags does, with dashes or
underscores (``output``, ``output-dir``, ``output_dir``; TRL's names such as ``model_name_or_path``; a switch's
``no_lora: true``); every other key is left for TRL's fields (trainers/trl_fields.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from rlvr.errors import UserError


def yaml_as_flags(parser: argparse.ArgumentParser, path: str) -> tuple[list[str], dict[str, Any]]:
    """(flags of our options, {key: value} of the keys that are none of them) from the YAML file ``path``."""
    values = read_yaml_mapping(path)
    names = option_names(parser)
    flags: list[str] = []
    others: dict[str, Any] = {}
    given: dict[str, str] = {}  # option -> the key that set it
    for key, value in values.items():
        action, negated = names.get(str(key).lstrip("-").replace("-", "_"), (None, False))
        if action is None:
            others[str(key)] = value
            continue
        if action.dest in ("config", "help"):
            raise UserError(f"config file {path}: unknown option {key!r}")
        if action.dest in given:
            raise UserError(
                f"config file {path}: {given[action.dest]!r} and {key!r} both set {action.option_strings[0]}; keep one"
            )
        given[action.dest] = str(key)
        if negated and isinstance(value, bool):
            value = not value  # no_lora: true is lora: false
        flags += _flags_for(action, value, f"config file {path}: {key}")
    return flags, others


def option_names(parser: argparse.ArgumentParser) -> dict[str, tuple[argparse.Action, bool]]:
    """Each name a key may give an option, with underscores: its field name and the name of each of its flags
    (TRL's names among them, trainers/trl_spelling.py), with True for a switch's ``no_`` name."""
    names: dict[str, tuple[argparse.Action, bool]] = {}
    for action in parser._actions:
        if not action.option_strings:
            continue
        names[action.dest] = (action, False)
        for flag in action.option_strings:
            negated = isinstance(action, argparse.BooleanOptionalAction) and flag.startswith("--no-")
            names.setdefault(flag.lstrip("-").replace("-", "_"), (action, negated))
    return names


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
