"""Safe local file handling: file names, atomic writes and zip extraction.

Everything that turns bytes from the gateway into files on disk goes through three modules,
so the rules live in one place each; this module re-exports their public names:

* `as2gw_async.filenames`: `parse_content_disposition` (the untrusted name a server offers),
  `safe_filename` (*the* sanitiser), `safe_message_dirname`, `resolve_destination`;
* `as2gw_async.atomic`: `AtomicFile` (temporary file, fsync, rename; nothing appears on
  error or cancellation), `publish_directory`, `remove_stale_temp_files`;
* `as2gw_async.archives`: `verify_zip`, `extract_zip` / `extract_zip_groups` (zip-slip,
  symlinks, zip bombs, corrupt data; all or nothing), `read_batch_layout`.

None of them knows anything of HTTP.
"""

from __future__ import annotations

from .archives import (
    DEFAULT_MAX_MEMBERS,
    DEFAULT_MAX_TOTAL_SIZE,
    BatchFolder,
    ExtractedMember,
    ZipGroup,
    extract_zip,
    extract_zip_groups,
    read_batch_layout,
    verify_zip,
)
from .atomic import (
    SCRATCH_DIR_ENV,
    AtomicFile,
    ProgressCallback,
    create_scratch_file,
    publish_directory,
    remove_stale_temp_files,
    scratch_directory,
    sweep_stale_temp_files_once,
)
from .filenames import (
    ensure_directory,
    parse_content_disposition,
    remove_created_directories,
    resolve_destination,
    safe_filename,
    safe_message_dirname,
)

__all__ = [
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_TOTAL_SIZE",
    "SCRATCH_DIR_ENV",
    "AtomicFile",
    "BatchFolder",
    "ExtractedMember",
    "ProgressCallback",
    "ZipGroup",
    "create_scratch_file",
    "ensure_directory",
    "extract_zip",
    "extract_zip_groups",
    "parse_content_disposition",
    "publish_directory",
    "read_batch_layout",
    "remove_created_directories",
    "remove_stale_temp_files",
    "resolve_destination",
    "safe_filename",
    "safe_message_dirname",
    "scratch_directory",
    "sweep_stale_temp_files_once",
    "verify_zip",
]
