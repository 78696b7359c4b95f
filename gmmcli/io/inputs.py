"""Several inputs read as one table: files and globs, in the order given.

``fit a.csv b.csv``, ``fit 'data/*.csv.gz'`` and ``predict m.json a.csv b.csv`` read the
files one after the other, as if they were concatenated: the same model as the joined
file, predictions in input order. Every file must have the first one's columns (matched
by name when there is a header); messages name the file and line where a problem is.
"""

from __future__ import annotations

import glob
import os
from typing import Iterator, Sequence

from gmmcli.errors import DataError, NoInputError, UsageError
from gmmcli.io.columnar import open_reader
from gmmcli.io.csv_reader import DEFAULT_BLOCK_BYTES, Block, CsvFormat, parse_number
from gmmcli.io.source import STDIN


def expand_inputs(inputs: Sequence[str], allow_stdin: bool = True) -> list:
    """Paths and globs ('data/*.csv.gz') → the files, in order; a glob matching nothing is an error."""
    paths = []
    for item in inputs:
        if item == STDIN:
            if not allow_stdin:
                raise UsageError("the Dask engine reads files, not stdin")
            paths.append(item)
        elif os.path.exists(item) or not glob.has_magic(item):
            paths.append(item)
        else:
            matches = sorted(glob.glob(item))
            if not matches:
                raise NoInputError(f"{item}: no file matches")
            paths.extend(matches)
    if paths.count(STDIN) > 1:
        raise UsageError("stdin (-) can be read only once")
    return paths


def open_inputs(inputs: Sequence[str], fmt: CsvFormat = CsvFormat(), block_bytes: int = DEFAULT_BLOCK_BYTES):
    """One reader over every input (a plain reader when there is one)."""
    paths = expand_inputs(inputs)
    if len(paths) == 1:
        return open_reader(paths[0], fmt, block_bytes)
    return ConcatReader(paths, fmt, block_bytes)


class ConcatReader:
    """Readers of several files, one after the other, with the first file's columns.

    Has the readers' interface (``name``, ``fmt``, ``names``, ``numeric``, ``blocks``,
    ``close``, ``delimiter_hint``); each file is opened only when its turn comes.
    """

    def __init__(self, paths: Sequence[str], fmt: CsvFormat, block_bytes: int):
        self.paths = list(paths)
        self.block_bytes = block_bytes
        self._first = open_reader(self.paths[0], fmt, block_bytes)
        self.fmt = self._first.fmt
        self.names = self._first.names
        self.numeric = self._first.numeric
        self.decimal_comma = getattr(self._first, "decimal_comma", ())
        self.name = f"{self._first.name} (and {len(self.paths) - 1} more)"

    def delimiter_hint(self) -> str:
        return self._first.delimiter_hint()

    def blocks(self, selected: Sequence[int], keep: Sequence[int] = (), missing: bool = False) -> Iterator[Block]:
        yield from self._first.blocks(selected, keep, missing)
        for path in self.paths[1:]:
            reader = open_reader(path, self.fmt, self.block_bytes)
            try:
                mapping = self._columns_in(reader)
                yield from reader.blocks([mapping[j] for j in selected], [mapping[j] for j in keep], missing)
            finally:
                reader.close()

    def _columns_in(self, reader) -> list:
        """Where each of the first file's columns is in ``reader``'s file."""
        if not self.fmt.has_header:
            if len(reader.names) != len(self.names):
                raise DataError(f"{reader.name}: {len(reader.names)} columns, but {self._first.name} has "
                                f"{len(self.names)}")
            return list(range(len(self.names)))
        absent = [n for n in self.names if n not in reader.names]
        if absent:
            raise DataError(f"{reader.name}: missing column(s) that {self._first.name} has: "
                            f"{', '.join(repr(n) for n in absent)}")
        return [reader.names.index(n) for n in self.names]

    def close(self) -> None:
        self._first.close()


def model_columns(reader, feature_names: Sequence[str], has_header: bool) -> list:
    """Indices of a model's columns in the input: by name, or by position without a header."""
    if not has_header or not reader.fmt.has_header:
        if len(reader.names) < len(feature_names):
            raise DataError(f"{reader.name}: {len(reader.names)} columns, but the model needs {len(feature_names)}")
        first = getattr(reader, "first_fields", ())[:len(feature_names)]
        if not reader.fmt.has_header and first and all(parse_number(f, reader.fmt.decimal) is None for f in first):
            raise DataError(f"{reader.name}: line 1 looks like a header ({', '.join(repr(f) for f in first)}), but "
                            "the model was fit on data without one; read it with --header")
        return list(range(len(feature_names)))
    absent = [n for n in feature_names if n not in reader.names]
    if absent:
        hint = ""
        if all(parse_number(name, reader.fmt.decimal) is not None for name in reader.names):
            hint = (" (the input has no header? its first line is numbers; with --no-header the model's "
                    "columns are taken by position)")
        raise DataError(f"{reader.name}: missing column(s) the model needs: {', '.join(repr(m) for m in absent)}{hint}")
    return [reader.names.index(n) for n in feature_names]
