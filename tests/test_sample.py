"""gmmcli sample: rows in original units, reproducible, and a fit of them recovers the model."""

import os

import numpy as np

from gmmcli import pipeline
from gmmcli.io.model_file import read_model
from tests.helpers import SAMPLE, gmmcli, fit_request

WALK = os.path.join(SAMPLE, "walkthrough.csv")


def test_fit_of_samples_recovers_the_model(tmp_path):
    model_path = tmp_path / "m.json"
    assert gmmcli("fit", WALK, "-k", 3, "-o", model_path, "-q").returncode == 0
    proc = gmmcli("sample", model_path, "-n", 20000, "--seed", 3)
    assert proc.returncode == 0
    (tmp_path / "s.csv").write_bytes(proc.stdout)
    refit = pipeline.fit(fit_request(str(tmp_path / "s.csv"), n_components=3)).model
    original = read_model(str(model_path))

    def in_units(m):
        return m.params.means * m.scaler.scale + m.scaler.mean

    np.testing.assert_allclose(refit.params.weights, original.params.weights, atol=0.02)
    np.testing.assert_allclose(in_units(refit), in_units(original), atol=0.06)


def test_labels_header_and_determinism(tmp_path):
    model_path = tmp_path / "m.json"
    assert gmmcli("fit", WALK, "-k", 2, "-o", model_path, "-q").returncode == 0
    a = gmmcli("sample", model_path, "-n", 50, "--seed", 1, "--labels")
    b = gmmcli("sample", model_path, "-n", 50, "--seed", 1, "--labels")
    assert a.returncode == 0 and a.stdout == b.stdout
    lines = a.stdout.decode().splitlines()
    assert lines[0] == "x,y,component" and len(lines) == 51
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} <= {"0", "1"}
    empty = gmmcli("sample", model_path, "-n", 0)
    assert empty.stdout == b"x,y\n"
    bad = gmmcli("sample", model_path, "-n", -1)
    assert bad.returncode == 2 and bad.stderr == b"gmmcli: error: -n must be >= 0 (got -1)\n"
