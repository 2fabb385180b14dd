"""The four message folders: received, sent, failed, queued (spec 4.4, 4.5, 4.6).

Skeleton: the resources exist so `Session` can hang them off itself; list / iter / get and
the actions are filled in by the folders work (issue 4).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..models import BatchResult, Folder
from .batch import batch_download
from .downloads import AttachmentDownloads

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["FailedFolder", "FolderResource", "QueuedFolder", "ReceivedFolder", "SentFolder"]


class FolderResource:
    """Operations common to every folder."""

    folder: Folder

    def __init__(self, session: Session) -> None:
        self._session = session

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class ReceivedFolder(FolderResource, AttachmentDownloads):
    """``s.received``: the inbox."""

    folder = Folder.RECEIVED

    async def batch_download(
        self,
        ids: Iterable[str],
        dest_dir: str | os.PathLike[str],
        *,
        mark_as_read: bool = False,
    ) -> BatchResult:
        """Download the attachments of many messages into ``dest_dir/<message-id>/``."""
        return await batch_download(self._session, ids, dest_dir, mark_as_read=mark_as_read)


class SentFolder(FolderResource, AttachmentDownloads):
    """``s.sent``: successfully sent messages."""

    folder = Folder.SENT


class FailedFolder(FolderResource):
    """``s.failed``: send attempts the gateway gave up on."""

    folder = Folder.FAILED


class QueuedFolder(FolderResource):
    """``s.queued``: messages waiting to be sent."""

    folder = Folder.QUEUED
