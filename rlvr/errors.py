"""One clear line and a non-zero exit for bad input, never a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

USER_ERROR_EXIT_CODE = 2


class UserError(Exception):
    """Bad input from the user: a flag, a file, a dataset row. The message is shown as it is."""


def exit_on_user_error(main: F) -> F:
    """Wrap a command-line ``main`` so a UserError prints ``error: <message>`` and exits with code 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(USER_ERROR_EXIT_CODE)

    return wrapper  # type: ignore[return-value]
