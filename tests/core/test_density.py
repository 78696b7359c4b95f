"""Log densities against scipy.stats.multivariate_normal, for every covariance type."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmmcli.core.stats import estimate_weighted_log_prob, normalize_log_prob
from tests.helpers import COVARIANCE_TYPES, random_params


def full_covariance(params, k):
    c = params.covariances
    d = params.n_features
    return {"full": lambda: c[k], "tied": lambda: c, "diag": lambda: np.diag(c[k]),
            "spherical": lambda: np.eye(d) * c[k]}[params.covariance_type]()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("d", [1, 2, 5])
def test_log_density_matches_scipy(rng, covariance_type, d):
    params = random_params(rng, covariance_type, k=4, d=d)
    X = rng.normal(scale=3.0, size=(50, d))
    got = estimate_weighted_log_prob(X, params)
    for k in range(4):
        expected = multivariate_normal(params.means[k], full_covariance(params, k)).logpdf(X).reshape(-1)
        np.testing.assert_allclose(got[:, k] - np.log(params.weights[k]), expected, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_responsibilities_sum_to_one_and_log_norm_is_logsumexp(rng, covariance_type):
    params = random_params(rng, covariance_type, k=5, d=3)
    X = rng.normal(scale=5.0, size=(200, 3))
    weighted = estimate_weighted_log_prob(X, params)
    log_norm, resp = normalize_log_prob(weighted)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    from scipy.special import logsumexp

    np.testing.assert_allclose(log_norm, logsumexp(weighted, axis=1), rtol=1e-13)
