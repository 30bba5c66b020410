"""Reward functions from the user's own code, named as TRL's grpo.py names them: an importable dotted path
``package.module.function`` (installed, or on PYTHONPATH), or a file and a function in it,
``path/to/rewards.py:function``.

A reward has TRL's signature ``(completions, **columns) -> list[float | None]``: ``completions`` as the trainer
hands them (text, or conversational messages), every dataset column as a keyword argument, None where the reward
does not apply. It is logged under the function's name (``rewards/<name>/mean``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from rlvr.errors import UserError


def is_user_reward(spec: str) -> bool:
    """Whether ``spec`` names a function in the user's code rather than one of a task's rewards."""
    return "." in spec or ":" in spec


def load_user_reward(spec: str) -> tuple[str, Callable]:
    """(the name the reward is logged under, the function) for ``spec``; UserError in one line otherwise."""
    if ":" in spec:
        file_name, _, attribute = spec.rpartition(":")
        module = _module_from_file(spec, Path(file_name))
    else:
        module_name, _, attribute = spec.rpartition(".")
        module = _module_by_name(spec, module_name)
    function = getattr(module, attribute, None) if attribute else None
    if function is None:
        raise UserError(f"--reward-funcs {spec}: {module.__name__} has no function {attribute!r}")
    if not callable(function):
        raise UserError(f"--reward-funcs {spec}: {attribute!r} is a {type(function).__name__}, not a function")
    name = getattr(function, "__name__", None)
    if not isinstance(name, str):  # a callable object: TRL names a reward by its __name__
        function = _named(function, attribute)
        name = attribute
    return name, function


def _module_from_file(spec: str, path: Path):
    if path.suffix != ".py":
        raise UserError(f"--reward-funcs {spec}: expected path/to/file.py:function, and {path} is no .py file")
    if not path.is_file():
        raise UserError(f"--reward-funcs {spec}: {path} does not exist")
    # One module per file, named after its resolved path, so two files called rewards.py do not collide.
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"rlvr_user_rewards_{path.stem}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as error:  # the user's file: any failure is theirs to see, in one line
        del sys.modules[module_name]
        raise UserError(f"--reward-funcs {spec}: importing {path} failed: {_first_line(error)}") from None
    return module


def _module_by_name(spec: str, module_name: str):
    if not module_name:
        raise UserError(f"--reward-funcs {spec}: expected package.module.function")
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise UserError(f"--reward-funcs {spec}: cannot import {module_name}: {_first_line(error)}") from None
    except Exception as error:  # the user's module: any failure is theirs to see, in one line
        raise UserError(
            f"--reward-funcs {spec}: importing {module_name} failed: {type(error).__name__}: {error}"
        ) from None


def _named(function: Callable, name: str) -> Callable:
    def reward(*args, **kwargs):
        return function(*args, **kwargs)

    reward.__name__ = name
    return reward


def _first_line(error: Exception) -> str:
    lines = str(error).splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
