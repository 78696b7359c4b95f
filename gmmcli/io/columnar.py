"""Columnar inputs and outputs: Parquet and Arrow IPC (Feather v2), chosen by extension.

:class:`ColumnarReader` offers the interface of
:class:`~gmmcli.io.csv_reader.CsvReader` (``name``, ``fmt``, ``names``, ``numeric``,
``block_bytes``, ``blocks``, ``close``, ``delimiter_hint``), so the pipeline reads
either through :func:`open_reader`. Column names and types come from the file's
schema; nulls are missing cells. The data is streamed: Parquet batch by batch
within row groups, Arrow IPC record batch by record batch from a memory map, and
only the columns asked for are decoded, so memory stays about one block.

Row numbers. A columnar file has no lines, so messages name the 1-based *data
row* ("row 7"). ``Block.first_line`` is that row number plus one, i.e. the line
the row would have in a CSV file with a header, so code that computes
``first_line + i`` reports the same numbers for both kinds of input.

:class:`ColumnarWriter` writes columns of results (predictions, samples) as
Parquet or Arrow IPC, one row group or record batch per call, and the same
input gives byte-identical files.
"""

from __future__ import annotations

import errno
from contextlib import contextmanager
from dataclasses import replace
from typing import BinaryIO, Iterator, Optional, Sequence

import numpy as np

from gmmcli.errors import DataError, WriteError
from gmmcli.io.csv_reader import DEFAULT_BLOCK_BYTES, Block, CsvFormat, CsvReader, _fill_column
from gmmcli.io.source import open_file

PARQUET_EXTENSIONS = (".parquet", ".pq")
ARROW_EXTENSIONS = (".arrow", ".feather", ".ipc")
KINDS = ("parquet", "arrow")
FORMAT_NAMES = {"parquet": "Parquet file", "arrow": "Arrow IPC file"}
ARROW_FILE_MAGIC = b"ARROW1"
FEATHER_V1_MAGIC = b"FEA1"
# A guess at the in-memory size of one kept text cell (offset plus a short string),
# used only to size batches; numbers take their exact 8 bytes.
TEXT_CELL_BYTES = 24
PARQUET_BUFFER_BYTES = 1 << 20
MISSING_HINT = "(to allow missing values, use --missing)"


def columnar_kind(path: str) -> Optional[str]:
    """The columnar format named by the extension of ``path``.

    Returns
    -------
    "parquet" for ``.parquet``/``.pq``, "arrow" for ``.arrow``/``.feather``/``.ipc``
    (case-insensitive), None otherwise (CSV, and stdin ``-``).
    """
    lower = path.lower()
    if lower.endswith(PARQUET_EXTENSIONS):
        return "parquet"
    if lower.endswith(ARROW_EXTENSIONS):
        return "arrow"
    return None


def open_reader(path: str, fmt: CsvFormat = CsvFormat(), block_bytes: int = DEFAULT_BLOCK_BYTES):
    """A :class:`ColumnarReader` for a columnar extension, else a :class:`CsvReader`."""
    if columnar_kind(path) is not None:
        return ColumnarReader(path, fmt, block_bytes=block_bytes)
    return CsvReader(path, fmt, block_bytes=block_bytes)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def _with_article(noun: str) -> str:
    return ("an " if noun[0] in "AEIOU" else "a ") + noun


def _read_magic(path: str, label: str) -> bytes:
    """The first 8 bytes of ``path``, turning an unreadable file into a NoInputError."""
    with open_file(path, label) as handle:
        return handle.read(8)


def _is_number_type(data_type) -> bool:
    """Integers, floats and decimals are numbers; bool, text, dates and times are not."""
    import pyarrow as pa

    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type)


def _decoded(column):
    """A dictionary-encoded column (e.g. a pandas categorical) as plain values."""
    import pyarrow as pa

    return column.dictionary_decode() if pa.types.is_dictionary(column.type) else column


def _rebatched(batches: Iterator, batch_rows: int) -> Iterator:
    """Record batches of exactly ``batch_rows`` rows (the last one may be shorter).

    A writer may have put a whole file in one record batch, or a row in each:
    slicing the first is free, and gluing the second keeps the per-block cost low.
    """
    import pyarrow as pa

    pending, n_pending = [], 0
    for batch in batches:
        pending.append(batch)
        n_pending += batch.num_rows
        while n_pending >= batch_rows:
            table = pa.Table.from_batches(pending)
            yield from table.slice(0, batch_rows).combine_chunks().to_batches()
            rest = table.slice(batch_rows)
            pending, n_pending = rest.to_batches(), rest.num_rows
    if n_pending:
        yield from pa.Table.from_batches(pending).combine_chunks().to_batches()


