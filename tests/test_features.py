"""Outlier flags, stable labels (--align-to) and drift reports."""

import json
import os

import numpy as np
import pytest

from gmmcli.core.params import permute_components
from gmmcli.io.model_file import dumps_model, read_model
from tests.helpers import SAMPLE, gmmcli

WALK = os.path.join(SAMPLE, "walkthrough.csv")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("f") / "m.json"
    assert gmmcli("fit", WALK, "-k", 3, "-o", path, "-q").returncode == 0
    return path


@pytest.mark.parametrize("q", [0.01, 0.05, 0.25])
def test_outlier_flags_match_the_training_quantile(model_path, q):
    proc = gmmcli("predict", model_path, WALK, "--emit", "log_likelihood", "--outlier-quantile", q)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == "log_likelihood,outlier"
    flags = np.array([int(line.split(",")[1]) for line in lines[1:]])
    assert abs(flags.mean() - q) <= 1.5 / len(flags) + 0.005


def test_outlier_quantile_outside_stored_levels(model_path):
    proc = gmmcli("predict", model_path, WALK, "--outlier-quantile", 0.5e-5)
    assert proc.returncode == 2
    assert proc.stderr == (b"gmmcli: error: --outlier-quantile must be between 0.0001 and 0.99, the levels "
                           b"the model stores (got 5e-06)\n")


def test_align_to_restores_an_earlier_numbering(model_path, tmp_path):
    old = read_model(str(model_path))
    shuffled = tmp_path / "old.json"
    shuffled.write_bytes(dumps_model(type(old)(**{**old.__dict__, "params": permute_components(old.params, [2, 0, 1])})))
    out = tmp_path / "new.json"
    proc = gmmcli("fit", WALK, "-k", 3, "--align-to", shuffled, "-o", out)
    assert proc.returncode == 0, proc.stderr
    new = read_model(str(out))
    np.testing.assert_allclose(new.params.means, old.params.means[[2, 0, 1]], atol=1e-12)
    assert b"note: aligned to --align-to: component 0: weight" in proc.stderr
    rows = new.diagnostics["alignment"]
    assert all(r["mean_shift_sd"] < 1e-9 for r in rows)


def test_align_to_needs_the_same_columns(model_path, tmp_path):
    other = tmp_path / "o.csv"
    other.write_text("a,b\n" + "".join(f"{i},{i * i % 7}\n" for i in range(30)))
    proc = gmmcli("fit", other, "-k", 3, "--align-to", model_path)
    assert proc.returncode == 2
    assert proc.stderr == b"gmmcli: error: --align-to: the model's columns ['x', 'y'] differ from this fit's ['a', 'b']\n"


def test_drift_report_on_refit(model_path, tmp_path):
    shifted = tmp_path / "shifted.csv"
    X = np.loadtxt(WALK, delimiter=",", skiprows=1) + [0.5, 0.0]
    shifted.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in X.tolist()))
    out = tmp_path / "refit.json"
    proc = gmmcli("fit", shifted, "-k", 3, "--init-model", model_path, "-o", out)
    assert proc.returncode == 0, proc.stderr
    drift = json.loads(out.read_text())["diagnostics"]["drift"]
    assert drift["mean_log_likelihood_new_model"] > drift["mean_log_likelihood_old_model"]
    shifts = [c["mean_shift_sd"] for c in drift["components"]]
    assert all(0.1 < s < 0.4 for s in shifts)  # 0.5 units is about 0.2 SD of x
    assert b"note: drift from --init-model: mean log-likelihood of this data" in proc.stderr
