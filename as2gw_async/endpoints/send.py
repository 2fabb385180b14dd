"""Sending messages (spec 4.1) and waiting for their delivery.

Skeleton: filled in by the sending work (issue 4).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..models import AS2Message, PartnerType, SendReceipt, Upload

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["send", "wait_for_delivery"]


async def send(
    session: Session,
    station: str,
    partner: str,
    *files: str | os.PathLike[str] | Upload,
    subject: str | None = None,
    partner_type: PartnerType | str = PartnerType.PRODUCTION,
) -> SendReceipt:
    """Send one file to the raw endpoint or several as multipart."""
    raise NotImplementedError


async def wait_for_delivery(
    session: Session,
    as2_message_id: str,
    *,
    timeout: float,
    poll_interval: float,
    initial_delay: float | None,
) -> AS2Message:
    """Poll the sent, failed and queued folders until the message settles."""
    raise NotImplementedError
