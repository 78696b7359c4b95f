"""mclust's VEI: Σ_k = λ_k A, a volume per component and one diagonal shape (det A = 1).

No closed form: the M-step is mclust's fixed point (msvei), warm-started from the last
EM iteration's shape (:func:`gmmcli.core.models.iterative.fit_volume_shape`).
"""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import constrained_model
from gmmcli.core.models.iterative import (
    InnerFit, TINY, diagonal, diagonal_matrices, fit_volume_shape, normalize_positive,
)


def fit(W: np.ndarray, nk: np.ndarray, previous: np.ndarray | None = None, *, record: bool = False) -> InnerFit:
    """The maximum-likelihood VEI covariances from scatter matrices W (K, D, D) and weights nk (K,).

    ``previous`` (K, D, D): covariances to warm-start from (their common shape), else A = I.
    """
    if previous is None:
        shape = np.ones(W.shape[-1])
    else:  # Σ_k = λ_k A: each normalised diagonal is A; average them in log space
        shape = np.exp(np.mean(np.log(normalize_positive(np.maximum(diagonal(previous), TINY))), axis=0))
    return fit_volume_shape(diagonal(W), nk, shape, _dense, W, record=record)


def _dense(volumes, shape):
    return volumes[:, None, None] * diagonal_matrices(shape)[None]


def estimate(W, nk, previous=None):
    return fit(W, nk, previous).covariances


MODEL = constrained_model(name="VEI", estimate=estimate, inner_fit=fit,
                          n_cov_parameters=lambda k, d: k + d - 1)
