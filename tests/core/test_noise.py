"""The noise component (gmmcli.core.noise and its path through the E- and M-steps) against
R's mclust and prabclus.

The fixtures ``tests/fixtures/mclust/noise_*.json`` are written by
``sample_data/make_noise_fixtures.R`` (mclust 6.0.0, prabclus 2.3.2); no R is needed here:

a) the hypervolume equals ``hypvol`` (the smaller of the axis and principal-axes boxes);
b) :func:`nnclean` flags exactly the rows ``NNclean(X, k = 5)`` does;
c) one M-step with noise from a fixed partition equals ``mstep`` (plus the noise share), the
   E-step's log-likelihood equals ``estep``'s, and EM run for as many iterations as ``me``
   reaches ``me``'s log-likelihood, proportions, means and covariances;
d) the parameter count with noise equals ``nMclustParams``, so the BIC is mclust's.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace
from functools import partial

import numpy as np
import pytest

from gmmcli.core.em import run_em
from gmmcli.core.models import canonical_name
from gmmcli.core.noise import Extent, nnclean, principal_axes, smaller_box
from gmmcli.core.params import n_parameters
from gmmcli.core.stats import accumulate_statistics, block_statistics, m_step, score_rows
from tests.core.fixture_data import fixture_rows
from tests.core.test_mclust_reference import MCLUST_NOT_AT_MAXIMUM
from tests.helpers import ROOT

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "mclust")


def load(name: str) -> dict:
    with open(os.path.join(FIXTURES, f"noise_{name}.json")) as f:
        return json.load(f)


def box_of(X: np.ndarray):
    """The box gmmcli's pipeline builds, from arrays (column ranges, covariance axes)."""
    axes = principal_axes(np.cov(X.T, bias=True).reshape(X.shape[1], X.shape[1]))
    projected = X @ axes
    return smaller_box(Extent(X.min(0), X.max(0)), Extent(projected.min(0), projected.max(0)), axes)


@pytest.mark.parametrize("fx", load("hypvol")["datasets"], ids=lambda fx: fx["dataset"])
def test_hypervolume_is_mclusts_hypvol(fx):
    X = fixture_rows(fx)
    box = box_of(X)
    assert math.exp(box.log_volume) == pytest.approx(fx["hypvol"], rel=1e-13)
    if fx["d"] > 1:  # and it is the same one of the two boxes
        chosen_axis = np.allclose(box.axes, np.eye(fx["d"]))
        assert chosen_axis == (fx["chosen"] == "axis")


@pytest.mark.parametrize("fx", load("nnclean")["datasets"], ids=lambda fx: fx["dataset"])
def test_nnclean_flags_the_rows_prabclus_does(fx):
    noise = nnclean(fixture_rows(fx), k=fx["k"])
    expected = np.array(fx["z"]) == 0  # prabclus: 0 means noise
    assert noise.sum() == fx["n_noise"]
    np.testing.assert_array_equal(noise, expected)


STEPS = load("steps")
STEP_MODELS = [pytest.param(m, marks=pytest.mark.xfail(reason=MCLUST_NOT_AT_MAXIMUM[m], strict=True))
               if m in MCLUST_NOT_AT_MAXIMUM else m for m in sorted(STEPS["models"])]


def starting_statistics(X, model: str):
    """The fixture's partition (hc groups of the true-data rows, the true noise rows) as statistics."""
    labels = np.array(STEPS["labels"])
    G = STEPS["G"]
    resp = np.zeros((len(X), G + 1))
    resp[np.arange(len(X)), labels] = 1.0
    stats = accumulate_statistics(X, resp[:, :G], np.zeros(X.shape[1]), canonical_name(model))
    return replace(stats, noise=float(resp[:, G].sum()))


def assert_matches(params, expected, rtol):
    np.testing.assert_allclose(np.append(params.weights, params.noise.weight), expected["pro"], rtol=rtol)
    np.testing.assert_allclose(params.means, expected["mean"], rtol=rtol)
    np.testing.assert_allclose(params.dense_covariances(), expected["sigma"], rtol=rtol)


@pytest.mark.parametrize("model", STEP_MODELS)
def test_one_m_step_and_e_step_with_noise_equal_mclusts(model):
    X = fixture_rows(STEPS)
    log_density = math.log(STEPS["Vinv"])
    params = m_step(starting_statistics(X, model), 0.0, noise_log_density=log_density)
    fx = STEPS["models"][model]
    assert_matches(params, fx["mstep"], rtol=1e-9)
    stats = block_statistics(np.asfortranarray(X), None, 0, params=params, shift=np.zeros(2))
    assert stats.log_likelihood == pytest.approx(fx["estep_loglik"], rel=1e-12)
    assert np.append(stats.nk, stats.noise) == pytest.approx(fx["estep_z_colsums"], rel=1e-9)


@pytest.mark.parametrize("model", STEP_MODELS)
def test_em_with_noise_follows_mclusts_me(model):
    """As many M-steps as ``me`` took (its first is the M-step of the partition) give its fit."""
    X = np.asfortranarray(fixture_rows(STEPS))
    fx = STEPS["models"][model]["me"]
    start = m_step(starting_statistics(X, model), 0.0, noise_log_density=math.log(STEPS["Vinv"]))
    result = run_em(lambda p: block_statistics(X, None, 0, params=p, shift=np.zeros(2)), start,
                    reg_covar=0.0, tol=0.0, max_iter=abs(fx["iterations"]) - 1)
    assert result.final_log_likelihood == pytest.approx(fx["loglik"], rel=1e-9)
    assert_matches(result.params, fx, rtol=1e-6)
    p = n_parameters(canonical_name(model), STEPS["G"], 2, noise=True)
    assert p == fx["nparams"]
    assert 2 * result.final_log_likelihood - p * math.log(len(X)) == pytest.approx(fx["bic"], rel=1e-9)


def test_parameter_counts_with_noise_are_mclusts():
    fx = load("nparams")
    for model, counts in fx["nparams"].items():
        for G in range(1, len(counts["noise"])):
            assert n_parameters(canonical_name(model), G, 2, noise=True) == counts["noise"][G]
            assert n_parameters(canonical_name(model), G, 2) == counts["no_noise"][G]


def test_a_row_far_from_every_component_is_noise():
    X = fixture_rows(STEPS)
    params = m_step(starting_statistics(X, "VVV"), 0.0, noise_log_density=math.log(STEPS["Vinv"]))
    log_norm, resp = score_rows(np.array([[1e200, -1e200], [60.0, 60.0]]), params)
    assert resp.shape == (2, 3)
    np.testing.assert_array_equal(resp[0], [0.0, 0.0, 1.0])
    assert log_norm[0] == pytest.approx(math.log(params.noise.weight * STEPS["Vinv"]))
    assert np.isfinite(log_norm).all() and resp[1].sum() == pytest.approx(1.0)


def test_statistics_with_noise_add_up_by_blocks():
    X = np.asfortranarray(fixture_rows(STEPS))
    params = m_step(starting_statistics(X, "EEE"), 0.0, noise_log_density=math.log(STEPS["Vinv"]))
    step = partial(block_statistics, params=params, shift=np.zeros(2))
    whole = step(X, None, 0)
    parts = step(X[:7], None, 0) + step(X[7:500], None, 7) + step(X[500:], None, 500)
    assert parts.noise == pytest.approx(whole.noise, rel=1e-12)
    assert parts.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-12)
    assert whole.noise + whole.nk.sum() == pytest.approx(len(X), rel=1e-12)
