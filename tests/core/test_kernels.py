"""The two E-step kernels (quadratic features, direct) give the same statistics, for every
model with dense covariances, with weights and with a noise component; the cost model picks
the direct one only where it pays (many columns against few components, float64)."""

import numpy as np
import pytest

from gmmcli.core.models import MODEL_NAMES, get_model
from gmmcli.core.params import NoiseTerm, make_params
from gmmcli.core.stats import block_statistics, choose_kernel, m_step

DENSE = [m for m in MODEL_NAMES if not get_model(m).n_features_only and
         get_model(m).n_quad_features(3) > 2 * 3 + 1]


def problem(covariance_type, d=6, k=3, n=500, seed=0, noise=False):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.normal(size=(n, d)) * rng.uniform(0.5, 3, size=d) + 1.0)
    A = rng.normal(size=(k, d, d))
    dense = A @ A.transpose(0, 2, 1) / d + np.eye(d)
    covariances = dense.mean(axis=0) if get_model(covariance_type).shared else dense
    weights = rng.dirichlet(np.ones(k)) * (0.8 if noise else 1.0)
    params = make_params(weights, rng.normal(size=(k, d)), covariances, "full" if covariances.ndim == 3 else "tied",
                         NoiseTerm(0.2, -4.0) if noise else None)
    return X, params


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_kernels_give_the_same_statistics(covariance_type, noise, weighted):
    X, params = problem(covariance_type, noise=noise)
    w = np.random.default_rng(1).uniform(0, 2, size=len(X)) if weighted else None
    shift = X.mean(axis=0)
    a = block_statistics(X, w, 0, params=params, shift=shift, kernel="features")
    b = block_statistics(X, w, 0, params=params, shift=shift, kernel="direct")
    assert b.log_likelihood == pytest.approx(a.log_likelihood, rel=1e-12)
    assert b.weight == a.weight and b.noise == pytest.approx(a.noise, rel=1e-12)
    for field in ("nk", "sx", "moment"):
        np.testing.assert_allclose(getattr(b, field), getattr(a, field), rtol=1e-11, atol=1e-9)


@pytest.mark.parametrize("covariance_type", DENSE)
def test_every_dense_model_takes_the_same_m_step_from_either_kernel(covariance_type):
    X, start = problem("full", seed=3)
    covariances = start.covariances.mean(axis=0) if get_model(covariance_type).shared else start.covariances
    start = make_params(start.weights, start.means, covariances, covariance_type)
    shift = np.zeros(X.shape[1])
    a, b = (m_step(block_statistics(X, None, 0, params=start, shift=shift, kernel=kernel), 1e-6, previous=start)
            for kernel in ("features", "direct"))
    np.testing.assert_allclose(b.covariances, a.covariances, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(b.means, a.means, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("d,k,dtype,expected", [
    (10, 2, np.float64, "features"), (24, 2, np.float64, "direct"), (40, 8, np.float64, "direct"),
    (32, 8, np.float64, "features"), (100, 32, np.float64, "features"), (112, 32, np.float64, "direct"),
    (100, 2, np.float32, "features"),
])
def test_the_cost_model(d, k, dtype, expected):
    params = make_params(np.ones(k) / k, np.zeros((k, d)), np.broadcast_to(np.eye(d), (k, d, d)), "full")
    assert choose_kernel(params, dtype) == expected


def test_diagonal_models_always_use_features():
    d, k = 200, 2
    params = make_params(np.ones(k) / k, np.zeros((k, d)), np.ones((k, d)), "diag")
    assert choose_kernel(params, np.float64) == "features"
