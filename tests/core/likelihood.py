"""What the covariance-model tests share: scatter matrices of data, and the objective they maximise."""

import numpy as np


def scatter_of(Z: np.ndarray, weights: np.ndarray):
    """Scatter matrices W_k (K, D, D) of rows Z (K, n, D) with responsibilities ``weights`` (K, n), and n_k."""
    nk = weights.sum(axis=1)
    Zc = Z - np.einsum("kn,knd->kd", weights, Z)[:, None, :] / nk[:, None, None]
    return np.einsum("kn,kni,knj->kij", weights, Zc, Zc), nk


def log_likelihood(cov, W, nk):
    """ℓ(Σ) = −½ Σ_k [n_k log|Σ_k| + tr(W_k Σ_k⁻¹)] (independent of the code under test)."""
    sign, logdet = np.linalg.slogdet(cov)
    assert np.all(sign > 0)
    return -0.5 * float(nk @ logdet + np.trace(np.linalg.solve(cov, W), axis1=1, axis2=2).sum())


def volumes(cov):
    """|Σ_k|^{1/d} per component."""
    return np.exp(np.linalg.slogdet(cov)[1] / cov.shape[1])
