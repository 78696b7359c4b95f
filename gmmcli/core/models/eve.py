"""mclust's EVE: Σ_k = λ D A_k Dᵀ, one volume, a shape per component, one orientation.

Given D, A_k = normalize(diag(Dᵀ W_k D)) and λ = Σ_k tr(Dᵀ W_k D A_k⁻¹) / (n d) are exact;
D moves by Browne & McNicholas's (2014) majorization–minimization steps (MM1 then MM2, as
mclust's mseve), which never increase t = Σ_k tr(Dᵀ W_k D A_k⁻¹); −ℓ = ½ n d (1 + log(t / (n d)))
follows t. Warm-started from the last EM iteration's orientation, else from the
eigenvectors of Σ_k W_k.
"""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import constrained_model
from gmmcli.core.models.iterative import (
    MAX_MM_ITER, TINY, InnerFit, common_orientation, counts, floor_of, mm_orientation, normalize_positive,
    rotated_diagonals, run_inner, sorted_eigh,
)


def fit(W: np.ndarray, nk: np.ndarray, previous: np.ndarray | None = None, *, record: bool = False) -> InnerFit:
    """The maximum-likelihood EVE covariances from scatter matrices W (K, D, D) and weights nk (K,).

    ``previous`` (K, D, D): covariances to warm-start from (their common orientation).
    """
    d = W.shape[-1]
    floor = floor_of(W, nk)
    total = float(counts(nk).sum())
    omega = np.linalg.eigvalsh(W)[:, -1]

    def given(D):  # the shapes and the volume that are optimal for D
        spread = np.maximum(rotated_diagonals(W, D), TINY)
        shapes = normalize_positive(spread)
        volume = max(float((spread / shapes).sum()) / (total * d), floor)
        return D, shapes, volume

    def step(state):
        D, shapes, _ = state
        return given(mm_orientation(W, omega, D, shapes))

    D = sorted_eigh(W.sum(axis=0))[1] if previous is None else common_orientation(previous)
    return run_inner(given(D), step, _parameters, _dense, W, nk, max_iter=MAX_MM_ITER, record=record)


def _parameters(state):
    D, shapes, volume = state
    return np.concatenate([[volume], shapes.ravel(), D.ravel()])


def _dense(state):
    D, shapes, volume = state
    return volume * np.einsum("ij,kj,lj->kil", D, shapes, D)


def estimate(W, nk, previous=None):
    return fit(W, nk, previous).covariances


MODEL = constrained_model(name="EVE", estimate=estimate, inner_fit=fit,
                          n_cov_parameters=lambda k, d: 1 + k * (d - 1) + d * (d - 1) // 2)
