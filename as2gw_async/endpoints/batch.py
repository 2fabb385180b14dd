"""Batch download across messages (spec 4.2.2.2): <=100 ids a request, 206 truncation.

Skeleton: filled in by the downloads work (issue 5).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..models import BatchResult

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["batch_download"]


async def batch_download(
    session: Session,
    ids: Iterable[str],
    dest_dir: str | os.PathLike[str],
    *,
    mark_as_read: bool = False,
) -> BatchResult:
    """Download the attachments of many received messages into ``dest_dir/<message-id>/``."""
    raise NotImplementedError
