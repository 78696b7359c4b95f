"""mclust's VEE: Σ_k = λ_k C, a volume per component and one matrix C (det C = 1) = D A Dᵀ.

Alternately C = normalize(Σ_k W_k / λ_k) and λ_k = tr(W_k C⁻¹) / (d n_k), each the exact
minimiser of −ℓ given the other (mclust's msvee, whose start λ_k = 1 makes the first C the
pooled EEE shape); warm-started from the last EM iteration's C.
"""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import constrained_model
from gmmcli.core.models.iterative import (
    MAX_ITER, TINY, InnerFit, counts, floor_of, normalize_positive, rotated_diagonals, run_inner, sorted_eigh,
)


def fit(W: np.ndarray, nk: np.ndarray, previous: np.ndarray | None = None, *, record: bool = False) -> InnerFit:
    """The maximum-likelihood VEE covariances from scatter matrices W (K, D, D) and weights nk (K,).

    ``previous`` (K, D, D): covariances to warm-start from (their common C), else C from Σ_k W_k.
    """
    d = W.shape[-1]
    floor = floor_of(W, nk)
    n = counts(nk)

    def volumes(c, U):  # tr(W_k C⁻¹) / (d n_k) with C = U diag(c) Uᵀ
        return np.maximum((rotated_diagonals(W, U) / c).sum(axis=1) / (d * n), floor)

    def step(state):
        c, U = common(np.einsum("kij,k->ij", W, 1.0 / state[0]))
        return volumes(c, U), c, U

    c, U = common(W.sum(axis=0) if previous is None else _unit_volume_mean(previous))
    return run_inner((volumes(c, U), c, U), step, _parameters, _dense, W, nk, max_iter=MAX_ITER, record=record)


def common(M: np.ndarray):
    """(c, U): the eigen-decomposition of M scaled to determinant 1, eigenvalues clipped positive."""
    c, U = sorted_eigh(0.5 * (M + M.T))
    return normalize_positive(np.maximum(c, 0.0)), U


def _unit_volume_mean(covariances: np.ndarray) -> np.ndarray:
    """Σ_k Σ_k / |Σ_k|^{1/d}: the common C of VEE covariances, up to scale."""
    values = np.maximum(np.linalg.eigvalsh(covariances), TINY)
    return np.einsum("k,kij->ij", np.exp(-np.mean(np.log(values), axis=1)), covariances)


def _matrix(c, U):
    return (U * c) @ U.T


def _parameters(state):
    volumes, c, U = state
    return np.concatenate([volumes, _matrix(c, U).ravel()])


def _dense(state):
    volumes, c, U = state
    return volumes[:, None, None] * _matrix(c, U)[None]


def estimate(W, nk, previous=None):
    return fit(W, nk, previous).covariances


MODEL = constrained_model(name="VEE", estimate=estimate, inner_fit=fit,
                          n_cov_parameters=lambda k, d: k + (d - 1) + d * (d - 1) // 2)
