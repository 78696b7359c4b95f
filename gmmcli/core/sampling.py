"""Drawing rows from a mixture."""

from __future__ import annotations

import numpy as np

from gmmcli.core.params import GaussianMixtureParams


def covariance_factor(params: GaussianMixtureParams, k: int) -> np.ndarray:
    """L with L Lᵀ = Σₖ, shape (n_features, n_features)."""
    return np.linalg.cholesky(params.dense_covariances()[k])


def sample(params: GaussianMixtureParams, n_samples: int, rng: np.random.Generator):
    """``n_samples`` rows in random order, and the component each came from.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
    """
    counts = rng.multinomial(n_samples, params.weights / params.weights.sum())
    X = np.empty((n_samples, params.n_features))
    labels = np.repeat(np.arange(params.n_components), counts)
    start = 0
    for k, count in enumerate(counts):
        z = rng.standard_normal((count, params.n_features))
        X[start:start + count] = params.means[k] + z @ covariance_factor(params, k).T
        start += count
    order = rng.permutation(n_samples)
    return X[order], labels[order]
