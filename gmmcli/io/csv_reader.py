"""Strict, streaming CSV reading.

The bytes are cut into blocks at record boundaries (a newline outside quotes)
and each block is parsed by pyarrow's CSV reader with every selected column
typed float64 and no missing-value tokens. When pyarrow refuses a block, or a
value is not finite, the block is scanned again with Python's csv module to
name the exact line, column and value: the fast path decides, the slow path
explains.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

import numpy as np

from gmmcli.errors import DataError, UsageError
from gmmcli.io.source import display_name, open_binary, read_chunk
from gmmcli.parallel import default_threads, ordered_map

DEFAULT_BLOCK_BYTES = 4 << 20
NUMERIC_PROBE_ROWS = 100
NA_TOKENS = frozenset(
    t.lower() for t in ("NA", "N/A", "null", "None", "nan", "-nan", "#N/A", "NaN", "n/a", "<NA>", "?")
)
# The spellings pyarrow reads as null when missing values are allowed (it matches exactly).
NA_SPELLINGS = tuple(sorted({v for t in NA_TOKENS for v in (t, t.upper(), t.capitalize())} |
                            {"NA", "N/A", "NaN", "None", "NULL", "Null", "#N/A", "<NA>", "", "-NaN", "nan"}))
_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*", re.ASCII)
# A number written with a decimal comma (and no other comma): 3,14 or -0,5e3.
_COMMA_NUMBER = re.compile(r"\s*[+-]?[0-9]*,[0-9]+(?:[eE][+-]?[0-9]+)?\s*", re.ASCII)
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class CsvFormat:
    """How to read the file: delimiter, whether the first record is a header
    (None: not decided yet, e.g. predict follows the model's training data) and the
    decimal mark of the numbers ("." or ",")."""

    delimiter: str = ","
    has_header: Optional[bool] = True
    decimal: str = "."


@dataclass(frozen=True)
class Block:
    """Parsed rows of one block.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_selected), float64
    keep : list of pyarrow arrays (the pass-through columns as text)
    first_line : int
        Line number of the block's first byte in the file (1-based); for a columnar
        file, its first row number + 1 (as if the file were a CSV with a header).
    source : str
        The file as named in messages.
    unit : {"line", "row"}
        How :meth:`location` counts: lines of text, or rows of a columnar file.
    """

    X: np.ndarray
    keep: list
    first_line: int
    source: str = ""
    unit: str = "line"

    def position(self, i: int) -> str:
        """Where the block's row ``i`` (0-based) is in its file: ``line N`` or ``row N``."""
        return f"{self.unit} {self.first_line + i if self.unit == 'line' else self.first_line - 1 + i}"

    def location(self, i: int) -> str:
        """The same with the file, for messages: ``FILE: line N``."""
        return f"{self.source}: {self.position(i)}"


def is_missing(cell: str) -> bool:
    """An empty cell or a missing-value token."""
    return cell.strip() == "" or cell.strip().lower() in NA_TOKENS


def parse_number(cell: str, decimal: str = ".") -> Optional[float]:
    """The value of a strictly formatted decimal number, or None.

    Accepts ASCII digits with an optional sign, decimal mark and exponent, surrounded
    by optional spaces; refuses ``1_000``, hex, non-ASCII digits and words.
    """
    if decimal != ".":
        if "." in cell:
            return None
        cell = cell.replace(decimal, ".", 1)
    if not _NUMBER.fullmatch(cell):
        return None
    return float(cell)


def is_decimal_comma_number(cell: str) -> bool:
    return bool(_COMMA_NUMBER.fullmatch(cell))


def cell_problem(cell: str, delimiter: str, decimal: str = ".") -> Optional[str]:
    """Why ``cell`` is not a finite number (None when it is one)."""
    if cell.strip() == "":
        return "empty cell (to allow missing values, use --missing)"
    if cell.strip().lower() in NA_TOKENS:
        return f"{cell!r} is a missing value (to allow missing values, use --missing)"
    value = parse_number(cell, decimal)
    if value is None and cell.strip().lower().lstrip("+-") in ("inf", "infinity"):
        return f"{cell!r} is not a finite number"
    if value is None:
        hint = ""
        if "_" in cell:
            hint = " (digit separators are not allowed)"
        elif decimal == "." and is_decimal_comma_number(cell) and delimiter != ",":
            hint = " (decimal comma? use --decimal ,)"
        elif "," in cell:
            hint = " (thousands separators are not allowed)"
        return f"{cell!r} is not a number{hint}"
    if not np.isfinite(value):
        return f"{cell!r} is not a finite number"
    return None


