"""Every error class: exit code, one exact line on stderr, nothing written."""

import os

import pytest

from tests.helpers import SAMPLE, gmmcli

WALK = os.path.join(SAMPLE, "walkthrough.csv")


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def make(name, text):
        (tmp_path / name).write_text(text)
        return name
    return make


def check(run, args, code, message, tmp_path=None):
    res = run(*args)
    assert res.code == code, res.err
    assert res.err == f"gmmcli: error: {message}\n"
    assert res.out == b""
    if tmp_path is not None:
        assert not os.path.exists(tmp_path / "out.json")
        assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_unknown_choice_and_option_are_one_line_usage_errors(run):
    res = run("fit", WALK, "-k", 2, "--covariance", "round")
    assert res.code == 2 and res.err.count("\n") == 1 and res.err.startswith("gmmcli: error: ")
    assert "round" in res.err
    res = run("fit", WALK, "--frobnicate")
    assert res.code == 2 and res.err.count("\n") == 1 and "--frobnicate" in res.err


def test_missing_input_exits_66(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check(run, ["fit", "missing.csv", "-k", 2, "-o", "out.json"], 66, "missing.csv: no such file", tmp_path)
    check(run, ["predict", "missing.json", WALK], 66, "missing.json: no such model file")


def test_failed_fit_leaves_existing_model_unchanged(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out.json").write_text("old")
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n3,x\n")
    res = run("fit", "bad.csv", "-k", 1, "-o", "out.json")
    assert res.code == 65
    assert (tmp_path / "out.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_model_errors_exit_65(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.json").write_text('{"format": "gmmcli-model", "schema_version": 9}')
    check(run, ["predict", "m.json", WALK], 65,
          "m.json: field 'schema_version': 9 is newer than this gmmcli reads (3); upgrade gmmcli")
    (tmp_path / "t.json").write_text('{"format": "gmmcli-mo')
    check(run, ["trace", "t.json"], 65, "t.json: not a model file (truncated at line 1, column 12)")


def test_model_columns_missing_from_input(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("fit", WALK, "-k", 2, "-o", "m.json", "-q").code == 0
    (tmp_path / "other.csv").write_text("a,y\n1,2\n")
    check(run, ["predict", "m.json", "other.csv"], 65, "other.csv: missing column(s) the model needs: 'x'")


def test_strict_non_convergence_exits_3_and_writes_nothing(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run("fit", WALK, "-k", 3, "--max-iter", 1, "--tol", 1e-12, "--strict", "-o", "out.json")
    assert res.code == 3
    assert res.err == "gmmcli: error: EM did not converge in 1 iterations (tol 1e-12); raise --max-iter or --tol (--strict)\n"
    assert not (tmp_path / "out.json").exists()
    res = run("fit", WALK, "-k", 3, "--max-iter", 1, "--tol", 1e-12, "-o", "out.json")
    assert res.code == 0 and "warning: EM did not converge in 1 iterations" in res.err


def test_terminal_stdin_prints_usage_and_exits_2():
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "gmmcli", "fit", "-k", "2"], stdin=follower,
                          capture_output=True, timeout=60)
    os.close(leader)
    os.close(follower)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines()[-1] == "gmmcli: error: no input: give a file, or pipe data to stdin"


def test_internal_error_exits_70_with_report_hint(run, monkeypatch):
    from gmmcli import pipeline

    def boom(*a, **k):
        raise RuntimeError("kaput")
    monkeypatch.setattr(pipeline, "trace", boom)
    res = run("trace", "x.json")
    assert res.code == 70
    assert res.err == ("gmmcli: error: internal error: RuntimeError: kaput "
                       "(please report this; --debug shows the traceback)\n")


def test_no_traceback_in_subprocess_errors(tmp_path):
    proc = gmmcli("fit", tmp_path / "nope.csv", "-k", 2)
    assert proc.returncode == 66 and b"Traceback" not in proc.stderr
    assert proc.stderr.count(b"\n") == 1
