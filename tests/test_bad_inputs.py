"""The catalogue of bad inputs: one case per bad input.

Each case asserts the exit code, the exact one-line error (naming the file,
line, column or field) and that no output file was created or changed.
Cases that need processes, signals or pipes are at the end.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import SAMPLE, gmmcli

WALK = os.path.join(SAMPLE, "walkthrough.csv")
GOOD = "x,y\n" + "".join(f"{i % 7},{(i * 3) % 11}\n" for i in range(30))
OLD = "an old model\n"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out.json").write_text(OLD)
    return tmp_path


def assert_failed(run, workdir, args, code, message):
    res = run(*args)
    assert (res.code, res.err) == (code, f"gmmcli: error: {message}\n")
    assert res.out == b""
    assert (workdir / "out.json").read_text() == OLD
    assert not [p for p in os.listdir(workdir) if p.endswith(".tmp")]


# ---------------------------------------------------------------- CSV given to fit
CSV_CASES = {
    "empty file": (b"", "d.csv: empty input (no header and no rows)"),
    "only a newline": (b"\n", "d.csv: empty input (no header and no rows)"),
    "header only": (b"x,y\n", "d.csv: no data rows"),
    "one row": (b"x,y\n1,2\n", "d.csv: only 1 data row; standardizing needs at least 2 (or --no-standardize)"),
    "non-numeric cell": (b"x,y\n1,2\n3,abc\n", "d.csv: line 3, column 'y': 'abc' is not a number"),
    "NA": (b"x,y\n1,2\nNA,3\n", "d.csv: line 3, column 'x': 'NA' is a missing value (to allow missing values, use --missing)"),
    "null": (b"x,y\n1,2\nnull,3\n", "d.csv: line 3, column 'x': 'null' is a missing value (to allow missing values, use --missing)"),
    "N/A": (b"x,y\n1,2\nN/A,3\n", "d.csv: line 3, column 'x': 'N/A' is a missing value (to allow missing values, use --missing)"),
    "nan": (b"x,y\n1,2\nnan,3\n", "d.csv: line 3, column 'x': 'nan' is a missing value (to allow missing values, use --missing)"),
    "#N/A": (b"x,y\n1,2\n#N/A,3\n", "d.csv: line 3, column 'x': '#N/A' is a missing value (to allow missing values, use --missing)"),
    "None": (b"x,y\n1,2\nNone,3\n", "d.csv: line 3, column 'x': 'None' is a missing value (to allow missing values, use --missing)"),
    "empty cell": (b"x,y\n1,2\n,3\n", "d.csv: line 3, column 'x': empty cell (to allow missing values, use --missing)"),
    "inf": (b"x,y\n1,2\ninf,3\n", "d.csv: line 3, column 'x': 'inf' is not a finite number"),
    "-Infinity": (b"x,y\n1,2\n-Infinity,3\n", "d.csv: line 3, column 'x': '-Infinity' is not a finite number"),
    "1e400": (b"x,y\n1,2\n1e400,3\n", "d.csv: line 3, column 'x': '1e400' is not a finite number"),
    "extra field": (b"x,y\n1,2\n3,4,5\n", "d.csv: line 3: 3 fields, but the header has 2"),
    "missing field": (b"x,y\n1,2\n3\n", "d.csv: line 3: 1 fields, but the header has 2"),
    "trailing delimiter": (b"x,y\n1,2,\n3,4,\n", "d.csv: line 2: 3 fields, but the header has 2 (trailing delimiter?)"),
    "wrong delimiter": (b"x;y\n1;2\n3;4\n", "d.csv: no numeric columns to fit (wrong delimiter? try -d ';')"),
    "decimal comma": (b"x,y\n1,5,2\n", "d.csv: line 2: 3 fields, but the header has 2"),
    "quoted thousands": (b'x,y\n1,2\n"1,000",3\n',
                         "d.csv: line 3, column 'x': '1,000' is not a number (thousands separators are not allowed)"),
    "digit separator": (b"x,y\n1,2\n1_000,3\n",
                        "d.csv: line 3, column 'x': '1_000' is not a number (digit separators are not allowed)"),
    "non-ASCII digits": ("x,y\n1,2\n١٢,3\n".encode(), "d.csv: line 3, column 'x': '١٢' is not a number"),
    "hex": (b"x,y\n1,2\n0x1F,3\n", "d.csv: line 3, column 'x': '0x1F' is not a number"),
    "duplicate names": (b"x,x\n1,2\n", "d.csv: line 1: duplicate column name 'x'"),
    "blank name": (b"x,,y\n1,2,3\n", "d.csv: line 1: column 2 has an empty name (no header? use -H)"),
    "UTF-16": ("x,y\n1,2\n".encode("utf-16"), "d.csv: file is UTF-16 encoded; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)"),
    "NUL byte": (b"x,y\n1,2\n3,4\x00\n", "d.csv: line 3, column 'y': '4\\x00' is not a number"),
    "constant column": (b"x,y\n1,2\n1,3\n1,5\n",
                        "constant column 'x': cannot standardize (drop it with -c '!x' or use --no-standardize)"),
    "fewer rows than k": (b"x,y\n1,2\n3,5\n", "d.csv: 2 rows, fewer than the 3 components asked for"),
    "not UTF-8 header": (b"x\xff,y\n1,2\n", "d.csv: line 1: not UTF-8 text"),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_csv(run, workdir, case):
    body, message = CSV_CASES[case]
    (workdir / "d.csv").write_bytes(body)
    k = 3 if case == "fewer rows than k" else 1
    assert_failed(run, workdir, ["fit", "d.csv", "-k", k, "-o", "out.json"], 65, message)


def test_corrupt_gzip(run, workdir):
    (workdir / "d.csv.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 20)
    res = run("fit", "d.csv.gz", "-k", 1, "-o", "out.json")
    assert res.code == 65 and res.err.startswith("gmmcli: error: d.csv.gz: cannot decompress: ")
    assert res.err.count("\n") == 1 and (workdir / "out.json").read_text() == OLD


ACCEPTED = {
    "UTF-8 BOM": b"\xef\xbb\xbf" + GOOD.encode(),
    "CRLF": GOOD.replace("\n", "\r\n").encode(),
    "blank lines": GOOD.replace("\n", "\n\n", 3).encode(),
    "quoted numbers": GOOD.replace("1,", '"1",').encode(),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_accepted_variants_give_the_same_model(run, workdir, case):
    (workdir / "good.csv").write_text(GOOD)
    (workdir / "variant.csv").write_bytes(ACCEPTED[case])
    a, b = run("fit", "good.csv", "-k", 2, "-q"), run("fit", "variant.csv", "-k", 2, "-q")
    assert a.code == b.code == 0, b.err
    assert a.out == b.out


def test_identifier_column_is_named_not_dropped_silently(run, workdir):
    (workdir / "d.csv").write_text("id,x,y\n" + "".join(f"r{i},{i % 7},{(i * 3) % 11}\n" for i in range(30)))
    res = run("fit", "d.csv", "-k", 2, "-o", "m.json")
    assert res.code == 0
    assert res.err.splitlines()[0] == "gmmcli: note: ignoring non-numeric column(s): 'id'"


def test_collinear_columns_fit_with_a_warning(run, workdir):
    (workdir / "d.csv").write_text("a,b,c\n" + "".join(f"{i},{2 * i},{(i * 7) % 5}\n" for i in range(40)))
    res = run("fit", "d.csv", "-k", 1, "-o", "m.json")
    assert res.code == 0
    assert ("gmmcli: warning: columns 'a' and 'b' are perfectly correlated "
            "(their covariance is singular but for --reg-covar)") in res.err.splitlines()


def test_more_columns_than_rows_warns(run, workdir):
    (workdir / "d.csv").write_text("a,b,c,d,e\n" + "".join(f"{i},{i*i % 7},{i % 3},{i * 5 % 11},{i % 2}\n" for i in range(4)))
    res = run("fit", "d.csv", "-k", 1, "-o", "m.json")
    assert res.code == 0
    assert "gmmcli: warning: 4 rows for 1 full-covariance component(s) of 5 columns" in res.err


# ---------------------------------------------------------------- options
OPTION_CASES = {
    "k 0": (["-k", 0], "-k/--components must be at least 1 (got 0)"),
    "k negative": (["-k", -2], "-k/--components must be at least 1 (got -2)"),
    "tol negative": (["--tol", -1], "--tol must be a finite number >= 0 (got -1.0)"),
    "tol nan": (["--tol", "nan"], "--tol must be a finite number >= 0 (got nan)"),
    "tol inf": (["--tol", "inf"], "--tol must be a finite number >= 0 (got inf)"),
    "max-iter negative": (["--max-iter", -1], "--max-iter must be >= 0 (got -1)"),
    "reg-covar negative": (["--reg-covar", -1e-3], "--reg-covar must be a finite number >= 0 (got -0.001)"),
    "reg-covar nan": (["--reg-covar", "nan"], "--reg-covar must be a finite number >= 0 (got nan)"),
    "n-init 0": (["--n-init", 0], "--n-init must be at least 1 (got 0)"),
    "unknown column": (["-c", "z"], "unknown column 'z' (columns: 'x', 'y')"),
    "column out of range": (["-c", "3"], "column 3 is out of range (the input has 2 columns)"),
    "bad delimiter": (["-d", ";;"], "--delimiter must be one character other than a quote or newline (got ';;')"),
    "bad max-memory": (["--max-memory", "-5"], "--max-memory: not a size: '-5' (examples: 256M, 2G)"),
    "seed negative": (["--seed", -1], "--seed must be >= 0 (got -1)"),
}


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_bad_option(run, workdir, case):
    args, message = OPTION_CASES[case]
    (workdir / "d.csv").write_text(GOOD)
    full = ["fit", "d.csv", "-k", 2, *args, "-o", "out.json"] if args[0] not in ("-k",) else ["fit", "d.csv", *args, "-o", "out.json"]
    assert_failed(run, workdir, full, 2, message)


def test_unknown_covariance_type_is_one_usage_line(run, workdir):
    (workdir / "d.csv").write_text(GOOD)
    res = run("fit", "d.csv", "-k", 2, "--covariance", "round", "-o", "out.json")
    assert res.code == 2 and res.err.startswith("gmmcli: error: ") and res.err.count("\n") == 1
    assert "unknown covariance model 'round' (choose from full, tied, diag, spherical" in res.err
    assert (workdir / "out.json").read_text() == OLD


# ---------------------------------------------------------------- model files
def model_doc():
    proc = gmmcli("fit", WALK, "-k", 2, "-q")
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def good_model():
    return model_doc()


def edit(doc, path, value):
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(doc)


MODEL_CASES = {
    "truncated": (lambda d: json.dumps(d)[:100], "m.json: not a model file (truncated at line 1, column 99)"),
    "not a gmmcli model": (lambda d: '{"hello": 1}', 'm.json: not a gmmcli model file (no "format": "gmmcli-model")'),
    "newer schema": (lambda d: edit(d, ["schema_version"], 4),
                     "m.json: field 'schema_version': 4 is newer than this gmmcli reads (3); upgrade gmmcli"),
    "duplicate keys": (lambda d: json.dumps(d)[:-1] + ', "weights": [1]}', "m.json: not a valid model file: duplicate key 'weights'"),
    "NaN": (lambda d: edit(d, ["weights"], [0.5, 0.5]).replace("0.5, 0.5", "NaN, 0.5"), "m.json: not a valid model file: NaN is not valid JSON"),
    "Infinity": (lambda d: edit(d, ["weights"], [0.5, 0.5]).replace("0.5, 0.5", "Infinity, 0.5"), "m.json: not a valid model file: Infinity is not valid JSON"),
    "1e400": (lambda d: edit(d, ["weights"], [0.5, 0.5]).replace("0.5, 0.5", "1e400, 0.5"), "m.json: not a valid model file: number 1e400 is out of range"),
    "wrong shape": (lambda d: edit(d, ["means"], [[0, 0, 0], [1, 1, 1]]), "m.json: field 'means': shape is [2, 3], expected [2, 2]"),
    "negative weight": (lambda d: edit(d, ["weights"], [1.5, -0.5]), "m.json: field 'weights': contains a negative weight"),
    "weights not summing to 1": (lambda d: edit(d, ["weights"], [0.5, 0.6]), "m.json: field 'weights': sum to 1.1, not 1"),
    "non-symmetric covariance": (lambda d: edit(d, ["covariances"], [[[1, 0.5], [0.1, 1]], [[1, 0], [0, 1]]]),
                                 "m.json: field 'covariances[0]': is not symmetric"),
    "not positive definite": (lambda d: edit(d, ["covariances"], [[[1, 0], [0, 1]], [[1, 2], [2, 1]]]),
                              "m.json: field 'covariances[1]': is not positive definite"),
    "scale not positive": (lambda d: edit(d, ["scaler", "scale"], [1.0, 0.0]),
                           "m.json: field 'scaler.scale': contains a value that is not positive"),
    "binary garbage": (lambda d: "\x00\x01", "m.json: not a model file (invalid JSON at line 1, column 1)"),
}


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_bad_model_file(run, workdir, good_model, case):
    make, message = MODEL_CASES[case]
    (workdir / "m.json").write_text(make(good_model))
    (workdir / "d.csv").write_text(GOOD)
    assert_failed(run, workdir, ["predict", "m.json", "d.csv", "-o", "out.json"], 65, message)


def test_model_columns_missing_are_listed(run, workdir, good_model):
    (workdir / "m.json").write_text(json.dumps(good_model))
    (workdir / "d.csv").write_text("a,b\n1,2\n")
    assert_failed(run, workdir, ["predict", "m.json", "d.csv", "-o", "out.json"], 65,
                  "d.csv: missing column(s) the model needs: 'x', 'y'")


# ---------------------------------------------------------------- output and process
def test_output_folder_missing_fails_before_fitting(run, workdir):
    assert_failed(run, workdir, ["fit", "missing.csv", "-k", 2, "-o", "nope/m.json"], 73,
                  f"nope/m.json: folder {workdir}/nope does not exist")


def test_output_folder_unwritable(run, workdir):
    assert_failed(run, workdir, ["fit", WALK, "-k", 2, "-o", "/proc/m.json"], 73,
                  "/proc/m.json: cannot create output: No such file or directory")


def test_disk_full_exits_74():
    proc = gmmcli("fit", WALK, "-k", 2, "-o", "/dev/full", "-q")
    assert proc.returncode == 74
    assert proc.stderr == b"gmmcli: error: /dev/full: no space left on device\n"


def test_output_equal_to_input_is_refused(run, workdir):
    (workdir / "d.csv").write_text(GOOD)
    assert_failed(run, workdir, ["fit", "d.csv", "-k", 2, "-o", "d.csv"], 2, "d.csv: the output would overwrite the input")
    assert (workdir / "d.csv").read_text() == GOOD


def slow_fit_args(tmp_path):
    """A fit that runs for seconds: many rows, many components, tol 0."""
    import numpy as np

    data = tmp_path / "big.csv"
    X = np.random.default_rng(0).normal(size=(200_000, 6))
    data.write_text("a,b,c,d,e,f\n" + "\n".join(",".join(f"{v:.5f}" for v in row) for row in X) + "\n")
    return [sys.executable, "-m", "gmmcli", "fit", str(data), "-k", "20", "--tol", "0", "--max-iter", "100000",
            "-o", str(tmp_path / "out.json"), "-q"]


@pytest.mark.parametrize("sig,code,word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_signal_during_fit_leaves_old_model_and_no_temp_file(tmp_path, sig, code, word):
    (tmp_path / "out.json").write_text(OLD)
    # a shell that starts pytest in the background (`cmd &`) makes children ignore SIGINT, as
    # POSIX asks; a person's Ctrl-C reaches a process whose SIGINT is the default one
    proc = subprocess.Popen(slow_fit_args(tmp_path), stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(4)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert err == f"gmmcli: {word}\n".encode()
    assert (tmp_path / "out.json").read_text() == OLD
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_concurrent_fits_never_tear_the_model(tmp_path):
    out = tmp_path / "m.json"
    cmds = [[sys.executable, "-m", "gmmcli", "fit", WALK, "-k", str(k), "-o", str(out), "-q"] for k in (2, 3, 4, 2, 3, 4)]
    procs = [subprocess.Popen(c) for c in cmds]
    seen = 0
    while any(p.poll() is None for p in procs):
        if out.exists():
            text = out.read_text()
            json.loads(text)  # a complete document, every time
            seen += 1
    assert all(p.wait() == 0 for p in procs)
    json.loads(out.read_text())
