"""The command and group classes of ``as2gw``: typer's, with help and error text tidied.

Newer typer (pydantic-based parsing) shows a bare boolean flag as ``--unread <bool>``
although it takes no value, and lets pydantic's ``Value error, `` prefix into the message
of a refused value (``Invalid value for 'FOLDER': Value error, 'x' is not one of ...``).
Every command and the group use these classes, so the fix holds for every option.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["Command", "Group", "tidy_message"]

#: What pydantic puts before the text of a ValueError / AssertionError raised in a validator.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def tidy_message(message: str) -> str:
    """``Value error, 'x' is not one of ...`` -> ``'x' is not one of ...``."""
    for prefix in _PYDANTIC_PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def _no_value_for_flags(params: list[Any]) -> list[Any]:
    """Show nothing in the value column of a flag (``--unread``, ``--help``): it takes none."""
    for param in params:
        if getattr(param, "is_flag", False) and getattr(param, "metavar", "") is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """A typer command whose help shows no value for flags and whose errors carry no prefix."""

    def get_params(self, ctx: Any) -> Any:
        """The parameters, flags without a value placeholder."""
        return _no_value_for_flags(super().get_params(ctx))

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        """Parse the arguments; a refused value is reported without pydantic's prefix."""
        try:
            return super().make_context(*args, **kwargs)
        except typer.BadParameter as exc:
            exc.message = tidy_message(exc.message)
            raise


class Group(TyperGroup):
    """The ``as2gw`` group, with the same help and error text as its commands."""

    def get_params(self, ctx: Any) -> Any:
        """The parameters, flags without a value placeholder."""
        return _no_value_for_flags(super().get_params(ctx))

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        """Parse the group's own options; a refused value is reported without the prefix."""
        try:
            return super().make_context(*args, **kwargs)
        except typer.BadParameter as exc:
            exc.message = tidy_message(exc.message)
            raise
