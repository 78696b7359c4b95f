"""mclust's VEV: Σ_k = λ_k D_k A D_kᵀ, a volume and an orientation per component, one shape.

D_k are the eigenvectors of W_k (eigenvalues ω_k descending, paired with A descending,
von Neumann's trace inequality); λ_k and A come from mclust's fixed point (msvev),
warm-started from the last EM iteration's shape.
"""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import constrained_model
from gmmcli.core.models.iterative import (
    InnerFit, fit_volume_shape, geometric_mean_shape, normalize_positive, sorted_eigh,
)


def fit(W: np.ndarray, nk: np.ndarray, previous: np.ndarray | None = None, *, record: bool = False) -> InnerFit:
    """The maximum-likelihood VEV covariances from scatter matrices W (K, D, D) and weights nk (K,).

    ``previous`` (K, D, D): covariances to warm-start from (their common shape), else mclust's
    start A = normalize(Σ_k ω_k).
    """
    omega, vectors = sorted_eigh(W)
    omega = np.maximum(omega, 0.0)
    shape = normalize_positive(omega.sum(axis=0)) if previous is None else geometric_mean_shape(previous)

    def dense(volumes, a):
        return np.einsum("k,kij,j,klj->kil", volumes, vectors, a, vectors)

    return fit_volume_shape(omega, nk, shape, dense, W, record=record)


def estimate(W, nk, previous=None):
    return fit(W, nk, previous).covariances


MODEL = constrained_model(name="VEV", estimate=estimate, inner_fit=fit,
                          n_cov_parameters=lambda k, d: k + (d - 1) + k * d * (d - 1) // 2)
