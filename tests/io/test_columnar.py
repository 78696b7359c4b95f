"""Parquet and Arrow IPC (Feather v2) inputs and outputs."""

import datetime
import errno
import io
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from gmmcli.errors import DataError, NoInputError, WriteError
from gmmcli.io.columnar import TEXT_CELL_BYTES, ColumnarReader, ColumnarWriter, columnar_kind, open_reader
from gmmcli.io.csv_reader import CsvFormat, CsvReader

HINT = "(to allow missing values, use --missing)"


def mixed_table():
    return pa.table({
        "id": pa.array(["r1", "r2", None, "r4"]),
        "n": pa.array([1, None, 3, 2 ** 53 + 1], pa.int64()),
        "x": pa.array([0.1, 2.5, None, 1 / 3]),
        "f32": pa.array([1.5, 2.0, 3.25, -1.0], pa.float32()),
        "flag": pa.array([True, False, None, True]),
        "when": pa.array([datetime.datetime(2024, 1, d) for d in (1, 2, 3, 4)]),
        "cat": pa.array(["a", "b", "a", "b"]).dictionary_encode(),
    })


def read_all(path, selected, keep=(), missing=False, block_bytes=1 << 20):
    reader = ColumnarReader(str(path), block_bytes=block_bytes)
    try:
        blocks = list(reader.blocks(selected, keep, missing=missing))
    finally:
        reader.close()
    return blocks


def data_table(n_rows=1000):
    rng = np.random.default_rng(0)
    return pa.table({"label": pa.array([f"row{i}" for i in range(n_rows)]),
                     "a": rng.normal(size=n_rows), "b": np.arange(n_rows, dtype=np.int32)})


@pytest.mark.parametrize("path,kind", [
    ("a.parquet", "parquet"), ("A.PQ", "parquet"), ("x/a.arrow", "arrow"), ("a.Feather", "arrow"),
    ("a.ipc", "arrow"), ("a.csv", None), ("a.parquet.gz", None), ("-", None), ("parquet", None),
])
def test_kind_from_extension(path, kind):
    assert columnar_kind(path) == kind


def test_open_reader_picks_by_extension(tmp_path):
    pq.write_table(mixed_table(), tmp_path / "a.parquet")
    (tmp_path / "a.csv").write_text("x\n1\n")
    columnar, text = open_reader(str(tmp_path / "a.parquet")), open_reader(str(tmp_path / "a.csv"))
    assert isinstance(columnar, ColumnarReader) and isinstance(text, CsvReader)
    columnar.close()
    text.close()


def test_names_and_numeric_flags_from_the_schema(tmp_path):
    path = str(tmp_path / "a.parquet")
    pq.write_table(mixed_table(), path)
    reader = ColumnarReader(path, CsvFormat(";", has_header=False))
    assert reader.name == path and reader.fmt == CsvFormat(";", True) and reader.decimal_comma == ()
    assert reader.names == ("id", "n", "x", "f32", "flag", "when", "cat")
    assert reader.numeric == (False, True, True, True, False, False, False)
    assert reader.delimiter_hint() == ""
    reader.close()