class ColumnarReader:
    """A Parquet or Arrow IPC input read block by block.

    Parameters
    ----------
    path : str
        A file path (stdin is CSV only).
    fmt : CsvFormat
        Kept for the reader interface, with ``has_header`` always True (a schema
        names every column); the rest has no effect on a typed file.
    block_bytes : int
        Approximate bytes of parsed data per block.
    kind : {"parquet", "arrow"}, optional
        The format; by default from the extension (see :func:`columnar_kind`).

    Attributes
    ----------
    name : str
        The input as named in messages (the path).
    names : tuple of str
        Every column's name, from the schema.
    numeric : tuple of bool
        Whether a column's type is an integer, float or decimal (bool, text,
        dates and times are not).
    decimal_comma : tuple of str
        Always empty (CsvReader's text columns of decimal-comma numbers).
    kind : {"parquet", "arrow"}
    """

    def __init__(self, path: str, fmt: CsvFormat = CsvFormat(), block_bytes: int = DEFAULT_BLOCK_BYTES,
                 kind: Optional[str] = None):
        import pyarrow as pa

        self.name = path
        self.fmt = replace(fmt, has_header=True)
        self.decimal_comma = ()  # typed columns: no numbers hidden in text with a decimal comma
        self.block_bytes = block_bytes
        self.kind = kind or columnar_kind(path) or "parquet"
        self._format = FORMAT_NAMES[self.kind]
        magic = _read_magic(path, _with_article(self._format))
        self._parquet = self._source = None
        self._ipc_file = False  # True: IPC file format (random access); False: IPC stream
        try:
            schema = self._open_parquet() if self.kind == "parquet" else self._open_arrow(magic)
        except (pa.ArrowException, OSError) as exc:
            self.close()
            raise DataError(f"{path}: not {_with_article(self._format)}: {_one_line(exc)}") from None
        self._types = tuple(schema.types)
        self.names = tuple(schema.names)
        self.numeric = tuple(_is_number_type(t) for t in self._types)
        seen = set()
        for name in self.names:
            if name in seen:
                self.close()
                raise DataError(f"{path}: duplicate column name {name!r}")
            seen.add(name)

    # ------------------------------------------------------------ opening
    def _open_parquet(self):
        import pyarrow.parquet as pq

        # pre_buffer (ParquetFile's default in recent pyarrow) reads the whole file into memory
        # ahead of the batches; a 1 MiB buffered read per column keeps memory to about
        # one row group and is as fast on a local disk.
        self._parquet = pq.ParquetFile(self.name, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES)
        return self._parquet.schema_arrow

    def _open_arrow(self, magic: bytes):
        import pyarrow as pa
        import pyarrow.ipc as ipc

        if magic.startswith(FEATHER_V1_MAGIC):
            raise DataError(f"{self.name}: Feather version 1 is not supported; "
                            "rewrite it as Feather version 2 (pyarrow.feather.write_feather)")
        # Memory-mapped: record batches are read in place, and pages of columns
        # that are not asked for are never touched.
        self._source = pa.memory_map(self.name, "r")
        self._ipc_file = magic.startswith(ARROW_FILE_MAGIC)
        opener = ipc.open_file if self._ipc_file else ipc.open_stream
        return opener(self._source).schema

    def delimiter_hint(self) -> str:
        """No hint: a schema cannot be split with the wrong delimiter."""
        return ""

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._source is not None:
            self._source.close()

    # ------------------------------------------------------------ batches
    def _batch_rows(self, n_numbers: int, n_texts: int) -> int:
        """Rows per batch so that one block takes about ``block_bytes``."""
        row_bytes = 8 * n_numbers + TEXT_CELL_BYTES * n_texts
        return max(1, self.block_bytes // max(row_bytes, 8))

    def _raw_batches(self, columns: list, batch_rows: int) -> Iterator:
        """Record batches holding (at least) ``columns``, each at most ``batch_rows`` long."""
        import pyarrow.ipc as ipc

        if self._parquet is not None:
            yield from self._parquet.iter_batches(batch_size=batch_rows, columns=columns)
            return
        options = ipc.IpcReadOptions(included_fields=[self.names.index(c) for c in columns])
        if self._ipc_file:
            reader = ipc.open_file(self._source, options=options)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        else:
            self._source.seek(0)  # a stream is read from its start on every pass
            batches = ipc.open_stream(self._source, options=options)
        yield from _rebatched(batches, batch_rows)

    def _batches(self, columns: list, batch_rows: int) -> Iterator:
        """:meth:`_raw_batches`, with pyarrow's errors about a damaged file as DataErrors."""
        import pyarrow as pa

        batches = self._raw_batches(columns, batch_rows)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"{self.name}: corrupt {self._format}: {_one_line(exc)}") from None
            yield batch

    # ------------------------------------------------------------ blocks
    def blocks(self, selected: Sequence[int], keep: Sequence[int] = (), missing: bool = False) -> Iterator[Block]:
        """Read the data block by block.

        Parameters
        ----------
        selected : column indices read as float64 (in this order); each must
            have a number type.
        keep : column indices passed through as text (pyarrow string arrays;
            numbers formatted so that they read back exactly).
        missing : read nulls (and float NaN) as NaN instead of refusing them;
            infinities are still refused.

        Yields
        ------
        Block
            ``X`` of shape (n_rows, len(selected)), float64, Fortran order;
            ``keep``; ``first_line`` = the block's first data row (1-based) + 1.

        Raises
        ------
        DataError
            At once for a selected column that is not numeric; while reading for
            a missing or non-finite value (naming row and column) or a damaged file.
        """
        selected, keep = list(selected), list(keep)
        for j in selected:
            if not self.numeric[j]:
                raise DataError(f"{self.name}: column {self.names[j]!r} has type {self._types[j]}, "
                                "not a number type")
        columns = list(dict.fromkeys(self.names[j] for j in selected + keep))
        batch_rows = self._batch_rows(len(selected), len(set(keep) - set(selected)))
        return self._blocks(self._batches(columns, batch_rows), selected, keep, missing)

    def _blocks(self, batches: Iterator, selected: list, keep: list, missing: bool) -> Iterator[Block]:
        rows_before = 0
        for batch in batches:
            if batch.num_rows == 0:
                continue
            X = self._matrix(batch, selected, missing, rows_before)
            kept = [self._text(batch.column(self.names[j]), j) for j in keep]
            yield Block(X, kept, rows_before + 2, self.name, "row")
            rows_before += batch.num_rows

    def _matrix(self, batch, selected: list, missing: bool, rows_before: int) -> np.ndarray:
        """The selected columns of ``batch`` as float64, nulls as NaN, checked finite."""
        import pyarrow as pa

        X = np.empty((batch.num_rows, len(selected)), order="F")
        columns = []
        for k, j in enumerate(selected):
            column = _decoded(batch.column(self.names[j]))
            try:
                # unsafe: integers above 2**53 round to the nearest float instead of failing
                column = column.cast(pa.float64(), safe=False)
            except pa.ArrowException as exc:
                raise DataError(f"{self.name}: column {self.names[j]!r}: cannot read type "
                                f"{self._types[j]} as a number: {_one_line(exc)}") from None
            _fill_column(X[:, k], pa.chunked_array([column]))
            columns.append(column)
        bad = np.isinf(X) if missing else ~np.isfinite(X)
        if bad.any():
            i, k = (int(v) for v in np.argwhere(bad)[0])  # the first bad cell in reading order
            raise self._bad_cell(rows_before + i + 1, selected[k], columns[k][i])
        return X

    def _bad_cell(self, row: int, j: int, value) -> DataError:
        """Why a cell is refused: a null, a stored NaN, or an infinity."""
        where = f"{self.name}: row {row}, column {self.names[j]!r}"
        if not value.is_valid:
            return DataError(f"{where}: missing value {MISSING_HINT}")
        if np.isnan(value.as_py()):
            return DataError(f"{where}: NaN is a missing value {MISSING_HINT}")
        return DataError(f"{where}: {value.as_py()} is not a finite number")

    def _text(self, column, j: int):
        """A kept column as a pyarrow string array (nulls stay null)."""
        import pyarrow as pa

        column = _decoded(column)
        if column.type == pa.string():
            return column
        try:
            # pyarrow formats floats with the fewest digits that read back exactly
            return column.cast(pa.string())
        except pa.ArrowException as exc:
            raise DataError(f"{self.name}: column {self.names[j]!r}: cannot pass type "
                            f"{self._types[j]} through as text: {_one_line(exc)}") from None


