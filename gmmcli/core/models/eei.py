"""``EEI`` (mclust): Σ_k = λA, one diagonal covariance shared by every component."""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import clip_positive, constrained_model


def estimate(W: np.ndarray, nk: np.ndarray, previous=None) -> np.ndarray:
    """Σ_k = diag(Σ_k W_k) / n (λ = |·|^{1/d}, A its normalized diagonal), shape (K, D, D).

    mclust: ``mseei`` in src/mclust.f (shape = Σ_k diag W_k, scale = (Π shape)^{1/p} / n).
    """
    n_components, d, _ = W.shape
    variances = clip_positive(np.diagonal(W, axis1=1, axis2=2).sum(axis=0) / nk.sum())
    return np.broadcast_to(np.diag(variances), (n_components, d, d)).copy()


MODEL = constrained_model(name="EEI", estimate=estimate, n_cov_parameters=lambda k, d: d)