def test_values_nulls_as_nan_and_kept_columns_as_text(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(mixed_table(), path)
    [block] = read_all(path, [2, 1, 3], keep=[0, 2, 4, 5, 6], missing=True)
    expected = [[0.1, 1, 1.5], [2.5, np.nan, 2.0], [np.nan, 3, 3.25], [1 / 3, 2.0 ** 53, -1.0]]
    np.testing.assert_array_equal(block.X, expected)
    assert block.X.dtype == np.float64 and block.X.flags.f_contiguous
    assert block.first_line == 2
    assert [k.to_pylist() for k in block.keep] == [
        ["r1", "r2", None, "r4"],
        ["0.1", "2.5", None, "0.3333333333333333"],
        ["true", "false", None, "true"],
        [f"2024-01-0{d} 00:00:00.000000" for d in (1, 2, 3, 4)],
        ["a", "b", "a", "b"],
    ]
    assert all(k.type == pa.string() for k in block.keep)
    assert float(block.keep[1][3].as_py()) == 1 / 3  # a float passed through reads back exactly


def test_blocks_stream_across_row_groups_with_row_numbers(tmp_path):
    path = tmp_path / "a.parquet"
    table = data_table(1000)
    pq.write_table(table, path, row_group_size=300)
    assert pq.ParquetFile(path).num_row_groups == 4
    # two numbers per row: 8 * 2 * 64 bytes is 64 rows per block
    blocks = read_all(path, [1, 2], block_bytes=8 * 2 * 64)
    sizes = [len(b.X) for b in blocks]
    assert len(blocks) > 4 and max(sizes) == 64 and sum(sizes) == 1000
    assert [b.first_line for b in blocks] == list(2 + np.cumsum([0] + sizes[:-1]))
    X = np.concatenate([b.X for b in blocks])
    np.testing.assert_array_equal(X[:, 0], table["a"].to_numpy())
    np.testing.assert_array_equal(X[:, 1], np.arange(1000))


def test_blocks_can_be_read_twice(tmp_path):
    path = str(tmp_path / "a.arrow")
    with ipc.new_stream(path, data_table(50).schema) as writer:
        writer.write_table(data_table(50))
    reader = ColumnarReader(path, block_bytes=80)
    first, second = ([b.X for b in reader.blocks([1])] for _ in range(2))
    reader.close()
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(second))


def test_null_is_refused_with_its_row_unless_missing_is_allowed(tmp_path):
    path = tmp_path / "a.parquet"
    a = np.arange(100.0)
    pq.write_table(pa.table({"a": a, "b": pa.array([1.0] * 76 + [None] + [1.0] * 23)}), path, row_group_size=30)
    with pytest.raises(DataError) as exc:
        read_all(path, [0, 1], block_bytes=8 * 2 * 10)
    assert str(exc.value) == f"{path}: row 77, column 'b': missing value {HINT}"
    X = np.concatenate([b.X for b in read_all(path, [0, 1], missing=True, block_bytes=8 * 2 * 10)])
    assert np.isnan(X[76, 1]) and np.isnan(X).sum() == 1


def test_stored_nan_is_a_missing_value(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0, float("nan")]}), path)
    with pytest.raises(DataError) as exc:
        read_all(path, [0])
    assert str(exc.value) == f"{path}: row 3, column 'a': NaN is a missing value {HINT}"
    [block] = read_all(path, [0], missing=True)
    assert np.isnan(block.X[2, 0])


@pytest.mark.parametrize("missing", [False, True])
def test_infinity_is_refused(tmp_path, missing):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "b": [0.0, -np.inf, np.inf]}), path)
    with pytest.raises(DataError) as exc:
        read_all(path, [0, 1], missing=missing)
    assert str(exc.value) == f"{path}: row 2, column 'b': -inf is not a finite number"


@pytest.mark.parametrize("column,message", [
    (0, "column 'id' has type string, not a number type"),
    (4, "column 'flag' has type bool, not a number type"),
    (5, "column 'when' has type timestamp[us], not a number type"),
    (6, "column 'cat' has type dictionary<values=string, indices=int32, ordered=0>, not a number type"),
])
def test_non_numeric_selected_column_is_refused_at_once(tmp_path, column, message):
    path = tmp_path / "a.parquet"
    pq.write_table(mixed_table(), path)
    reader = ColumnarReader(str(path))
    with pytest.raises(DataError) as exc:
        reader.blocks([1, column])  # before any block is read
    reader.close()
    assert str(exc.value) == f"{path}: {message}"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(NoInputError) as exc:
        ColumnarReader(str(tmp_path / "nope.parquet"))
    assert str(exc.value) == f"{tmp_path / 'nope.parquet'}: no such file"
    (tmp_path / "d.feather").mkdir()
    with pytest.raises(NoInputError) as exc:
        open_reader(str(tmp_path / "d.feather"))
    assert str(exc.value) == f"{tmp_path / 'd.feather'}: is a directory, not an Arrow IPC file"


