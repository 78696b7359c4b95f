"""``EEV`` (mclust): Σ_k = λD_kAD_kᵀ, equal volume and shape, varying orientation."""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import clip_positive, constrained_model


def estimate(W: np.ndarray, nk: np.ndarray, previous=None) -> np.ndarray:
    """W_k = D_k Ω_k D_kᵀ (eigenvalues descending), A = normalize(Σ_k Ω_k),
    λ = |Σ_k Ω_k|^{1/d} / n; so λA = Σ_k Ω_k / n and Σ_k = D_k (Σ_j Ω_j / n) D_kᵀ, shape (K, D, D).

    Pairing the largest eigenvalue of A with each W_k's largest is the maximum (von Neumann's
    trace inequality). mclust: ``mseev`` / ``meeev`` in src/mclust.f (there the eigenvalues
    are the squared singular values of W_k's triangular factor).
    """
    values, vectors = np.linalg.eigh(W)  # ascending, the same order for every k
    shape = clip_positive(values.sum(axis=0) / nk.sum())  # λA, (D,)
    cov = (vectors * shape) @ vectors.transpose(0, 2, 1)
    return 0.5 * (cov + cov.transpose(0, 2, 1))


MODEL = constrained_model(name="EEV", estimate=estimate,
                          n_cov_parameters=lambda k, d: 1 + (d - 1) + k * d * (d - 1) // 2)
