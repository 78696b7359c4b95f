import gzip

import numpy as np
import pytest

from gmmcli.errors import DataError, NoInputError, UsageError
from gmmcli.io.csv_reader import CsvFormat, CsvReader, parse_number, resolve_columns


def read_all(path, fmt=CsvFormat(), spec=None, block_bytes=1 << 20):
    reader = CsvReader(str(path), fmt, block_bytes=block_bytes)
    selected, skipped = resolve_columns(spec, reader.names, reader.numeric)
    blocks = list(reader.blocks(selected))
    reader.close()
    X = np.concatenate([b.X for b in blocks]) if blocks else np.empty((0, len(selected)))
    return [reader.names[j] for j in selected], X, skipped


def test_header_numeric_columns_and_skipped_text(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("id,x,y\nr1,1,2\nr2,3.5,-4e2\n")
    names, X, skipped = read_all(p)
    assert names == ["x", "y"] and skipped == ["id"]
    np.testing.assert_array_equal(X, [[1, 2], [3.5, -400]])


@pytest.mark.parametrize("spec,expected", [
    ("x", ["x"]), ("2,1", ["y", "x"]), ("1-2", ["x", "y"]), ("!y", ["x", "z"]),
    ("x-z,!y", ["x", "z"]), ("!2-3", ["x"]),
])
def test_column_specs(spec, expected):
    names = ("x", "y", "z")
    selected, _ = resolve_columns(spec, names, (True, True, True))
    assert [names[i] for i in selected] == expected


@pytest.mark.parametrize("spec,message", [
    ("w", "unknown column 'w' (columns: 'x', 'y')"),
    ("3", "column 3 is out of range (the input has 2 columns)"),
    ("2-1", "column range '2-1' runs backwards"),
])
def test_bad_column_specs(spec, message):
    with pytest.raises(UsageError) as exc:
        resolve_columns(spec, ("x", "y"), (True, True))
    assert str(exc.value) == message


def test_small_blocks_equal_one_block_including_quoted_newlines(tmp_path, rng):
    X = rng.normal(size=(2000, 3))
    lines = ["label,a,b,c"] + [f'"row\n{i}",' + ",".join(repr(float(v)) for v in row) for i, row in enumerate(X)]
    p = tmp_path / "q.csv"
    p.write_text("\n".join(lines) + "\n")
    _, whole, _ = read_all(p)
    _, small, _ = read_all(p, block_bytes=1000)
    np.testing.assert_array_equal(whole, X)
    np.testing.assert_array_equal(small, X)


def test_gzip_headerless_tabs_bom_crlf(tmp_path):
    p = tmp_path / "a.tsv.gz"
    with gzip.open(p, "wb") as f:
        f.write(b"\xef\xbb\xbf1\t2\r\n3\t4\r\n")
    names, X, _ = read_all(p, CsvFormat(delimiter="\t", has_header=False))
    assert names == ["1", "2"]
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])


@pytest.mark.parametrize("cell", ["1_000", "0x10", "١٢", "1,5", "abc", "", " ", "inf", "nan", "1e400"])
def test_parse_number_is_strict(cell):
    value = parse_number(cell)
    assert value is None or not np.isfinite(value)


@pytest.mark.parametrize("body,message", [
    ("x,y\n1,2\n3,abc\n", "a.csv: line 3, column 'y': 'abc' is not a number"),
    ("x,y\n1,2\n3,\n", "a.csv: line 3, column 'y': empty cell (to allow missing values, use --missing)"),
    ("x,y\n1,2\nNA,3\n", "a.csv: line 3, column 'x': 'NA' is a missing value (to allow missing values, use --missing)"),
    ("x,y\n1,2\n3,inf\n", "a.csv: line 3, column 'y': 'inf' is not a finite number"),
    ("x,y\n1,2\n3,1e400\n", "a.csv: line 3, column 'y': '1e400' is not a finite number"),
    ("x,y\n1,2\n3,4,5\n", "a.csv: line 3: 3 fields, but the header has 2"),
    ("x,y\n1,2,\n3,4,\n", "a.csv: line 2: 3 fields, but the header has 2 (trailing delimiter?)"),
    ("x,y\n1,2\n3\n", "a.csv: line 3: 1 fields, but the header has 2"),
    ("x,y\n1,2\n3,1_000\n", "a.csv: line 3, column 'y': '1_000' is not a number (digit separators are not allowed)"),
    ("", "a.csv: empty input (no header and no rows)"),
    ("\n", "a.csv: empty input (no header and no rows)"),
    ("x,x\n1,2\n", "a.csv: line 1: duplicate column name 'x'"),
    ("x,,z\n1,2,3\n", "a.csv: line 1: column 2 has an empty name (no header? use -H)"),
])
def test_bad_cells_name_line_and_column(tmp_path, monkeypatch, body, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text(body)
    with pytest.raises(DataError) as exc:
        read_all("a.csv", spec="1-2" if body.startswith("x,y") else None)
    assert str(exc.value) == message


def test_utf16_is_refused_clearly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_bytes("x,y\n1,2\n".encode("utf-16"))
    with pytest.raises(DataError, match="UTF-16"):
        read_all("a.csv")


def test_missing_file(tmp_path):
    with pytest.raises(NoInputError, match="no such file"):
        read_all(tmp_path / "nope.csv")
