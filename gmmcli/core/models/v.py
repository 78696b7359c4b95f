"""``V`` (mclust, one column): variable variance, σ_k² = W_k / n_k."""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import clip_positive, constrained_model


def estimate(W: np.ndarray, nk: np.ndarray, previous=None) -> np.ndarray:
    """σ_k² = W_k / n_k (each floored above zero), shape (K, D, D) with D = 1.

    mclust: ``ms1v`` in src/mclust.f.
    """
    return clip_positive(W / nk[:, None, None])


MODEL = constrained_model(name="V", estimate=estimate, n_cov_parameters=lambda k, d: k,
                          n_features_only=1)
