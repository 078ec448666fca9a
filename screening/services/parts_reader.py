"""Several stored files read one after the other as one stream, never all in memory."""

from __future__ import annotations

import io
from collections.abc import Iterable

from django.core.files.base import File
from django.core.files.storage import default_storage


class PartsReader(io.RawIOBase):
    """The committed chunks read one after the other, as one stream (never all in memory)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = list(names)
        self._current: File | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self._current is None:
                if not self._names:
                    return 0
                self._current = default_storage.open(self._names.pop(0), "rb")
            data = self._current.read(len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()
