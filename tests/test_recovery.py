"""The sample data's true parameters are recovered (up to label order)."""

import itertools
import os
import sys

import numpy as np

from gmmcli import pipeline
from tests.helpers import SAMPLE, fit_request

sys.path.insert(0, SAMPLE)
import make_walkthrough as truth  # noqa: E402


def test_walkthrough_true_parameters_are_recovered():
    result = pipeline.fit(fit_request(os.path.join(SAMPLE, "walkthrough.csv"), n_components=3))
    model = result.model
    scale, mean = model.scaler.scale, model.scaler.mean
    means = model.params.means * scale + mean
    covs = model.params.covariances * np.outer(scale, scale)
    true_weights = np.array(truth.COUNTS) / sum(truth.COUNTS)
    best = min(itertools.permutations(range(3)), key=lambda p: np.abs(means[list(p)] - truth.MEANS).sum())
    order = list(best)
    np.testing.assert_allclose(model.params.weights[order], true_weights, atol=0.02)
    np.testing.assert_allclose(means[order], truth.MEANS, atol=0.25)
    # Against the statistics of the rows each component really drew (what EM
    # can recover from 300 rows), the covariances agree closely too.
    X, labels = truth.make(np.random.default_rng(truth.SEED))
    drawn = np.array([np.cov(X[labels == k].T, bias=True) for k in range(3)])
    np.testing.assert_allclose(covs[order], drawn, atol=0.2)
    np.testing.assert_allclose(covs[order], truth.COVARIANCES, atol=0.5)


def test_sample_files_are_what_the_script_makes(tmp_path, monkeypatch):
    monkeypatch.setattr(truth, "HERE", str(tmp_path))
    truth.main()
    for name in ("walkthrough.csv", "walkthrough_noheader.csv", "walkthrough.csv.gz", "new_rows.csv"):
        assert (tmp_path / name).read_bytes() == open(os.path.join(SAMPLE, name), "rb").read(), name
