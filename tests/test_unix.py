"""What a data engineer expects of a tool in shells, cron jobs and pipelines (issue 10)."""

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from gmmcli import cli
from gmmcli.io.model_file import read_model
from tests.helpers import SAMPLE, gmmcli

WALK = os.path.join(SAMPLE, "walkthrough.csv")
NEW = os.path.join(SAMPLE, "new_rows.csv")
WALK_LINES = open(WALK).read().splitlines()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("unix") / "model.json"
    assert gmmcli("fit", WALK, "-k", 3, "-o", path).returncode == 0
    return str(path)


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "rows.csv"
    X = np.random.default_rng(0).normal(size=(20_000, 2))
    np.savetxt(path, X, delimiter=",", header="x,y", comments="", fmt="%.6f")
    return str(path)


# ---------------------------------------------------------------- output and pipes
@pytest.mark.parametrize("args", [
    ("fit", WALK, "-k", 2), ("predict", "MODEL", NEW), ("sample", "MODEL", "-n", 5),
    ("select", WALK, "-k", "1-2", "--covariance", "diag"),
])
def test_dash_o_is_stdout_for_every_command(tmp_path, model, args):
    args = [model if a == "MODEL" else a for a in args]
    proc = gmmcli(*args, "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "-").exists()
    plain = gmmcli(*args, cwd=tmp_path)
    if args[0] == "select":  # the chosen model on stdout, the table on stderr
        assert json.loads(proc.stdout)["format"] == "gmmcli-model"
        assert proc.stderr.decode().startswith("k,covariance_type")
    else:
        assert proc.stdout == plain.stdout and proc.stdout


@pytest.mark.parametrize("unbuffered", [True, False])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_reader_going_away_gives_141_every_time(model, big_csv, unbuffered, fmt):
    env = dict(os.environ, PYTHONUNBUFFERED="1") if unbuffered else dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None) if not unbuffered else None
    cmd = f"{sys.executable} -m gmmcli predict {model} {big_csv} --format {fmt} | head -3 >/dev/null; " \
          "echo ${PIPESTATUS[0]}"
    for _ in range(3):
        proc = subprocess.run(["bash", "-c", cmd], capture_output=True, env=env)
        assert proc.stdout.strip() == b"141" and proc.stderr == b""


class ShortWritingStdout:
    """A raw (unbuffered) stdout that takes at most 1000 bytes per write, as a pipe may."""

    def __init__(self):
        self.data = bytearray()

    def write(self, view):
        taken = bytes(view[:1000])
        self.data += taken
        return len(taken)


def test_every_byte_is_written_when_the_kernel_takes_part_of_a_write(monkeypatch):
    raw = ShortWritingStdout()
    monkeypatch.setattr(sys, "stdout", type("Out", (), {"buffer": raw})())
    payload = bytes(range(256)) * 100
    cli.write_stdout(payload)
    assert bytes(raw.data) == payload