def _last_record_end(buf: bytes) -> int:
    """Index of the last newline that ends a record (not inside quotes), or -1."""
    if b'"' not in buf:
        return buf.rfind(b"\n")
    arr = np.frombuffer(buf, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    if newlines.size == 0:
        return -1
    quotes = np.cumsum(arr == 34)
    ends = newlines[quotes[newlines] % 2 == 0]
    return int(ends[-1]) if ends.size else -1


def _first_record_end(buf: bytes) -> int:
    if b'"' not in buf:
        return buf.find(b"\n")
    arr = np.frombuffer(buf, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    quotes = np.cumsum(arr == 34)
    ends = newlines[quotes[newlines] % 2 == 0]
    return int(ends[0]) if ends.size else -1


def _split_fields(text: str, delimiter: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return rows[0] if rows else []


class CsvReader:
    """A CSV input read block by block.

    Parameters
    ----------
    path : str
        A file path or ``-`` for stdin.
    fmt : CsvFormat
    block_bytes : int
        Approximate bytes per block.

    Attributes
    ----------
    name : str
        The input as named in messages.
    names : tuple of str
        Every column's name (1-based positions without a header).
    numeric : tuple of bool
        Whether a column looks numeric in the first rows.
    first_fields : tuple of str
        The cells of the first record (the header, or the first data row).
    decimal_comma : tuple of str
        Names of columns that are not numeric but whose cells in the first rows are
        numbers written with a decimal comma (so ``--decimal ,`` was probably meant).
    """

    def __init__(self, path: str, fmt: CsvFormat = CsvFormat(), block_bytes: int = DEFAULT_BLOCK_BYTES):
        self.name = display_name(path)
        self.fmt = fmt
        self.block_bytes = block_bytes
        self._stream = open_binary(path)
        self._pending = self._read_first()
        self._line = 1
        self.names, self._pending, self._line = self._take_header(self._pending)
        self.numeric, self.decimal_comma = self._probe_numeric(self._pending)

    # ------------------------------------------------------------ set-up
    def _read_first(self) -> bytes:
        buf = read_chunk(self._stream, self.block_bytes, self.name)
        while buf and _first_record_end(buf) < 0:
            more = read_chunk(self._stream, self.block_bytes, self.name)
            if not more:
                break
            buf += more
        if buf.startswith(_UTF16_BOMS):
            raise DataError(f"{self.name}: file is UTF-16 encoded; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)")
        if buf.startswith(_UTF8_BOM):
            buf = buf[len(_UTF8_BOM):]
        if not buf.strip():
            raise DataError(f"{self.name}: empty input (no header and no rows)")
        return buf

    def _take_header(self, buf: bytes):
        end = _first_record_end(buf)
        first, rest = (buf, b"") if end < 0 else (buf[: end + 1], buf[end + 1:])
        try:
            text = first.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{self.name}: line 1: not UTF-8 text") from None
        fields = [f.strip() for f in _split_fields(text, self.fmt.delimiter)]
        self.first_fields = tuple(fields)
        if not self.fmt.has_header:
            return tuple(str(i + 1) for i in range(len(fields))), buf, 1
        for i, field in enumerate(fields):
            if field == "":
                raise DataError(f"{self.name}: line 1: column {i + 1} has an empty name (no header? use -H)")
        seen = set()
        for field in fields:
            if field in seen:
                raise DataError(f"{self.name}: line 1: duplicate column name {field!r}")
            seen.add(field)
        return tuple(fields), rest, 1 + first.count(b"\n")

    def _probe_numeric(self, buf: bytes) -> tuple:
        """(numeric flag per column, names of the columns of decimal-comma numbers)."""
        text = buf[: 1 << 20].decode("utf-8", errors="replace")
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=self.fmt.delimiter)
        numeric = [False] * len(self.names)
        comma = [True] * len(self.names)  # every cell a number or missing …
        any_comma = [False] * len(self.names)  # … and one with a decimal comma
        seen = 0
        for row in rows:
            if seen >= NUMERIC_PROBE_ROWS:
                break
            seen += bool(row)
            for j, cell in enumerate(row[: len(self.names)]):
                numeric[j] = numeric[j] or parse_number(cell, self.fmt.decimal) is not None
                any_comma[j] = any_comma[j] or is_decimal_comma_number(cell)
                comma[j] = comma[j] and (is_decimal_comma_number(cell) or parse_number(cell) is not None
                                         or is_missing(cell))
        # With no rows to look at, every column may be numeric: the caller then
        # reports "no data rows" rather than "no numeric columns".
        if not seen:
            return (True,) * len(self.names), ()
        names = tuple(n for n, num, c, a in zip(self.names, numeric, comma, any_comma) if c and a and not num)
        return tuple(numeric), names if self.fmt.decimal == "." else ()

    def delimiter_hint(self) -> str:
        """A hint when the header looks like it was split with the wrong delimiter."""
        if len(self.names) == 1:
            for d, shown in ((";", ";"), ("\t", "\\t"), ("|", "|"), (",", ",")):
                if d != self.fmt.delimiter and d in self.names[0]:
                    return f" (wrong delimiter? try -d '{shown}')"
        return ""

    # ------------------------------------------------------------ blocks
    def _raw_blocks(self) -> Iterator[tuple[int, bytes]]:
        buf, line = self._pending, self._line
        self._pending = b""
        eof = False
        while True:
            if not eof and len(buf) < self.block_bytes:
                more = read_chunk(self._stream, self.block_bytes, self.name)
                eof = not more
                buf += more
                if not eof:
                    continue
            if eof:
                if buf:
                    yield line, buf
                return
            cut = _last_record_end(buf)
            if cut < 0:
                more = read_chunk(self._stream, self.block_bytes, self.name)
                eof = not more
                buf += more
                continue
            block, buf = buf[: cut + 1], buf[cut + 1:]
            yield line, block
            line += block.count(b"\n")

    def blocks(self, selected: Sequence[int], keep: Sequence[int] = (), missing: bool = False) -> Iterator[Block]:
        """Parse the data block by block.

        Parameters
        ----------
        selected : column indices parsed as float64 (in this order)
        keep : column indices passed through as text
        missing : read empty cells and missing-value tokens (NA, null, nan, …) as NaN
            instead of refusing them; infinities are still refused.
        """
        import pyarrow as pa
        import pyarrow.csv as pacsv

        internal = [f"c{i}" for i in range(len(self.names))]
        # a kept column is copied verbatim (153.90 stays 153.90): read as text, and when it is
        # also a feature its numbers are parsed from that text
        as_text = set(keep)
        types = {internal[j]: pa.string() if j in as_text else pa.float64() for j in list(selected) + list(keep)}
        include = list(dict.fromkeys([internal[j] for j in list(selected) + list(keep)]))
        convert_options = pacsv.ConvertOptions(
            include_columns=include, column_types=types, null_values=list(NA_SPELLINGS) if missing else [],
            strings_can_be_null=False, quoted_strings_can_be_null=missing, decimal_point=self.fmt.decimal,
        )

        def parse(item) -> Optional[Block]:
            first_line, data = item
            if not data.strip():
                return None
            quoted = b'"' in data
            try:
                table = pacsv.read_csv(
                    pa.py_buffer(data),
                    read_options=pacsv.ReadOptions(column_names=internal, use_threads=False),
                    parse_options=pacsv.ParseOptions(delimiter=self.fmt.delimiter, newlines_in_values=quoted),
                    convert_options=convert_options,
                )
                X = np.empty((table.num_rows, len(selected)), order="F")
                for k, j in enumerate(selected):
                    column = table.column(internal[j])
                    _fill_column(X[:, k], _text_to_float(column, missing, self.fmt.decimal) if j in as_text
                                 else column)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise self._diagnose(first_line, data, selected, missing) from None
            if not (np.isfinite(X).all() or (missing and not np.isinf(X).any())):
                raise self._diagnose(first_line, data, selected, missing)
            return Block(X, [table.column(internal[j]) for j in keep], first_line, self.name)

        # blocks are parsed on every core (pyarrow releases the GIL), handed out in order
        for block in ordered_map(parse, self._raw_blocks(), default_threads()):
            if block is not None:
                yield block

    def close(self) -> None:
        self._stream.close()

    # ------------------------------------------------------------ explaining
    def _diagnose(self, first_line: int, data: bytes, selected: Sequence[int], missing: bool = False) -> DataError:
        """Find the first bad record of a block and say exactly what is wrong."""
        text = data.decode("utf-8", errors="replace")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.fmt.delimiter)
        n_fields = len(self.names)
        previous = 0
        for row in reader:
            line = first_line + previous
            previous = reader.line_num
            if not row:
                continue
            if len(row) != n_fields:
                return DataError(self._field_count_message(line, row))
            for j in selected:
                problem = cell_problem(row[j], self.fmt.delimiter, self.fmt.decimal)
                if problem and not (missing and is_missing(row[j])):
                    return DataError(f"{self.name}: line {line}, column {self.names[j]!r}: {problem}")
        return DataError(f"{self.name}: lines {first_line}-{first_line + previous}: malformed CSV")

    def _field_count_message(self, line: int, row: list) -> str:
        n_fields = len(self.names)
        expected = "the header has" if self.fmt.has_header else "line 1 has"
        message = f"{self.name}: line {line}: {len(row)} fields, but {expected} {n_fields}"
        if len(row) == n_fields + 1 and row[-1] == "":
            message += " (trailing delimiter?)"
        return message + self.delimiter_hint()


def _text_to_float(column, missing: bool, decimal: str):
    """A text column's numbers as float64 (missing-value spellings as null when ``missing``);
    raises pyarrow's ArrowInvalid on a cell that is not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = pc.utf8_trim_whitespace(column)
    if missing:
        column = pc.if_else(pc.is_in(column, value_set=pa.array(NA_SPELLINGS)), pa.scalar(None, pa.string()), column)
    if decimal != ".":
        if pc.any(pc.match_substring(column, ".")).as_py():
            raise pa.ArrowInvalid("a '.' in a number with a decimal comma")
        column = pc.replace_substring(column, decimal, ".", max_replacements=1)
    return pc.cast(column, pa.float64())


def _fill_column(out: np.ndarray, column) -> None:
    """Copy a float64 pyarrow column into ``out``, nulls as NaN.

    Reads the data buffers directly: ``to_numpy`` would import pandas (slow start-up).
    """
    pos = 0
    for chunk in column.chunks:
        n = len(chunk)
        validity, values = chunk.buffers()[:2]
        out[pos:pos + n] = np.frombuffer(values, dtype=np.float64, count=n, offset=chunk.offset * 8)
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
            out[pos:pos + n][bits[chunk.offset:chunk.offset + n] == 0] = np.nan
        pos += n


def resolve_columns(spec: Optional[str], names: Sequence[str], numeric: Sequence[bool]):
    """Column indices selected by a ``-c`` spec.

    A spec is a comma-separated list of names, 1-based indices and ranges
    ``a-b``; a leading ``!`` excludes. With only exclusions (or no spec), the
    start is every numeric column.

    Returns
    -------
    selected : list of int
    skipped : list of str
        Non-numeric columns left out by default (reported to the user).
    """
    default = [i for i, num in enumerate(numeric) if num]
    skipped = [names[i] for i, num in enumerate(numeric) if not num]
    if spec is None or spec.strip() == "":
        return default, skipped
    include: list[int] = []
    exclude: set[int] = set()
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        target = exclude if token.startswith("!") else None
        indices = _resolve_token(token.lstrip("!").strip(), names)
        if target is None:
            include.extend(i for i in indices if i not in include)
        else:
            exclude.update(indices)
    base = include if include else default
    selected = [i for i in base if i not in exclude]
    skipped = [] if include else [s for s in skipped if names.index(s) not in exclude]
    return selected, skipped


def _resolve_token(token: str, names: Sequence[str]) -> list[int]:
    if token in names:
        return [list(names).index(token)]
    if token.isdigit():
        return [_index(int(token), names, token)]
    match = re.fullmatch(r"(.+?)-(.+)", token)
    if match:
        lo, hi = (_resolve_token(part, names)[0] for part in match.groups())
        if lo > hi:
            raise UsageError(f"column range {token!r} runs backwards")
        return list(range(lo, hi + 1))
    raise UsageError(f"unknown column {token!r} (columns: {', '.join(repr(n) for n in names)})")


def _index(position: int, names: Sequence[str], token: str) -> int:
    if not 1 <= position <= len(names):
        raise UsageError(f"column {token} is out of range (the input has {len(names)} columns)")
    return position - 1
