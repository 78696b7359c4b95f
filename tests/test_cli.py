"""The command line end to end: files, pipes, determinism, errors, help."""

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gmmcli.io.model_file import read_model
from tests.helpers import SAMPLE, gmmcli

WALK = os.path.join(SAMPLE, "walkthrough.csv")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "model.json"
    proc = gmmcli("fit", WALK, "-k", 3, "-o", path)
    assert proc.returncode == 0, proc.stderr
    return path


def test_fit_writes_model_and_summary(model_path):
    model = read_model(str(model_path))
    assert model.n_components == 3 and model.feature_names == ("x", "y")
    assert model.converged and model.n_samples == 300


def test_fit_to_stdout_from_stdin_equals_file_output(model_path):
    data = open(WALK, "rb").read()
    proc = gmmcli("fit", "-", "-k", 3, "-q", stdin=data)
    assert proc.returncode == 0 and proc.stderr == b""
    assert proc.stdout == open(model_path, "rb").read()
    gz = gmmcli("fit", "-k", 3, "-q", stdin=gzip.compress(data))
    assert gz.stdout == proc.stdout


def test_same_seed_gives_byte_identical_model_and_other_inputs_agree(tmp_path, model_path):
    again = tmp_path / "again.json"
    assert gmmcli("fit", WALK, "-k", 3, "-o", again, "-q").returncode == 0
    assert again.read_bytes() == model_path.read_bytes()
    gz = tmp_path / "gz.json"
    assert gmmcli("fit", os.path.join(SAMPLE, "walkthrough.csv.gz"), "-k", 3, "-o", gz, "-q").returncode == 0
    assert gz.read_bytes() == model_path.read_bytes()


def test_headerless_fit_and_predict_by_position(tmp_path):
    out = tmp_path / "m.json"
    assert gmmcli("fit", os.path.join(SAMPLE, "walkthrough_noheader.csv"), "-H", "-k", 3, "-o", out, "-q").returncode == 0
    model = read_model(str(out))
    assert model.feature_names == ("1", "2") and not model.has_header
    proc = gmmcli("predict", out, os.path.join(SAMPLE, "walkthrough_noheader.csv"))
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 301


def test_predict_columns_and_probabilities(model_path):
    proc = gmmcli("predict", model_path, os.path.join(SAMPLE, "new_rows.csv"), "--keep", "id")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == "id,prob_0,prob_1,prob_2,label,log_likelihood,uncertainty"
    rows = [line.split(",") for line in lines[1:]]
    assert [r[0] for r in rows] == ["new-1", "new-2", "new-3", "new-4", "new-5"]
    probs = np.array([[float(v) for v in r[1:4]] for r in rows])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    labels = [int(r[4]) for r in rows]
    assert labels == list(probs.argmax(axis=1))
    assert len(set(labels[:3])) == 3  # the three cluster centres get three labels
    np.testing.assert_allclose([float(r[6]) for r in rows], 1 - probs.max(axis=1), atol=1e-12)


def test_predict_emit_and_jsonl(model_path):
    proc = gmmcli("predict", model_path, os.path.join(SAMPLE, "new_rows.csv"), "--emit", "label", "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(rows) == 5 and set(rows[0]) == {"label"}


def test_predict_columns_matched_by_name_not_position(model_path, tmp_path):
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("y,extra,x\n0.1,zzz,0.2\n")
    straight = tmp_path / "straight.csv"
    straight.write_text("x,y\n0.2,0.1\n")
    a = gmmcli("predict", model_path, swapped)
    b = gmmcli("predict", model_path, straight)
    assert a.returncode == 0 and a.stdout == b.stdout


def test_predict_streams_in_chunks_identically(model_path, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40000, 2)) * 2 + 1
    big = tmp_path / "big.csv"
    big.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in X.tolist()))
    from gmmcli import pipeline

    def run_with(block_bytes):
        chunks = []
        request = pipeline.PredictRequest(model=str(model_path), input=str(big), block_bytes=block_bytes)
        assert pipeline.predict(request, chunks.append).n_rows == 40000
        return chunks

    many, one = run_with(50_000), run_with(1 << 30)
    assert len(many) > 20 and len(one) == 2  # the header, then one block or many
    assert b"".join(many) == b"".join(one)


def test_predict_header_only_input_gives_header_only(model_path, tmp_path):
    empty = tmp_path / "h.csv"
    empty.write_text("x,y\n")
    proc = gmmcli("predict", model_path, empty)
    assert proc.returncode == 0 and proc.stdout == b"prob_0,prob_1,prob_2,label,log_likelihood,uncertainty\n"


def test_predict_to_head_ends_quietly(model_path, tmp_path):
    rng = np.random.default_rng(4)
    big = tmp_path / "big.csv"
    big.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in rng.normal(size=(200000, 2)).tolist()))
    cmd = f"{sys.executable} -m gmmcli predict {model_path} {big} | head -1"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True)
    assert proc.stdout.decode().startswith("prob_0,")
    assert proc.stderr == b""


def test_trace_formats(model_path, run):
    csv_out = run("trace", model_path)
    assert csv_out.code == 0
    lines = csv_out.out.decode().splitlines()
    assert lines[0] == "restart,iteration,log_likelihood,mean_log_likelihood,change"
    model = read_model(str(model_path))
    values = [float(line.split(",")[2]) for line in lines[1:]]
    # original units: the stored history shifted by the (parameter-free) Jacobian of the scaler
    offset = model.log_likelihood["total_original_units"] - model.log_likelihood["total"]
    assert values == pytest.approx([v + offset for v in model.history["restarts"][0]["log_likelihood"]], rel=1e-12)
    assert values[-1] == pytest.approx(model.log_likelihood["total_original_units"], rel=1e-12)
    table = run("trace", model_path, "--format", "table").out.decode()
    assert "log-likelihood per iteration" in table and "iteration" in table
    data = json.loads(run("trace", model_path, "--format", "json").out)
    assert data[-1]["log_likelihood"] == values[-1]


def test_trace_all_restarts(tmp_path, run):
    out = tmp_path / "m.json"
    assert run("fit", WALK, "-k", 3, "--n-init", 3, "--init", "random", "-o", out, "-q").code == 0
    model = read_model(str(out))
    assert len(model.history["restarts"]) == 3
    finals = [r["log_likelihood"][-1] for r in model.history["restarts"]]
    assert finals[model.history["chosen"]] == max(finals)
    text = run("trace", out, "--all", "--format", "table").out.decode()
    assert "restart 2" in text and "(chosen)" in text


def test_explain_shows_four_layers(model_path, run):
    res = run("predict", model_path, os.path.join(SAMPLE, "new_rows.csv"), "--explain", 2)
    text = res.out.decode()
    for layer in ("1. input sample", "2. Gaussian densities", "3. normalization", "4. assigned cluster"):
        assert layer in text


@pytest.mark.parametrize("command", ["fit", "predict", "trace"])
def test_every_command_has_help_with_an_example(run, command):
    res = run(command, "--help")
    assert res.code == 0
    assert "Example: gmmcli " + command in res.out.decode()


def test_version(run):
    res = run("--version")
    assert res.code == 0 and res.out.decode().startswith("gmmcli 1.")


def test_python_dash_m_and_console_script():
    proc = gmmcli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith(b"gmmcli ")