def test_unbuffered_predict_writes_everything(model, big_csv, tmp_path):
    proc = gmmcli("predict", model, big_csv, env={"PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0 and proc.stdout.count(b"\n") == 20_001


# ---------------------------------------------------------------- several inputs
def split_walkthrough(folder, compress=False):
    header, rows = WALK_LINES[0], WALK_LINES[1:]
    paths = []
    for i, part in enumerate((rows[:100], rows[100:250], rows[250:])):
        path = folder / f"part-{i}.csv{'.gz' if compress else ''}"
        text = "\n".join([header] + part) + "\n"
        path.write_bytes(gzip.compress(text.encode(), mtime=0) if compress else text.encode())
        paths.append(str(path))
    return paths


def test_fit_several_files_and_a_glob_equal_the_concatenated_file(tmp_path, run):
    paths = split_walkthrough(tmp_path)
    whole = run("fit", WALK, "-k", 3, "-q").out
    assert run("fit", *paths, "-k", 3, "-q").out == whole
    split_walkthrough(tmp_path, compress=True)
    assert run("fit", str(tmp_path / "part-*.csv.gz"), "-k", 3, "-q").out == whole


def test_predict_several_inputs_in_input_order(tmp_path, run, model):
    paths = split_walkthrough(tmp_path)
    whole = run("predict", model, WALK).out
    assert run("predict", model, *paths).out == whole
    assert run("predict", model, str(tmp_path / "part-*.csv")).out == whole


def test_select_several_inputs(tmp_path, run):
    paths = split_walkthrough(tmp_path)
    args = ("-k", "1-3", "--covariance", "full,diag", "--format", "csv", "-j", "1")
    whole = run("select", WALK, *args).out.decode().splitlines()
    parts = run("select", *paths, *args).out.decode().splitlines()
    assert [line.split(",")[:4] for line in parts] == [line.split(",")[:4] for line in whole]


def test_files_with_other_columns_are_refused_naming_the_file(tmp_path, run):
    good = tmp_path / "a.csv"
    good.write_text("x,y\n1,2\n3,4\n5,7\n")
    bad = tmp_path / "b.csv"
    bad.write_text("x,z\n1,2\n")
    res = run("fit", good, bad, "-k", 1, "-q")
    assert (res.code, res.err) == (65, f"gmmcli: error: {bad}: missing column(s) that {good} has: 'y'\n")


# ---------------------------------------------------------------- structured logs
@pytest.mark.parametrize("where", ["before", "after"])
def test_log_format_json_makes_every_stderr_line_an_object(tmp_path, run, where):
    data = tmp_path / "ids.csv"
    x, y = np.random.default_rng(3).normal(size=(2, 40))
    data.write_text("id,x,y\n" + "".join(f"{i},{a:.5f},{b:.5f}\n" for i, (a, b) in enumerate(zip(x, y))))
    args = ["fit", data, "-k", 2, "-o", tmp_path / "m.json"]
    args = ["--log-format", "json"] + args if where == "before" else args + ["--log-format", "json"]
    res = run(*args)
    assert res.code == 0
    records = [json.loads(line) for line in res.err.splitlines()]
    assert [r["level"] for r in records] == ["warning", "info"]
    summary = records[-1]
    assert summary["rows"] == 40 and summary["columns"] == ["id", "x", "y"] and summary["converged"] is True
    assert summary["iterations"] >= 1 and summary["seconds"] >= 0
    assert summary["log_likelihood"] == read_model(str(tmp_path / "m.json")).log_likelihood["total_original_units"]


def test_log_format_json_errors_carry_the_exit_code(run):
    res = run("fit", "no-such.csv", "-k", 2, "--log-format", "json")
    assert res.code == 66
    assert json.loads(res.err) == {"level": "error", "message": "no-such.csv: no such file", "exit_code": 66}
    res = run("--log-format", "json", "fit", WALK, "-k", 2, "--bogus")
    assert res.code == 2 and json.loads(res.err)["level"] == "error"


def test_text_stays_the_default(run):
    res = run("fit", "no-such.csv", "-k", 2)
    assert res.err == "gmmcli: error: no-such.csv: no such file\n"


# ---------------------------------------------------------------- columnar files
def walkthrough_table():
    X = np.loadtxt(WALK, delimiter=",", skiprows=1)
    return pa.table({"x": X[:, 0], "y": X[:, 1]})


@pytest.mark.parametrize("suffix", [".parquet", ".feather", ".arrow"])
def test_fit_columnar_input_equals_csv(tmp_path, run, suffix):
    path = tmp_path / f"walk{suffix}"
    table = walkthrough_table()
    if suffix == ".parquet":
        pq.write_table(table, path, row_group_size=64)  # several row groups, streamed
    else:
        feather.write_feather(table, path)
    assert run("fit", path, "-k", 3, "-q").out == run("fit", WALK, "-k", 3, "-q").out


def test_parquet_nulls_are_missing_cells(tmp_path, run, model):
    path = tmp_path / "holes.parquet"
    pq.write_table(pa.table({"x": [0.2, None, 4.0], "y": [0.1, 2.0, None]}), path)
    res = run("predict", model, path)
    assert res.code == 65
    assert res.err == (f"gmmcli: error: {path}: row 2, column 'x': missing value "
                       "(to allow missing values, use --missing)\n")
    res = run("predict", model, path, "--missing", "marginalize")
    assert res.code == 0 and len(res.out.decode().splitlines()) == 4


def test_predict_and_sample_write_columnar_by_extension(tmp_path, run, model):
    out = tmp_path / "p.parquet"
    assert run("predict", model, NEW, "--keep", "id", "-o", out).code == 0
    table = pq.read_table(out)
    assert table.column_names == ["id", "prob_0", "prob_1", "prob_2", "label", "log_likelihood", "uncertainty"]
    as_csv = run("predict", model, NEW, "--keep", "id").out.decode().splitlines()
    assert table.column("id").to_pylist() == [line.split(",")[0] for line in as_csv[1:]]
    assert table.column("label").to_pylist() == [int(line.split(",")[4]) for line in as_csv[1:]]
    drawn = tmp_path / "s.feather"
    assert run("sample", model, "-n", 7, "--labels", "-o", drawn).code == 0
    assert feather.read_table(drawn).column_names == ["x", "y", "component"]
    assert feather.read_table(drawn).num_rows == 7


# ---------------------------------------------------------------- decimal commas
def euro_copy(tmp_path):
    rows = [line.split(",") for line in WALK_LINES]
    text = "id;" + ";".join(rows[0]) + "\n" + "".join(
        f"{i};" + ";".join(v.replace(".", ",") for v in row) + "\n" for i, row in enumerate(rows[1:], 1))
    path = tmp_path / "euro.csv"
    path.write_text(text)
    return path


def test_decimal_comma_is_read_with_decimal_option(tmp_path, run):
    euro = euro_copy(tmp_path)
    res = run("fit", euro, "-d", ";", "--decimal", ",", "-c", "x,y", "-k", 3, "-q")
    assert res.code == 0 and res.out == run("fit", WALK, "-k", 3, "-q").out


def test_decimal_comma_columns_are_never_silently_dropped(tmp_path, run):
    euro = euro_copy(tmp_path)
    res = run("fit", euro, "-d", ";", "-k", 2, "-o", tmp_path / "m.json")
    assert res.code == 65
    assert res.err == (f"gmmcli: error: {euro}: column(s) 'x', 'y' hold numbers with a decimal comma; "
                       "read them with --decimal , (or select the columns to fit with -c)\n")
    assert not (tmp_path / "m.json").exists()
    res = run("fit", euro, "-d", ";", "-c", "x", "-k", 2)
    assert res.code == 65 and "(decimal comma? use --decimal ,)" in res.err


def test_decimal_must_differ_from_the_delimiter(run):
    res = run("fit", WALK, "-k", 2, "--decimal", ",")
    assert (res.code, res.err) == (2, "gmmcli: error: --decimal , needs another --delimiter (e.g. -d ';')\n")


# ---------------------------------------------------------------- columns, ids, -k
def test_fit_summary_names_the_columns(tmp_path, run):
    res = run("fit", WALK, "-k", 2, "-o", tmp_path / "m.json")
    assert "2 columns ('x', 'y')" in res.err
    wide = tmp_path / "wide.csv"
    X = np.random.default_rng(1).normal(size=(50, 9))
    np.savetxt(wide, X, delimiter=",", header=",".join(f"c{j}" for j in range(9)), comments="")
    res = run("fit", wide, "-k", 1, "-o", tmp_path / "w.json")
    assert "9 columns ('c0', 'c1', 'c2', 'c3', 'c4', 'c5' and 3 more)" in res.err


@pytest.mark.parametrize("name,values", [("id", None), ("customer_id", None), ("n", "increasing")])
def test_a_feature_that_looks_like_a_row_id_is_warned_of(tmp_path, run, name, values):
    rng = np.random.default_rng(2)
    ids = np.arange(1, 61) if values else rng.integers(0, 9, size=60)
    path = tmp_path / "d.csv"
    path.write_text(f"{name},x\n" + "".join(f"{i},{v:.4f}\n" for i, v in zip(ids, rng.normal(size=60))))
    res = run("fit", path, "-k", 1, "-o", tmp_path / "m.json")
    assert res.code == 0
    assert f"gmmcli: warning: column {name!r}" in res.err and f"-c '!{name}'" in res.err
    assert read_model(str(tmp_path / "m.json")).feature_names == (name, "x")  # never silently excluded
    res = run("fit", path, "-k", 1, "-c", f"!{name}", "-o", tmp_path / "m.json")
    assert "warning" not in res.err


def test_fit_without_k_is_a_usage_error_pointing_to_select(run):
    res = run("fit", WALK)
    assert res.code == 2
    assert res.err == ("gmmcli: error: -k/--components is required: how many components to fit "
                       "(to choose k, run: gmmcli select INPUT)\n")


def test_init_model_gives_k(run, model, tmp_path):
    assert run("fit", WALK, "--init-model", model, "-o", tmp_path / "m.json", "-q").code == 0
    assert read_model(str(tmp_path / "m.json")).n_components == 3
    res = run("fit", WALK, "-k", 2, "--init-model", model)
    assert res.code == 2 and "contradicts --init-model" in res.err


# ---------------------------------------------------------------- one unit
def test_trace_ends_at_the_sum_of_predicted_log_likelihoods(run, model):
    trace = run("trace", model, "--format", "json").out
    last = json.loads(trace)[-1]["log_likelihood"]
    rows = run("predict", model, WALK, "--emit", "log_likelihood").out.decode().splitlines()[1:]
    assert last == pytest.approx(sum(float(r) for r in rows), rel=1e-9)
    fitted = read_model(model)
    assert last == pytest.approx(fitted.log_likelihood["total_original_units"], rel=1e-12)


def test_fit_summary_select_and_trace_show_the_same_number(tmp_path, run):
    res = run("fit", WALK, "-k", 2, "--covariance", "diag", "-o", tmp_path / "m.json")
    total = read_model(str(tmp_path / "m.json")).log_likelihood["total_original_units"]
    assert f"log-likelihood {total:.4f}" in res.err
    table = run("select", WALK, "-k", 2, "--covariance", "diag", "--tol", "1e-3", "--max-iter", 100,
                "--init", "kmeans++", "--n-init", 1, "--format", "json").out
    assert json.loads(table)[0]["log_likelihood"] == pytest.approx(total, rel=1e-12)
    chart = run("trace", tmp_path / "m.json", "--format", "table").out.decode()
    assert f"{total:.4f}" in chart and "original units" in chart


def test_explain_shows_original_units(run, model):
    text = run("predict", model, NEW, "--explain", 2).out.decode()
    value = float(text.split("log p(x) = ")[1].split()[0])
    rows = run("predict", model, NEW, "--emit", "log_likelihood").out.decode().splitlines()
    assert value == pytest.approx(float(rows[2]), abs=1e-6)
    assert "2. Gaussian densities (log, original units)" in text


# ---------------------------------------------------------------- select takes fit's options
def test_select_missing_strict_weights_and_decimal(tmp_path, run):
    holes = tmp_path / "holes.csv"
    lines = WALK_LINES[:]
    lines[5] = "," + lines[5].split(",")[1]
    holes.write_text("\n".join(lines) + "\n")
    res = run("select", holes, "-k", "1-2", "--covariance", "diag", "-j", "1")
    assert res.code == 65 and "use --missing" in res.err
    res = run("select", holes, "-k", "1-2", "--covariance", "diag", "-j", "1", "--missing", "marginalize",
              "--format", "csv")
    assert res.code == 0 and len(res.out.decode().splitlines()) == 3
    res = run("select", euro_copy(tmp_path), "-d", ";", "--decimal", ",", "-c", "x,y", "-k", 2,
              "--covariance", "full", "--format", "json", "-j", "1")
    assert res.code == 0
    res = run("select", WALK, "-k", 3, "--covariance", "full", "--strict", "--max-iter", "1", "--tol", "1e-12",
              "--format", "csv", "-j", "1")
    assert res.code == 3 and "every cell of the grid failed" in res.err


# ---------------------------------------------------------------- options, help, messages
def test_debug_before_or_after_the_command_and_short_version(run):
    for args in (("--debug", "fit", "none.csv", "-k", 2), ("fit", "none.csv", "-k", 2, "--debug")):
        res = run(*args)
        assert res.code == 66  # the documented code, after the traceback
        assert "Traceback (most recent call last)" in res.err and "NoInputError" in res.err
        assert res.err.endswith("gmmcli: error: none.csv: no such file\n")
    res = run("-V")
    assert res.code == 0 and res.out.decode().startswith("gmmcli 1.")


def test_emit_order_repeated_keep_and_verbatim_kept_values(tmp_path, run, model):
    data = tmp_path / "d.csv"
    data.write_text("id,x,y,price\nA,0.20,0.1,153.90\nB,4.1,2.80,1e3\n")
    res = run("predict", model, data, "--keep", "id", "--keep", "price,x", "--emit", "label,prob")
    lines = res.out.decode().splitlines()
    assert lines[0] == "id,price,x,label,prob_0,prob_1,prob_2"
    assert lines[1].startswith("A,153.90,0.20,") and lines[2].startswith("B,1e3,4.1,")


def test_predict_missing_drop_says_how_many(tmp_path, run, model):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n,3\n4,\n5,6\n")
    res = run("predict", model, data, "--missing", "drop")
    assert len(res.out.decode().splitlines()) == 3
    assert res.err == "gmmcli: note: dropped 2 row(s) with missing cells (--missing drop)\n"


def test_swapped_arguments_and_headerless_input_are_named(run, model):
    res = run("predict", WALK, model)
    assert res.code == 65
    assert res.err == (f"gmmcli: error: {WALK}: not a model file; the model comes first "
                       f"(gmmcli predict {model} {WALK}?)\n")
    headerless = os.path.join(SAMPLE, "walkthrough_noheader.csv")
    res = run("predict", model, headerless)
    assert res.code == 65 and "the input has no header?" in res.err
    assert run("predict", model, headerless, "--no-header").code == 0


def test_column_lists_quote_the_names(tmp_path, run):
    data = tmp_path / "d.csv"
    data.write_text('"name, full",x\na,1\nb,2\n')
    res = run("fit", data, "-k", 1, "-c", "nope")
    assert res.err == "gmmcli: error: unknown column 'nope' (columns: 'name, full', 'x')\n"


@pytest.mark.parametrize("command", ["fit", "select", "predict", "sample", "trace"])
def test_help_has_no_type_labels_and_shows_brackets(command):
    proc = gmmcli(command, "--help", env={"COLUMNS": "200"})
    text = proc.stdout.decode()
    assert proc.returncode == 0
    for label in ("<int>", "<str>", "<bool>", "<float>", "list[", "Value error"):
        assert label not in text
    if command == "fit":
        assert "pip install 'gmmcli[dask]'" in text
    if command == "predict":
        assert "prob, label, log_likelihood, uncertainty" in text
    if command == "sample":
        assert "Random seed of the draw" in text


def test_choice_errors_have_no_value_error_prefix(run):
    res = run("fit", WALK, "-k", 2, "--init", "round")
    assert res.err == ("gmmcli: error: Invalid value for '--init': 'round' is not one of "
                       "'kmeans++', 'kmeans', 'random', 'random-from-data', 'hc'.\n")


def test_progress_appears_only_once_there_is_work(monkeypatch):
    monkeypatch.setattr(cli, "stderr_is_terminal", lambda: True)
    progress = cli.TerminalProgress(True, "fitting cells {task.completed}/{task.total}", bar=True)
    with progress:
        assert not progress.started  # an input error raised now draws nothing
        progress.update(completed=3, total=36)
        assert progress.started
        task = progress.progress.tasks[0]
        assert (task.completed, task.total) == (3, 36)
        assert progress.progress.columns[0].render(task).plain == "fitting cells 3/36"


def test_header_given_to_a_model_fit_without_one(tmp_path, run):
    headerless = os.path.join(SAMPLE, "walkthrough_noheader.csv")
    model = tmp_path / "nh.json"
    assert run("fit", headerless, "-H", "-k", 2, "-o", model, "-q").code == 0
    res = run("predict", model, WALK)
    assert (res.code, res.err) == (65, f"gmmcli: error: {WALK}: line 1 looks like a header ('x', 'y'), but the "
                                       "model was fit on data without one; read it with --header\n")
    assert res.out == b""  # nothing is written before the input is known to fit the model
    assert run("predict", model, WALK, "--header").code == 0


def test_select_tells_the_chosen_cells_warnings(tmp_path, run):
    data = tmp_path / "dup.csv"
    data.write_text("x,y\n" + "0,0\n" * 20 + "".join(f"{v:.3f},{v * 2 % 3:.3f}\n" for v in range(1, 40)))
    res = run("select", data, "-k", 2, "--covariance", "diag", "--format", "csv", "-j", 1)
    assert res.code == 0
    assert "gmmcli: warning: chosen cell (k=2, diag): component(s)" in res.err and "collapsed" in res.err


def test_init_model_gives_the_covariance_model_and_fit_names_a_model_file_given_as_data(tmp_path, run):
    first = tmp_path / "vev.json"
    iris = os.path.join(SAMPLE, "iris.csv")
    assert run("fit", iris, "-k", 2, "--covariance", "VEV", "-o", first, "-q").code == 0
    assert run("fit", iris, "--init-model", first, "-o", tmp_path / "again.json", "-q").code == 0
    assert read_model(str(tmp_path / "again.json")).params.covariance_type == "VEV"
    res = run("fit", first, "-k", 2)
    assert (res.code, res.err) == (65, f"gmmcli: error: {first}: no numeric columns to fit (a model file? fit and "
                                       "select read data)\n")


def test_select_json_logs_put_the_grid_on_stderr_as_objects(run):
    res = run("--log-format", "json", "select", WALK, "-k", "1-2", "--covariance", "full", "-o", "-")
    assert res.code == 0 and json.loads(res.out)["format"] == "gmmcli-model"
    cells = [json.loads(line) for line in res.err.splitlines()]
    assert [(c["k"], c["covariance_type"]) for c in cells] == [(1, "full"), (2, "full")]


def test_a_model_is_never_written_under_a_columnar_name(tmp_path, run):
    res = run("fit", WALK, "-k", 2, "-o", tmp_path / "model.parquet")
    assert (res.code, res.err) == (2, f"gmmcli: error: -o {tmp_path / 'model.parquet'}: a model file is JSON; "
                                      "give it a .json name\n")
    assert not (tmp_path / "model.parquet").exists()
