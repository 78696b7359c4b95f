"""``EVI`` (mclust): Σ_k = λA_k, diagonal covariances of equal volume and varying shape."""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import clip_positive, constrained_model


def estimate(W: np.ndarray, nk: np.ndarray, previous=None) -> np.ndarray:
    """b_k = diag(W_k), A_k = normalize(b_k), λ = Σ_k (Π_j b_kj)^{1/d} / n; shape (K, D, D).

    In log space: log λ A_k = log λ + log b_k − mean_j log b_kj.
    mclust: ``msevi`` / ``meevi`` in src/mclust.f.
    """
    log_b = np.log(clip_positive(np.diagonal(W, axis1=1, axis2=2)))  # (K, D)
    log_volumes = log_b.mean(axis=1, keepdims=True)  # log (Π b_k)^{1/d}
    log_lam = np.logaddexp.reduce(log_volumes, axis=0) - np.log(nk.sum())
    variances = np.exp(log_lam + log_b - log_volumes)
    return variances[:, :, None] * np.eye(W.shape[1])


MODEL = constrained_model(name="EVI", estimate=estimate, n_cov_parameters=lambda k, d: 1 + k * (d - 1))
