"""mclust's VVE: Σ_k = λ_k D A_k Dᵀ, a volume and a shape per component, one orientation.

Given D, λ_k A_k = diag(Dᵀ W_k D) / n_k is exact; D moves by Browne & McNicholas's (2014)
majorization–minimization steps (MM1 then MM2) on Σ_k tr(Dᵀ W_k D (λ_k A_k)⁻¹), which is −2ℓ
up to terms fixed while D moves, so −ℓ never increases. (mclust's msvve weights the MM
steps by A_k⁻¹ alone, leaving out 1/λ_k: that is the EVE objective, whose fixed point is not
VVE's maximum when the volumes differ.) Warm-started from the last EM iteration's
orientation, else from the eigenvectors of Σ_k W_k.
"""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import constrained_model
from gmmcli.core.models.iterative import (
    MAX_MM_ITER, InnerFit, common_orientation, counts, floor_of, mm_orientation, rotated_diagonals, run_inner,
    sorted_eigh,
)


def fit(W: np.ndarray, nk: np.ndarray, previous: np.ndarray | None = None, *, record: bool = False) -> InnerFit:
    """The maximum-likelihood VVE covariances from scatter matrices W (K, D, D) and weights nk (K,).

    ``previous`` (K, D, D): covariances to warm-start from (their common orientation).
    """
    floor = floor_of(W, nk)
    n = counts(nk)
    omega = np.linalg.eigvalsh(W)[:, -1]

    def given(D):  # the variances along D's axes that are optimal for D: λ_k A_k
        return D, np.maximum(rotated_diagonals(W, D) / n[:, None], floor)

    def step(state):
        D, variances = state
        return given(mm_orientation(W, omega, D, variances))

    D = sorted_eigh(W.sum(axis=0))[1] if previous is None else common_orientation(previous)
    return run_inner(given(D), step, _parameters, _dense, W, nk, max_iter=MAX_MM_ITER, record=record)


def _parameters(state):
    D, variances = state
    log_volumes = np.mean(np.log(variances), axis=1)
    volumes = np.exp(log_volumes)
    return np.concatenate([volumes, (variances / volumes[:, None]).ravel(), D.ravel()])


def _dense(state):
    D, variances = state
    return np.einsum("ij,kj,lj->kil", D, variances, D)


def estimate(W, nk, previous=None):
    return fit(W, nk, previous).covariances


MODEL = constrained_model(name="VVE", estimate=estimate, inner_fit=fit,
                          n_cov_parameters=lambda k, d: k * d + d * (d - 1) // 2)
