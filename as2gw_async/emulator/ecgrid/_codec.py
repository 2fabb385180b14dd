"""Base64 inside JSON, both ways, without ever holding a body twice.

* :func:`b64_chunks` encodes a body given in chunks of any size into base64 chunks (a carry of
  at most two bytes between chunks keeps the output identical to one ``b64encode`` call).
* :class:`UploadParser` reads an upload's JSON object as it arrives: every member but
  ``content`` is small and kept as parsed JSON; the ``content`` string is base64-decoded on
  the fly into one buffer, so a 300 MB upload costs its decoded size, once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["UploadError", "UploadParser", "b64_chunks", "b64_length"]

_WS = b" \t\r\n"
_MAX_SMALL_VALUE = 1 << 20  # members other than content: at most 1 MiB of JSON each


def b64_length(size: int) -> int:
    """Length of the base64 text (with padding) of ``size`` bytes."""
    return 4 * ((size + 2) // 3)


def b64_chunks(chunks: Iterable[bytes], group: int = 3 * (1 << 18)) -> Iterator[bytes]:
    """Base64-encode a body given as chunks; yields about ``group * 4 / 3`` bytes at a time."""
    carry = b""
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= group:
            data = carry + b"".join(pending)
            cut = len(data) - len(data) % 3
            yield base64.b64encode(data[:cut])
            carry = data[cut:]
            pending = []
            size = 0
    data = carry + b"".join(pending)
    if data:
        yield base64.b64encode(data)


class UploadError(ValueError):
    """The upload body is not a JSON object with a valid base64 ``content`` string."""


class UploadParser:
    """Incremental parser of ``{"fileName": ..., "content": "<base64>", ...}``.

    Feed it the request body chunk by chunk, then call :meth:`close`; ``fields`` holds every
    member but ``content`` (parsed JSON) and ``content`` the decoded bytes (None if absent).

    Example::

        p = UploadParser()
        for chunk in (b'{"fileName": "a.edi", "cont', b'ent": "aGVsbG8="}'):
            p.feed(chunk)
        p.close()
        p.fields, bytes(p.content)   # ({'fileName': 'a.edi'}, b'hello')
    """

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.content: bytearray | None = None
        self._buf = b""
        # states: start, key_or_end, key, colon, value, content, small, comma_or_end, done
        self._state = "start"
        self._key = ""
        self._small = bytearray()
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._b64_carry = b""
        self._content_escape = False

    # ------------------------------------------------------------------ public

    def feed(self, chunk: bytes) -> None:
        """Consume the next piece of the body."""
        self._buf += chunk
        while self._buf and self._step():
            pass

    def close(self) -> None:
        """Finish; raises :class:`UploadError` if the body was not one complete object."""
        if self._state != "done" or self._buf.strip(_WS):
            raise UploadError("the request body is not one complete JSON object")

    # ------------------------------------------------------------------ machinery

    def _skip_ws(self) -> bool:
        self._buf = self._buf.lstrip(_WS)
        return bool(self._buf)

    def _step(self) -> bool:
        """Advance as far as the buffer allows; False when more input is needed."""
        state = self._state
        if state == "content":
            return self._content()
        if state == "small":
            return self._small_value()
        if state == "done":
            if self._buf.strip(_WS):
                raise UploadError("data after the JSON object")
            self._buf = b""
            return False
        if not self._skip_ws():
            return False
        c = self._buf[:1]
        if state == "start":
            if c != b"{":
                raise UploadError("the request body must be a JSON object")
            self._buf = self._buf[1:]
            self._state = "key_or_end"
            return True
        if state in ("key_or_end", "key"):
            if c == b"}" and state == "key_or_end":
                self._buf = self._buf[1:]
                self._state = "done"
                return True
            if c != b'"':
                raise UploadError("expected a member name")
            end = _string_end(self._buf, 1)
            if end < 0:
                if len(self._buf) > _MAX_SMALL_VALUE:
                    raise UploadError("member name too long")
                return False
            self._key = json.loads(self._buf[: end + 1])
            self._buf = self._buf[end + 1 :]
            self._state = "colon"
            return True
        if state == "colon":
            if c != b":":
                raise UploadError("expected ':'")
            self._buf = self._buf[1:]
            self._state = "value"
            return True
        if state == "value":
            if self._key == "content" and c == b'"':
                self._buf = self._buf[1:]
                self.content = bytearray()
                self._b64_carry = b""
                self._state = "content"
                return True
            self._small = bytearray()
            self._depth = 0
            self._in_string = False
            self._escape = False
            self._state = "small"
            return True
        if state == "comma_or_end":
            self._buf = self._buf[1:]
            if c == b",":
                self._state = "key"
                return True
            if c == b"}":
                self._state = "done"
                return True
            raise UploadError("expected ',' or '}'")
        raise AssertionError(state)  # pragma: no cover

    def _content(self) -> bool:
        buf = self._buf
        quote = buf.find(b'"')
        backslash = buf.find(b"\\")
        if self._content_escape:
            # the previous chunk ended on a backslash: "\/" is "/", "\n" etc. are whitespace
            esc = buf[:1]
            self._content_escape = False
            self._buf = buf = buf[1:]
            if esc == b"/":
                self._decode(b"/")
            elif esc not in (b"n", b"r", b"t"):
                raise UploadError("content holds an escape that base64 never needs")
            return bool(buf)
        if backslash >= 0 and (quote < 0 or backslash < quote):
            self._decode(buf[:backslash])
            self._buf = buf[backslash + 1 :]
            self._content_escape = True
            return bool(self._buf)
        if quote < 0:
            self._decode(buf)
            self._buf = b""
            return False
        self._decode(buf[:quote])
        self._buf = buf[quote + 1 :]
        self._finish_content()
        self._state = "comma_or_end"
        return True

    def _decode(self, text: bytes) -> None:
        if not text:
            return
        data = self._b64_carry + text
        if any(w in data for w in (b"\n", b"\r", b" ", b"\t")):
            data = data.translate(None, _WS)
        cut = len(data) - len(data) % 4
        try:
            decoded = base64.b64decode(data[:cut], validate=True)
        except binascii.Error:
            raise UploadError("content is not valid base64") from None
        assert self.content is not None
        self.content += decoded
        self._b64_carry = data[cut:]

    def _finish_content(self) -> None:
        if self._b64_carry:
            raise UploadError("content is not valid base64 (its length is not a multiple of 4)")

    def _small_value(self) -> bool:
        buf = self._buf
        i = 0
        n = len(buf)
        while i < n:
            ch = buf[i]
            if self._in_string:
                if self._escape:
                    self._escape = False
                elif ch == 0x5C:  # backslash
                    self._escape = True
                elif ch == 0x22:
                    self._in_string = False
            elif ch == 0x22:
                self._in_string = True
            elif ch in (0x7B, 0x5B):
                self._depth += 1
            elif ch in (0x7D, 0x5D):
                if self._depth == 0:
                    return self._end_small(i)
                self._depth -= 1
            elif ch == 0x2C and self._depth == 0:
                return self._end_small(i)
            i += 1
        self._small += buf
        self._buf = b""
        if len(self._small) > _MAX_SMALL_VALUE:
            raise UploadError(f"member {self._key!r} is too large")
        return False

    def _end_small(self, i: int) -> bool:
        self._small += self._buf[:i]
        self._buf = self._buf[i:]
        try:
            self.fields[self._key] = json.loads(bytes(self._small))
        except ValueError:
            raise UploadError(f"member {self._key!r} is not valid JSON") from None
        self._small = bytearray()
        self._state = "comma_or_end"
        return True


def _string_end(buf: bytes, start: int) -> int:
    """Index of the quote closing the JSON string opened before ``start``, or -1."""
    i = start
    while True:
        q = buf.find(b'"', i)
        if q < 0:
            return -1
        backslashes = 0
        j = q - 1
        while j >= start and buf[j] == 0x5C:
            backslashes += 1
            j -= 1
        if backslashes % 2 == 0:
            return q
        i = q + 1
