"""mclust's VVE: Σ_k = λ_k D A_k Dᵀ, a volume and a shape per component, one orientation.

Given D, λ_k A_k = diag(Dᵀ W_k D) / n_k is exact, so −ℓ = ½ Σ_k n_k Σ_j log(d_jᵀ W_k d_j / n_k)
+ const is a function of D alone: Flury's (1984) common principal components objective. D moves
by safeguarded Newton steps on it over the orthogonal group, with Browne & McNicholas's (2014)
majorization–minimization steps (MM1 then MM2) on Σ_k tr(Dᵀ W_k D (λ_k A_k)⁻¹) whenever a
Newton step would not lower −ℓ (:func:`gmmcli.core.models.iterative.fit_orientation`).
(mclust's msvve weights the MM steps by A_k⁻¹ alone, leaving out 1/λ_k: that is the EVE
objective, whose fixed point is not VVE's maximum when the volumes differ.) Warm-started from
the last EM iteration's orientation, else from the eigenvectors of Σ_k W_k.
"""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import constrained_model
from gmmcli.core.models.iterative import (
    InnerFit, Profile, common_orientation, counts, fit_orientation, floor_of, sorted_eigh,
)


def fit(W: np.ndarray, nk: np.ndarray, previous: np.ndarray | None = None, *, record: bool = False) -> InnerFit:
    """The maximum-likelihood VVE covariances from scatter matrices W (K, D, D) and weights nk (K,).

    ``previous`` (K, D, D): covariances to warm-start from (their common orientation).
    """
    floor = floor_of(W, nk)
    n = counts(nk)[:, None]
    weights = np.asarray(nk, dtype=float)[:, None]

    def given(x):  # the variances λ_k A_k that are optimal for x = diag(Dᵀ W_k D), and −ℓ
        variances = np.maximum(x / n, floor)
        return variances, 0.5 * float(np.sum(weights * np.log(variances) + x / variances))

    def magnitude(x):  # the terms of 2 (−ℓ) in absolute value
        variances = np.maximum(x / n, floor)
        return 0.5 * float(np.sum(np.abs(weights * np.log(variances)) + x / variances))

    def derivatives(x):  # of ½ Σ n_k log(x_kj / n_k), or ½ x_kj / floor where the floor holds
        floored = x <= n * floor
        x = np.where(floored, n * floor, x)
        return np.where(floored, 0.5 / floor, 0.5 * n / x), np.where(floored, 0.0, -0.5 * n / x ** 2), None, None

    profile = Profile(given, magnitude, derivatives, lambda variances: variances)
    D = sorted_eigh(W.sum(axis=0))[1] if previous is None else common_orientation(previous)
    return fit_orientation(W, nk, D, profile, _parameters, _dense, record=record)


def _parameters(point):
    variances = point.closed
    log_volumes = np.mean(np.log(variances), axis=1)
    volumes = np.exp(log_volumes)
    return np.concatenate([volumes, (variances / volumes[:, None]).ravel(), point.D.ravel()])


def _dense(point):
    return np.einsum("ij,kj,lj->kil", point.D, point.closed, point.D)


def estimate(W, nk, previous=None):
    return fit(W, nk, previous).covariances


MODEL = constrained_model(name="VVE", estimate=estimate, inner_fit=fit,
                          n_cov_parameters=lambda k, d: k * d + d * (d - 1) // 2)