@pytest.mark.parametrize("name,content,message", [
    ("a.parquet", b"id,x\n1,2\n", "not a Parquet file: Parquet magic bytes not found in footer."),
    ("a.parquet", b"", "not a Parquet file: Parquet file size is 0 bytes"),
    ("a.arrow", b"id,x\n1,2\n", "not an Arrow IPC file: "),
    ("a.feather", b"FEA1" + b"\0" * 40, "Feather version 1 is not supported; "
                                        "rewrite it as Feather version 2 (pyarrow.feather.write_feather)"),
])
def test_not_a_columnar_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as exc:
        ColumnarReader(str(path))
    text = str(exc.value)
    assert text.startswith(f"{path}: {message}") and "\n" not in text


def test_damaged_row_group_is_a_data_error(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"a": np.arange(10000.0)}), path, row_group_size=1000)
    data = bytearray(path.read_bytes())
    data[1000:30000] = bytes((v * 7 + 13) % 256 for v in data[1000:30000])
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as exc:
        read_all(path, [0])
    assert str(exc.value).startswith(f"{path}: corrupt Parquet file: ")


def test_duplicate_column_names_are_refused(tmp_path):
    path = tmp_path / "a.arrow"
    feather.write_feather(pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0])], names=["x", "x"]), str(path))
    with pytest.raises(DataError) as exc:
        ColumnarReader(str(path))
    assert str(exc.value) == f"{path}: duplicate column name 'x'"


def test_feather_file_and_arrow_stream(tmp_path):
    table = data_table(500)
    compressed = tmp_path / "a.feather"
    feather.write_feather(table, str(compressed), chunksize=200)  # Feather v2, lz4, 3 record batches
    stream = tmp_path / "a.ipc"
    with ipc.new_stream(str(stream), table.schema) as writer:
        writer.write_table(table)  # one record batch, sliced into blocks when read
    assert stream.read_bytes()[:6] != b"ARROW1"
    for path in (compressed, stream):
        blocks = read_all(path, [2, 1], keep=[0], block_bytes=(8 * 2 + TEXT_CELL_BYTES) * 64)
        assert [len(b.X) for b in blocks] == [64] * 7 + [52]  # across record batches of 200
        X = np.concatenate([b.X for b in blocks])
        np.testing.assert_array_equal(X, np.column_stack([np.arange(500), table["a"].to_numpy()]))
        assert sum((b.keep[0].to_pylist() for b in blocks), []) == table["label"].to_pylist()
        assert blocks[-1].first_line == 2 + 500 - len(blocks[-1].X)


def write_bytes(kind, blocks, names, file=None):
    file = file or io.BytesIO()
    writer = ColumnarWriter(file, kind, names)
    for columns in blocks:
        writer.write(columns)
    writer.close()
    assert not file.closed
    return file.getvalue()


def result_blocks():
    return [
        [pa.chunked_array([pa.array(["a", None]), pa.array(["c"])]), np.array([0, 1, 1]),
         np.array([0.25, 0.5, 1e-300])],
        [pa.array(["d"]), np.array([2]), np.array([-3.5])],
    ]


