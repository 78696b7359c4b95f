"""Opening inputs: a path (compression from the extension) or ``-`` for stdin."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import sys
import zlib
from typing import BinaryIO

from gmmcli.errors import DataError, NoInputError

STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"


def display_name(path: str) -> str:
    return "<stdin>" if path == STDIN else path


def open_file(path: str, what: str, missing: str = "no such file") -> BinaryIO:
    """``path`` opened for reading bytes; a missing, unreadable or directory path is a
    NoInputError naming it (``what``: what the path should be, for the directory message)."""
    try:
        if os.path.isdir(path):
            raise NoInputError(f"{path}: is a directory, not {what}")
        return open(path, "rb")
    except FileNotFoundError:
        raise NoInputError(f"{path}: {missing}") from None
    except PermissionError:
        raise NoInputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise NoInputError(f"{path}: cannot open: {exc.strerror}") from None


def open_binary(path: str) -> BinaryIO:
    """A binary stream of the (decompressed) bytes of ``path`` or of stdin.

    Raises
    ------
    NoInputError
        The file does not exist, is a directory or cannot be read.
    """
    if path == STDIN:
        raw = sys.stdin.buffer
        peek = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        if peek == GZIP_MAGIC:
            return gzip.GzipFile(fileobj=raw, mode="rb")
        return raw
    handle = open_file(path, "a CSV file")
    lower = path.lower()
    if lower.endswith(".gz"):
        return gzip.GzipFile(fileobj=handle, mode="rb")
    if lower.endswith(".bz2"):
        return bz2.BZ2File(handle, mode="rb")
    if lower.endswith(".xz"):
        return lzma.LZMAFile(handle, mode="rb")
    if lower.endswith(".zst"):
        import pyarrow as pa

        return io.BufferedReader(pa.CompressedInputStream(pa.PythonFile(handle, mode="r"), "zstd"))
    return handle


def read_chunk(stream: BinaryIO, size: int, name: str) -> bytes:
    """Read up to ``size`` bytes, turning decompression errors into a DataError."""
    try:
        return stream.read(size)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise DataError(f"{name}: cannot decompress: {exc}") from None
    except Exception as exc:  # pyarrow's codec errors
        if type(exc).__module__.startswith("pyarrow"):
            raise DataError(f"{name}: cannot decompress: {exc}") from None
        raise
