"""mclust's EVE: Σ_k = λ D A_k Dᵀ, one volume, a shape per component, one orientation.

Given D, A_k = normalize(diag(Dᵀ W_k D)) and λ = Σ_k tr(Dᵀ W_k D A_k⁻¹) / (n d) are exact, so
−ℓ = ½ n d (1 + log(t / (n d))) is a function of D through t = d Σ_k (Π_j x_kj)^{1/d},
x_k = diag(Dᵀ W_k D). D moves by safeguarded Newton steps on t over the orthogonal group,
with Browne & McNicholas's (2014) majorization–minimization steps (MM1 then MM2, as mclust's
mseve) whenever a Newton step would not lower −ℓ
(:func:`gmmcli.core.models.iterative.fit_orientation`). Warm-started from the last EM
iteration's orientation, else from the eigenvectors of Σ_k W_k.
"""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import constrained_model
from gmmcli.core.models.iterative import (
    REL_FLOOR, TINY, InnerFit, Profile, common_orientation, counts, fit_orientation, floor_of, normalize_positive,
    sorted_eigh,
)


def fit(W: np.ndarray, nk: np.ndarray, previous: np.ndarray | None = None, *, record: bool = False) -> InnerFit:
    """The maximum-likelihood EVE covariances from scatter matrices W (K, D, D) and weights nk (K,).

    ``previous`` (K, D, D): covariances to warm-start from (their common orientation).
    """
    d = W.shape[-1]
    floor = floor_of(W, nk)
    total = float(counts(nk).sum())
    weight = float(np.sum(nk)) * d

    def given(x):  # the shapes and the volume that are optimal for x = diag(Dᵀ W_k D), and −ℓ
        spread = np.maximum(x, TINY)
        shapes = normalize_positive(spread)
        volume = max(float((spread / shapes).sum()) / (total * d), floor)
        return (shapes, volume), 0.5 * (weight * np.log(volume) + float((x / shapes).sum()) / volume)

    def magnitude(x):  # |n d log λ| + Σ x / (λ A), whose sum is 2 (−ℓ) (log|A_k| = 0)
        (shapes, volume), _ = given(x)
        return 0.5 * (abs(weight * np.log(volume)) + float((x / shapes).sum()) / volume)

    def derivatives(x):  # of t = d Σ_k g_k, g_k = (Π_j x_kj)^{1/d}, which −ℓ increases with
        # clipped as the shapes are (and at the volume's floor), so that 1 / x² stays finite
        x = np.maximum(x, np.maximum(REL_FLOOR * x.max(axis=1, keepdims=True), floor))
        g = np.exp(np.mean(np.log(x), axis=1))
        inverse = 1.0 / x
        return g[:, None] * inverse, -g[:, None] * inverse ** 2, g / d, inverse

    profile = Profile(given, magnitude, derivatives, lambda closed: closed[0])
    D = sorted_eigh(W.sum(axis=0))[1] if previous is None else common_orientation(previous)
    return fit_orientation(W, nk, D, profile, _parameters, _dense, record=record)


def _parameters(point):
    shapes, volume = point.closed
    return np.concatenate([[volume], shapes.ravel(), point.D.ravel()])


def _dense(point):
    shapes, volume = point.closed
    return volume * np.einsum("ij,kj,lj->kil", point.D, shapes, point.D)


def estimate(W, nk, previous=None):
    return fit(W, nk, previous).covariances


MODEL = constrained_model(name="EVE", estimate=estimate, inner_fit=fit,
                          n_cov_parameters=lambda k, d: 1 + k * (d - 1) + d * (d - 1) // 2)
