"""Drawing rows from a mixture."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from gmmcli.core.params import GaussianMixtureParams


def covariance_factor(params: GaussianMixtureParams, k: int) -> np.ndarray:
    """L with L Lᵀ = Σₖ, shape (n_features, n_features)."""
    return np.linalg.cholesky(params.dense_covariances()[k])


def sample(params: GaussianMixtureParams, n_samples: int, rng: np.random.Generator,
           draw_noise: Optional[Callable] = None):
    """``n_samples`` rows in random order, and the component each came from (−1: the noise).

    ``draw_noise(n, rng)`` draws n rows from the noise component's uniform density (in the
    parameters' space); it is required when the mixture has one.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
    """
    probabilities = params.weights if params.noise is None else np.append(params.weights, params.noise.weight)
    counts = rng.multinomial(n_samples, probabilities / probabilities.sum())
    X = np.empty((n_samples, params.n_features))
    labels = np.repeat(np.append(np.arange(params.n_components), -1)[:len(counts)], counts)
    start = 0
    for k, count in enumerate(counts[:params.n_components]):
        z = rng.standard_normal((count, params.n_features))
        X[start:start + count] = params.means[k] + z @ covariance_factor(params, k).T
        start += count
    if params.noise is not None:
        X[start:] = draw_noise(counts[-1], rng)
    order = rng.permutation(n_samples)
    return X[order], labels[order]
