"""Streaming reader of a multipart/related body (RFC 2046 / 2387): each part goes to a temporary file.

The body is read in chunks; memory holds at most one chunk plus a boundary's length and a part's headers.
A part larger than `max_part_bytes` is read to its end but not kept (`too_large`), so the next parts still
count. Each yielded part's file is closed (deleted) when the iteration moves on.
"""

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Protocol

CHUNK_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_PREAMBLE_BYTES = 64 * 1024


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class MultipartError(Exception):
    """The body is not a well-formed multipart/related stream (French message)."""


@dataclass
class Part:
    index: int
    headers: dict[str, str] = field(default_factory=dict)
    file: IO[bytes] | None = None
    size: int = 0
    too_large: bool = False


class _Buffer:
    def __init__(self, stream: Readable, chunk_bytes: int) -> None:
        self.stream, self.chunk_bytes, self.data, self.eof = stream, chunk_bytes, bytearray(), False

    def fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(self.chunk_bytes)
        if not chunk:
            self.eof = True
            return False
        self.data += chunk
        return True

    def find(self, needle: bytes, limit: int, what: str) -> int:
        """Index of `needle`, reading more as needed; refuses when not found within `limit` bytes."""
        start = 0
        while True:
            index = self.data.find(needle, start)
            if index != -1:
                return index
            if len(self.data) > limit:
                raise MultipartError(f"Corps multipart invalide : {what} introuvable.")
            start = max(0, len(self.data) - len(needle) + 1)
            if not self.fill():
                raise MultipartError(f"Corps multipart tronqué : {what} introuvable.")

    def need(self, size: int) -> None:
        while len(self.data) < size:
            if not self.fill():
                raise MultipartError("Corps multipart tronqué.")


def _headers(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode("latin-1").split("\r\n"):
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return headers


def iter_parts(
    stream: Readable,
    boundary: str,
    *,
    max_part_bytes: int,
    temp_dir: str | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[Part]:
    if not boundary or len(boundary) > 70:
        raise MultipartError("Paramètre « boundary » absent ou invalide dans le Content-Type.")
    delimiter = b"--" + boundary.encode("latin-1")
    marker = b"\r\n" + delimiter
    buf = _Buffer(stream, chunk_bytes)
    # Preamble: up to the first delimiter (at the very start, or after a CRLF).
    index = buf.find(delimiter, MAX_PREAMBLE_BYTES, "première délimitation")
    del buf.data[: index + len(delimiter)]
    number = 0
    while True:
        buf.need(2)
        if buf.data[:2] == b"--":
            return  # close delimiter: the epilogue is ignored
        end = buf.find(b"\r\n", 1024, "fin de ligne de délimitation")
        del buf.data[: end + 2]  # transport padding
        buf.need(2)
        if buf.data[:2] == b"\r\n":  # a part without headers
            block = b""
            del buf.data[:2]
        else:
            end = buf.find(b"\r\n\r\n", MAX_HEADER_BYTES, "fin des en-têtes de partie")
            block = bytes(buf.data[:end])
            del buf.data[: end + 4]
        number += 1
        part = Part(index=number, headers=_headers(block))
        part.file = tempfile.NamedTemporaryFile(prefix="stow-", suffix=".part", dir=temp_dir)  # noqa: SIM115
        try:
            _copy_body(buf, marker, part, max_part_bytes)
            part.file.flush()
            part.file.seek(0)
            yield part
        finally:
            part.file.close()


def _copy_body(buf: _Buffer, marker: bytes, part: Part, max_part_bytes: int) -> None:
    keep = len(marker) - 1
    while True:
        index = buf.data.find(marker)
        if index != -1:
            _write(part, buf.data[:index], max_part_bytes)
            del buf.data[: index + len(marker)]
            return
        if len(buf.data) > keep:
            _write(part, buf.data[:-keep], max_part_bytes)
            del buf.data[:-keep]
        if not buf.fill():
            raise MultipartError(f"Corps multipart tronqué dans la partie {part.index}.")


def _write(part: Part, data: bytearray, max_part_bytes: int) -> None:
    part.size += len(data)
    if part.size > max_part_bytes:
        if not part.too_large:
            part.too_large = True
            part.file.seek(0)
            part.file.truncate()
        return
    part.file.write(data)