@pytest.mark.parametrize("kind,ext", [("parquet", "parquet"), ("arrow", "feather")])
def test_writer_round_trip_is_deterministic(tmp_path, kind, ext):
    names = ["id", "label", "prob"]
    data = write_bytes(kind, result_blocks(), names)
    assert write_bytes(kind, result_blocks(), names) == data
    path = tmp_path / f"out.{ext}"
    path.write_bytes(data)
    table = pq.read_table(path) if kind == "parquet" else feather.read_table(str(path))
    assert table.schema == pa.schema([("id", pa.string()), ("label", pa.int64()), ("prob", pa.float64())])
    assert table.to_pydict() == {"id": ["a", None, "c", "d"], "label": [0, 1, 1, 2],
                                 "prob": [0.25, 0.5, 1e-300, -3.5]}
    if kind == "parquet":
        assert pq.ParquetFile(path).num_row_groups == 2
    else:
        assert ipc.open_file(str(path)).num_record_batches == 2
    [block] = read_all(path, [1, 2], keep=[0])
    np.testing.assert_array_equal(block.X, [[0, 0.25], [1, 0.5], [1, 1e-300], [2, -3.5]])


class Pipe(io.RawIOBase):
    """A sink that can only be written to, like stdout into a pipe; ``fail`` sets an errno."""

    def __init__(self, fail=None):
        self.data, self.fail = bytearray(), fail

    def writable(self):
        return True

    def write(self, b):
        if self.fail:
            raise OSError(self.fail, "simulated")
        self.data += b
        return len(b)

    def getvalue(self):
        return bytes(self.data)


@pytest.mark.parametrize("kind", ["parquet", "arrow"])
def test_writer_needs_no_seek_and_writes_a_file_with_no_rows(tmp_path, kind):
    assert write_bytes(kind, result_blocks(), ["id", "label", "prob"], Pipe()) == \
        write_bytes(kind, result_blocks(), ["id", "label", "prob"])
    path = tmp_path / "empty"
    path.write_bytes(write_bytes(kind, [], ["a", "b"], Pipe()))
    table = pq.read_table(path) if kind == "parquet" else feather.read_table(str(path))
    assert table.num_rows == 0 and table.schema == pa.schema([("a", pa.float64()), ("b", pa.float64())])


@pytest.mark.parametrize("code,message", [(errno.ENOSPC, "out.parquet: no space left on device"),
                                          (errno.EIO, "out.parquet: write failed: simulated")])
def test_write_failure_is_a_write_error(code, message):
    writer = ColumnarWriter(Pipe(fail=code), "parquet", ["a"], name="out.parquet")
    with pytest.raises(WriteError) as exc:
        writer.write([np.arange(3.0)])
        writer.close()
    assert str(exc.value) == message


def test_memory_stays_about_one_block_not_the_file(tmp_path):
    path = tmp_path / "big.parquet"
    rng = np.random.default_rng(1)
    n_rows, n_columns = 400_000, 4
    pq.write_table(pa.table({f"c{i}": rng.normal(size=n_rows) for i in range(n_columns)}), path,
                   row_group_size=20_000)
    reader = ColumnarReader(str(path), block_bytes=8 * n_columns * 5000)
    before, peak, n_seen = pa.total_allocated_bytes(), 0, 0
    for block in reader.blocks(range(n_columns)):
        peak = max(peak, pa.total_allocated_bytes() - before)
        n_seen += len(block.X)
    reader.close()
    # pyarrow's pre-buffering would hold the whole file (12.8 MB) here
    assert n_seen == n_rows and peak < n_rows * n_columns * 8 / 4


def test_reading_and_writing_import_no_pandas(tmp_path):
    # pa.array and Array.to_numpy import pandas (half a second) when it is installed
    path = tmp_path / "a.parquet"
    code = (
        "import io, sys, numpy as np\n"
        "from gmmcli.io.columnar import ColumnarReader, ColumnarWriter\n"
        "out = io.BytesIO(); writer = ColumnarWriter(out, 'parquet', ['x', 'label'])\n"
        "writer.write([np.arange(3.0), np.arange(3)]); writer.close()\n"
        f"open({str(path)!r}, 'wb').write(out.getvalue())\n"
        f"reader = ColumnarReader({str(path)!r})\n"
        "assert [b.X.shape for b in reader.blocks([0, 1], keep=[0])] == [(3, 2)]\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
