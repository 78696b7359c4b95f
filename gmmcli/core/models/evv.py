"""``EVV`` (mclust): Σ_k = λD_kA_kD_kᵀ, equal volume, varying shape and orientation."""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import clip_positive, constrained_model


def estimate(W: np.ndarray, nk: np.ndarray, previous=None) -> np.ndarray:
    """C_k = W_k / |W_k|^{1/d}, λ = Σ_k |W_k|^{1/d} / n, Σ_k = λC_k; shape (K, D, D).

    Built from W_k's eigenvalues ω_k in log space, Σ_k = D_k exp(log λ + log ω_k −
    mean log ω_k) D_kᵀ, so that no determinant overflows and a singular W_k (eigenvalues
    floored by :func:`clip_positive`) still gives a finite, positive definite Σ_k.
    mclust: ``msevv`` / ``meevv`` in src/mclustaddson.f.
    """
    values, vectors = np.linalg.eigh(W)
    log_values = np.log(clip_positive(values))  # (K, D)
    log_volumes = log_values.mean(axis=1, keepdims=True)  # log |W_k|^{1/d}
    log_lam = np.logaddexp.reduce(log_volumes, axis=0) - np.log(nk.sum())
    cov = (vectors * np.exp(log_lam + log_values - log_volumes)[:, None, :]) @ vectors.transpose(0, 2, 1)
    return 0.5 * (cov + cov.transpose(0, 2, 1))


MODEL = constrained_model(name="EVV", estimate=estimate,
                          n_cov_parameters=lambda k, d: 1 - k + k * d * (d + 1) // 2)
