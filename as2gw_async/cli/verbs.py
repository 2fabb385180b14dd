"""What the gateway-specific command bodies share: refusing the options a gateway lacks.

The commands of ``as2gw`` are declared once (``app.py``, with AS2 Gateway v1's bodies); for
another gateway a command hands its arguments to that gateway's verb module
(`verbs_mft`, `verbs_ecgrid`, named in `gateways.GATEWAYS`), which refuses, with exit code
2, any option it cannot honour instead of ignoring it.
"""

from __future__ import annotations

from typing import Any

from ._errors import CliError, ExitCode
from .gateways import Gateway

__all__ = ["refuse"]


def refuse(gateway: Gateway, command: str, **given: Any) -> None:
    """Exit 2 naming every option of ``given`` that is set (not None, not False; 0 is set)."""
    flags = [
        "--" + name.replace("_", "-")
        for name, value in given.items()
        if value is not None and value is not False
    ]
    if flags:
        raise CliError(
            f"{', '.join(flags)}: not an option of {command} for --gateway {gateway.name}",
            ExitCode.USAGE,
        )
