"""A streaming writer of *stored* (uncompressed) zip archives with a length known up front.

Sizes and CRCs go in the local headers (no data descriptors, which some readers refuse for
stored entries), so the CRC of every entry must be known before its bytes are sent; the total
archive length can then be computed exactly and served as ``Content-Length``. ZIP64 records
are used automatically when a size or an offset does not fit in 32 bits.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ._bodies import Body, body_crc32, body_size, iter_body

__all__ = ["ZipEntry", "ZipPlan", "plan_zip"]

_MAX32 = 0xFFFFFFFF  # the "see the ZIP64 record" placeholder
_MAX16 = 0xFFFF
_ZIP64_THRESHOLD = _MAX32  # sizes/offsets from here on need ZIP64 (lowered by tests)


@dataclass(frozen=True)
class ZipEntry:
    """One file of the archive: its name inside the zip, its body and its timestamp (ms)."""

    name: str
    body: Body
    timestamp_ms: int = 0


def _dos_datetime(timestamp_ms: int) -> tuple[int, int]:
    t = time.gmtime(max(timestamp_ms // 1000, 315532800))  # zip cannot express before 1980
    dos_time = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    dos_date = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    return dos_time, dos_date


@dataclass
class _Prepared:
    entry: ZipEntry
    name: bytes
    flags: int
    size: int
    crc: int
    offset: int
    dos_time: int
    dos_date: int

    @property
    def zip64(self) -> bool:
        return self.size >= _ZIP64_THRESHOLD or self.offset >= _ZIP64_THRESHOLD

    def local_header(self) -> bytes:
        if self.size >= _ZIP64_THRESHOLD:
            extra = struct.pack("<HHQQ", 0x0001, 16, self.size, self.size)
            size32 = _MAX32
        else:
            extra = b""
            size32 = self.size
        version = 45 if extra else 20
        head = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            version,
            self.flags,
            0,  # stored
            self.dos_time,
            self.dos_date,
            self.crc,
            size32,
            size32,
            len(self.name),
            len(extra),
        )
        return head + self.name + extra

    def central_header(self) -> bytes:
        extra_fields: list[int] = []
        size32 = self.size
        offset32 = self.offset
        if self.size >= _ZIP64_THRESHOLD:
            extra_fields += [self.size, self.size]
            size32 = _MAX32
        if self.offset >= _ZIP64_THRESHOLD:
            extra_fields.append(self.offset)
            offset32 = _MAX32
        extra = b""
        if extra_fields:
            extra = struct.pack("<HH", 0x0001, 8 * len(extra_fields))
            extra += struct.pack("<" + "Q" * len(extra_fields), *extra_fields)
        version = 45 if extra else 20
        head = struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            version,  # version made by (MS-DOS attributes)
            version,
            self.flags,
            0,
            self.dos_time,
            self.dos_date,
            self.crc,
            size32,
            size32,
            len(self.name),
            len(extra),
            0,  # comment length
            0,  # disk number start
            0,  # internal attributes
            0,  # external attributes
            offset32,
        )
        return head + self.name + extra


class ZipPlan:
    """A fully planned archive: :attr:`length` is exact, :meth:`iter_bytes` streams it."""

    def __init__(self, entries: Sequence[ZipEntry]) -> None:
        self._items: list[_Prepared] = []
        offset = 0
        for entry in entries:
            try:
                name = entry.name.encode("ascii")
                flags = 0
            except UnicodeEncodeError:
                name = entry.name.encode("utf-8")
                flags = 0x0800  # names are UTF-8
            size = body_size(entry.body)
            dos_time, dos_date = _dos_datetime(entry.timestamp_ms)
            item = _Prepared(
                entry, name, flags, size, body_crc32(entry.body), offset, dos_time, dos_date
            )
            self._items.append(item)
            offset += len(item.local_header()) + size
        self._cd_offset = offset
        self._central = b"".join(item.central_header() for item in self._items)
        self._end = self._end_records()
        self.length = self._cd_offset + len(self._central) + len(self._end)

    def _end_records(self) -> bytes:
        count = len(self._items)
        cd_size = len(self._central)
        cd_offset = self._cd_offset
        big = _ZIP64_THRESHOLD
        need64 = count >= _MAX16 or cd_size >= big or cd_offset >= big
        out = b""
        if need64:
            zip64_eocd_offset = cd_offset + cd_size
            out += struct.pack(
                "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
            )
            out += struct.pack("<IIQI", 0x07064B50, 0, zip64_eocd_offset, 1)
        out += struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            min(count, _MAX16),
            min(count, _MAX16),
            _MAX32 if cd_size >= big else cd_size,
            _MAX32 if cd_offset >= big else cd_offset,
            0,
        )
        return out

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield the archive bytes in order (bodies are read chunk by chunk)."""
        for item in self._items:
            yield item.local_header()
            yield from iter_body(item.entry.body)
        yield self._central
        yield self._end

    def to_bytes(self) -> bytes:
        """The whole archive in memory (small archives only)."""
        return b"".join(self.iter_bytes())


def plan_zip(entries: Sequence[ZipEntry]) -> ZipPlan:
    """Plan a stored zip of ``entries`` (computes CRCs; may read generated bodies once)."""
    return ZipPlan(entries)
