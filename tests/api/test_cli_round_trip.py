"""Python and the command line agree: same fit, same model file, same predictions, same samples.

The CLI runs as a real subprocess (``.venv/bin/gmmcli``) on the shipped sample data.
"""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import gmmcli
from tests.helpers import SAMPLE

GMMCLI = os.path.join(os.path.dirname(sys.executable), "gmmcli")


def cli(*args, cwd=None):
    """Run gmmcli; its stdout as text (the test fails with its stderr if it fails)."""
    proc = subprocess.run([GMMCLI, *map(str, args)], capture_output=True, text=True, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def cli_predictions(model_path, data_path, *options):
    """What ``gmmcli predict`` prints, parsed (pandas parses floats to the nearest double)."""
    return pd.read_csv(io.StringIO(cli("predict", model_path, data_path, *options)))


def sample_frame(name):
    return pd.read_csv(os.path.join(SAMPLE, name))


# (CLI fit options, the same fit in Python's words, data file)
SAME_FITS = [
    (["-k", "3", "--seed", "0", "--no-standardize"], dict(n_components=3, random_state=0), "walkthrough.csv"),
    (["-k", "3", "--seed", "0", "--covariance", "VEV", "--prior", "--init", "hc"],
     dict(n_components=3, covariance_type="VEV", prior=True, init_params="hc", random_state=0, standardize=True),
     "iris.csv"),
    (["-k", "2", "--seed", "4", "--covariance", "EII", "--n-init", "3", "--tol", "1e-6"],
     dict(n_components=2, covariance_type="EII", n_init=3, tol=1e-6, random_state=4, standardize=True),
     "faithful.csv"),
    (["-k", "2", "--seed", "0", "--noise"], dict(n_components=2, noise=True, random_state=0, standardize=True),
     "faithful.csv"),
]


@pytest.mark.parametrize("options, params, data", SAME_FITS,
                         ids=["full-unscaled", "VEV-prior-hc", "EII-restarts", "noise"])
def test_python_fit_writes_the_model_file_the_cli_writes(tmp_path, options, params, data):
    """Byte for byte: the same rows and settings give the same model file from both."""
    cli("fit", os.path.join(SAMPLE, data), *options, "-o", tmp_path / "cli.json")
    gmmcli.GaussianMixture(**params).fit(sample_frame(data)).save(tmp_path / "python.json")
    assert (tmp_path / "python.json").read_bytes() == (tmp_path / "cli.json").read_bytes()


def test_weighted_fit_is_the_cli_weight_column_fit(tmp_path):
    """sample_weight is --weight-column (the file also records the column's name: the only difference)."""
    cli("fit", os.path.join(SAMPLE, "weighted.csv"), "-k", "2", "--weight-column", "w", "-o", tmp_path / "cli.json")
    frame = sample_frame("weighted.csv")
    gm = gmmcli.GaussianMixture(2, random_state=0, standardize=True)
    gm.fit(frame[["x", "y"]], sample_weight=frame["w"]).save(tmp_path / "python.json")
    from_cli = json.loads((tmp_path / "cli.json").read_text())
    from_python = json.loads((tmp_path / "python.json").read_text())
    assert from_cli["settings"].pop("weight_column") == "w"
    assert from_python == from_cli


@pytest.mark.parametrize("options", [["-k", "2"], ["-k", "3", "--covariance", "VVE", "--no-standardize"]])
def test_cli_model_predicts_in_python_what_the_cli_prints(tmp_path, options):
    data = os.path.join(SAMPLE, "faithful.csv")
    cli("fit", data, *options, "-o", tmp_path / "model.json")
    printed = cli_predictions(tmp_path / "model.json", data)
    gm = gmmcli.load_model(tmp_path / "model.json")
    X = sample_frame("faithful.csv")
    proba = gm.predict_proba(X)
    assert_allclose(proba, printed[[f"prob_{k}" for k in range(gm.n_components)]].to_numpy(), rtol=0, atol=1e-12)
    assert_allclose(gm.score_samples(X), printed["log_likelihood"].to_numpy(), rtol=1e-12, atol=1e-12)
    assert_array_equal(gm.predict(X), printed["label"].to_numpy())


def test_noise_labels_are_the_clis(tmp_path):
    """With a noise component, its rows are labelled -1 and its probability is the last column."""
    X = sample_frame("faithful.csv")
    gm = gmmcli.GaussianMixture(2, noise=True, standardize=True, random_state=0).fit(X)
    gm.save(tmp_path / "model.json")
    printed = cli_predictions(tmp_path / "model.json", os.path.join(SAMPLE, "faithful.csv"))
    assert_array_equal(printed["label"].to_numpy(), gm.predict(X))
    assert (gm.predict(X) == -1).any() and gm.weights_.sum() < 1
    assert gm.weights_.sum() + gm.noise_weight_ == pytest.approx(1.0, abs=1e-12)
    saved = json.loads((tmp_path / "model.json").read_text())["noise"]
    assert (gm.noise_weight_, gm.hypervolume_) == (saved["proportion"], saved["hypervolume"])
    assert gmmcli.GaussianMixture(2, random_state=0).fit(X).noise_weight_ == 0.0
    assert_allclose(printed[["prob_0", "prob_1", "prob_noise"]].to_numpy(), gm.predict_proba(X), rtol=0, atol=1e-12)


def test_python_saved_model_predicts_through_the_cli_what_python_predicts(tmp_path):
    X = sample_frame("iris.csv")
    gm = gmmcli.GaussianMixture(3, covariance_type="EEV", standardize=True, random_state=1).fit(X)
    gm.save(tmp_path / "model.json")
    printed = cli_predictions(tmp_path / "model.json", os.path.join(SAMPLE, "iris.csv"))
    assert_allclose(printed[["prob_0", "prob_1", "prob_2"]].to_numpy(), gm.predict_proba(X), rtol=0, atol=1e-12)
    assert_allclose(printed["log_likelihood"].to_numpy(), gm.score_samples(X), rtol=1e-12, atol=1e-12)
    assert_array_equal(printed["label"].to_numpy(), gm.predict(X))


def test_array_without_names_saves_a_headerless_model(tmp_path):
    """Fitted on a bare array, the model names its columns 1, 2, … as ``fit --no-header`` does, and
    the CLI predicts a headerless file with it."""
    path = os.path.join(SAMPLE, "walkthrough_noheader.csv")
    X = np.loadtxt(path, delimiter=",")
    gm = gmmcli.GaussianMixture(3, random_state=0).fit(X)
    assert not hasattr(gm, "feature_names_in_")
    gm.save(tmp_path / "model.json")
    document = json.loads((tmp_path / "model.json").read_text())
    assert (document["feature_names"], document["has_header"]) == (["1", "2"], False)
    printed = cli_predictions(tmp_path / "model.json", path)
    assert_allclose(printed["log_likelihood"].to_numpy(), gm.score_samples(X), rtol=1e-12, atol=1e-12)


def test_sample_draws_the_rows_gmmcli_sample_writes(tmp_path):
    cli("fit", os.path.join(SAMPLE, "faithful.csv"), "-k", "2", "-o", tmp_path / "model.json")
    written = pd.read_csv(io.StringIO(cli("sample", tmp_path / "model.json", "-n", "25", "--seed", "5", "--labels")))
    X, labels = gmmcli.load_model(tmp_path / "model.json").set_params(random_state=5).sample(25)
    assert_allclose(X, written[["eruptions", "waiting"]].to_numpy(), rtol=1e-15)
    assert_array_equal(labels, written["component"].to_numpy())


def test_select_chooses_and_writes_what_gmmcli_select_does(tmp_path):
    data = os.path.join(SAMPLE, "faithful.csv")
    cli("select", data, "-k", "1-3", "--covariance", "full,VEV", "--no-standardize", "-j", "1",
        "-o", tmp_path / "cli.json")
    table, gm = gmmcli.select(sample_frame("faithful.csv"), k=range(1, 4), covariance="full,VEV")
    gm.save(tmp_path / "python.json")
    assert (tmp_path / "python.json").read_bytes() == (tmp_path / "cli.json").read_bytes()
    rows = json.loads((tmp_path / "cli.json").read_text())["selection"]["rows"]
    assert_allclose(table["bic"].to_numpy(), [r["bic"] for r in rows], rtol=1e-15)
