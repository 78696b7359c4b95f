"""Sample weights: integer weights = repeated rows, zero weights = dropped rows, bad weights = clean errors."""

import numpy as np
import pytest

from gmmcli.core.init import initialize
from gmmcli.engines.memory import MemoryEngine
from gmmcli.io.model_file import read_model
from gmmcli.scaler import fit_scaler
from tests.helpers import COVARIANCE_TYPES, blobs, gmmcli, write_model


def write_rows(path, X, w=None):
    with open(path, "w") as f:
        f.write("a,b" + ("" if w is None else ",w") + "\n")
        for i, row in enumerate(X.tolist()):
            f.write(",".join(repr(v) for v in row) + ("" if w is None else f",{w[i]}") + "\n")
    return path


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows_and_zero_weights_equal_dropped_rows(tmp_path, rng, covariance_type):
    X = blobs(rng, n=120, d=2, k=3)
    w = rng.integers(0, 4, size=len(X))
    repeated = np.repeat(X, w, axis=0)
    scaler = fit_scaler(repeated, ["a", "b"])
    Z = scaler.transform(repeated)
    start = initialize(MemoryEngine(Z), 3, covariance_type, "kmeans++", rng, 1e-6, np.zeros(2))
    init = write_model(tmp_path / "init.json", start, ["a", "b"], scaler=scaler)
    weighted = write_rows(tmp_path / "weighted.csv", X, w)
    plain = write_rows(tmp_path / "repeated.csv", repeated)
    common = ["-k", 3, "--covariance", covariance_type, "--init-model", init, "--tol", 0, "--max-iter", 20, "-q"]
    a = gmmcli("fit", weighted, "--weight-column", "w", *common, "-o", tmp_path / "a.json")
    b = gmmcli("fit", plain, *common, "-o", tmp_path / "b.json")
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    ma, mb = read_model(str(tmp_path / "a.json")), read_model(str(tmp_path / "b.json"))
    assert ma.feature_names == ("a", "b")
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(ma.params, name), getattr(mb.params, name), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ma.scaler.mean, mb.scaler.mean, rtol=1e-12)
    np.testing.assert_allclose(ma.scaler.scale, mb.scaler.scale, rtol=1e-12)
    assert ma.log_likelihood["total"] == pytest.approx(mb.log_likelihood["total"], rel=1e-10)
    assert ma.log_likelihood["total_weight"] == len(repeated)


def test_weighted_fit_without_init_model_runs(tmp_path, rng):
    X = blobs(rng, n=300, d=2, k=3)
    path = write_rows(tmp_path / "d.csv", X, rng.uniform(0, 2, size=len(X)))
    proc = gmmcli("fit", path, "-k", 3, "-w", "w", "-o", tmp_path / "m.json", "-q")
    assert proc.returncode == 0, proc.stderr
    assert read_model(str(tmp_path / "m.json")).settings["weight_column"] == "w"


@pytest.mark.parametrize("weights,message", [
    (["1", "-2", "1"], "d.csv: line 3, column 'w': negative weight -2"),
    (["1", "nan", "1"], "d.csv: line 3, column 'w': 'nan' is a missing value (to allow missing values, use --missing)"),
    (["1", "inf", "1"], "d.csv: line 3, column 'w': 'inf' is not a finite number"),
    (["1", "x", "1"], "d.csv: line 3, column 'w': 'x' is not a number"),
])
def test_bad_weights_name_the_row(tmp_path, weights, message):
    path = tmp_path / "d.csv"
    path.write_text("a,b,w\n" + "".join(f"{i},{i * i % 5},{w}\n" for i, w in enumerate(weights)))
    proc = gmmcli("fit", "d.csv", "-k", 1, "-w", "w", cwd=tmp_path)
    assert proc.returncode == 65
    assert proc.stderr.decode() == f"gmmcli: error: {message}\n"


def test_weight_column_cannot_also_be_a_feature(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,w\n1,2,1\n3,5,1\n4,1,2\n")
    proc = gmmcli("fit", "d.csv", "-k", 1, "-w", "w", "-c", "a,w", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == b"gmmcli: error: --weight-column 'w' is also selected as a feature by -c\n"
