"""Atomic output files: a temp file in the same folder, fsync, then rename.

The temp file is created when the output is opened, before any work, so an
unwritable destination fails fast; on any exception (including Ctrl-C) the temp
file is removed and the destination is left exactly as it was.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Optional

from gmmcli.errors import OutputError, WriteError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicFile:
    """A binary output that appears at ``path`` only on :meth:`commit`.

    Use as a context manager: leaving the block by an exception discards it.
    """

    def __init__(self, path: str):
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise OutputError(f"{path}: is a directory")
        if not os.path.isdir(folder):
            raise OutputError(f"{path}: folder {folder} does not exist")
        self._done = False
        self.direct = os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode)
        if self.direct:  # a device or pipe (/dev/null, /dev/stdout): nothing to rename
            try:
                self.file = open(path, "wb")
            except OSError as exc:
                raise OutputError(f"{path}: cannot open for writing: {exc.strerror}") from None
            return
        try:
            fd, self.temp_path = tempfile.mkstemp(
                prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder
            )
        except OSError as exc:
            raise OutputError(f"{path}: cannot create output: {exc.strerror}") from None
        self.file: BinaryIO = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        try:
            self.file.write(data)
        except OSError as exc:
            raise self._write_error(exc) from None

    def commit(self) -> None:
        """Flush, fsync and move into place."""
        if self.direct:
            try:
                self.file.close()
            except OSError as exc:
                raise self._write_error(exc) from None
            self._done = True
            return
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.chmod(self.temp_path, 0o666 & ~_umask())
            os.replace(self.temp_path, self.path)
        except OSError as exc:
            self.discard()
            raise self._write_error(exc) from None
        self._done = True

    def discard(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self.file.close()
        except OSError:
            pass
        if self.direct:
            return
        try:
            os.unlink(self.temp_path)
        except FileNotFoundError:
            pass

    def _write_error(self, exc: OSError) -> WriteError:
        if exc.errno == errno.ENOSPC:
            return WriteError(f"{self.path}: no space left on device")
        return WriteError(f"{self.path}: write failed: {exc.strerror}")

    def __enter__(self) -> "AtomicFile":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.discard()


@contextmanager
def output_file(path: Optional[str]) -> Iterator[Optional[AtomicFile]]:
    """An :class:`AtomicFile` for ``path`` (or None when there is no path), opened now,
    committed when the block succeeds and discarded when it raises (Ctrl-C included)."""
    if not path:
        yield None
        return
    out = AtomicFile(path)
    try:
        yield out
    except BaseException:
        out.discard()
        raise
    out.commit()
