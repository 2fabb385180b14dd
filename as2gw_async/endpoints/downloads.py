"""Attachment, zip and MDN downloads (spec 4.2.1, 4.2.2.1, 4.3), streamed to disk.

Skeleton: filled in by the downloads work (issue 5). `AttachmentDownloads` is mixed into
the received and sent folder resources, which provide ``_session`` and ``folder``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import Folder

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["AttachmentDownloads"]


class AttachmentDownloads:
    """``download_attachment``, ``download_attachments``, ``download_zip``, ``download_mdn``."""

    _session: Session
    folder: Folder