# ---------------------------------------------------------------- writing
def _to_arrow(column, data_type=None):
    """A pyarrow Array from a numpy array or a pyarrow (Chunked)Array.

    Numeric numpy arrays are wrapped through their buffer: ``pa.array`` would
    import pandas (half a second) just to check whether it was given a Series.
    """
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    elif isinstance(column, np.ndarray):
        values = np.ascontiguousarray(column)
        if values.dtype.kind in "iuf" and values.dtype.isnative:
            column = pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                           [None, pa.py_buffer(values)])
        else:
            column = pa.array(values)
    if data_type is not None and column.type != data_type:
        column = column.cast(data_type)
    return column


class ColumnarWriter:
    """Columns of results written as Parquet or Arrow IPC (Feather v2) to an open file.

    Parameters
    ----------
    file : binary file object
        Already open for writing (e.g. the atomic temp file, or stdout: only
        ``write`` is used, never ``seek``). It is left open by :meth:`close`.
    kind : {"parquet", "arrow"}
        As returned by :func:`columnar_kind`.
    names : sequence of str
        Column names, in the order of the columns given to :meth:`write`.
    types : sequence of pyarrow.DataType, optional
        Column types. Without them the first :meth:`write` decides, and a file
        with no rows at all gets float64 columns.
    name : str
        The output as named in error messages.

    Notes
    -----
    The output is deterministic: Parquet records only the writer's version
    (``created_by``), no time stamp, so equal input gives byte-identical files
    under the same pyarrow.
    """

    def __init__(self, file: BinaryIO, kind: str, names: Sequence[str],
                 types: Optional[Sequence] = None, name: str = "<output>"):
        import pyarrow as pa

        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self.file, self.kind, self.names, self.name = file, kind, list(names), name
        self.schema = None if types is None else pa.schema(list(zip(self.names, types)))
        self._writer = None

    def _open(self, schema) -> None:
        import pyarrow.ipc as ipc
        import pyarrow.parquet as pq

        self.schema = schema
        if self.kind == "parquet":
            # snappy: the codec every Parquet reader has; pinned so a new pyarrow default
            # does not change the bytes.
            self._writer = pq.ParquetWriter(self.file, schema, compression="snappy")
        else:
            # Uncompressed, so that readers can memory-map the columns without copying.
            self._writer = ipc.new_file(self.file, schema)

    def write(self, columns: Sequence) -> None:
        """Append one row group (Parquet) or record batch (Arrow) of equally long columns.

        Parameters
        ----------
        columns : list of numpy arrays or pyarrow arrays, one per name
            Text as pyarrow string arrays, labels as int64, values as float64.
        """
        import pyarrow as pa

        if len(columns) != len(self.names):
            raise ValueError(f"{len(columns)} columns for {len(self.names)} names")
        types = self.schema.types if self.schema is not None else [None] * len(columns)
        arrays = [_to_arrow(c, t) for c, t in zip(columns, types)]
        batch = pa.RecordBatch.from_arrays(arrays, names=self.names)
        with _write_errors(self.name):
            if self._writer is None:
                self._open(batch.schema)
            if batch.num_rows == 0:
                return
            if self.kind == "parquet":
                self._writer.write_batch(batch, row_group_size=batch.num_rows)
            else:
                self._writer.write_batch(batch)

    def close(self) -> None:
        """Finish the file (Parquet footer, IPC footer); the file object stays open."""
        import pyarrow as pa

        with _write_errors(self.name):
            if self._writer is None:
                self._open(self.schema or pa.schema([(n, pa.float64()) for n in self.names]))
            self._writer.close()

@contextmanager
def _write_errors(name: str) -> Iterator[None]:
    """Turn an OSError while writing into a WriteError (a closed pipe stays itself: the CLI
    ends quietly on it)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise WriteError(f"{name}: no space left on device") from None
        raise WriteError(f"{name}: write failed: {exc.strerror or _one_line(exc)}") from None


def table_output(out, path: Optional[str], names: Sequence[str]) -> Optional[ColumnarWriter]:
    """A Parquet or Arrow writer into the atomic output ``out`` when ``path``'s extension asks
    for one (None: the output is text)."""
    kind = columnar_kind(path) if path else None
    return None if kind is None else ColumnarWriter(out.file, kind, names, name=path)
