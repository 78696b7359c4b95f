"""--prior through the command line: MAP EM keeps a component from collapsing onto duplicated rows."""

import numpy as np

from gmmcli.io.model_file import read_model
from tests.helpers import write_csv


def duplicated_rows(tmp_path):
    rng = np.random.default_rng(11)
    X = np.vstack([rng.normal(size=(150, 2)), rng.normal(size=(150, 2)) + [6, 0], np.tile([3.0, 5.0], (12, 1))])
    return str(write_csv(tmp_path / "dup.csv", X, ["a", "b"]))


def test_prior_keeps_a_component_off_duplicated_rows(tmp_path, run):
    data = duplicated_rows(tmp_path)
    common = ["-k", 3, "--reg-covar", 0, "--no-standardize", "--n-init", 3, "--seed", 5]
    plain = run("fit", data, *common, "-o", tmp_path / "plain.json")
    assert plain.code == 3 or "collapsed" in plain.err  # without a prior the spike wins or the fit fails
    res = run("fit", data, *common, "--prior", "-o", tmp_path / "map.json")
    assert res.code == 0, res.err
    assert "collapsed" not in res.err
    model = read_model(str(tmp_path / "map.json"))
    assert model.settings["prior"] is True
    assert min(model.diagnostics["min_variances"]) > 1e-3


def test_prior_is_refused_where_mclust_has_none(tmp_path, run):
    data = duplicated_rows(tmp_path)
    res = run("fit", data, "-k", 2, "--covariance", "vve", "--prior")
    assert res.code == 2 and "--prior: mclust has no prior for VVE" in res.err
    res = run("select", data, "-k", 2, "--covariance", "VVE,full", "--prior", "--format", "csv", "-j", 1)
    rows = res.out.decode().splitlines()[1:]
    assert res.code == 0 and any(r.startswith("2,VVE") and "not fitted: mclust has no prior" in r for r in rows)
