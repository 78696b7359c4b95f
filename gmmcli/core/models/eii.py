"""``EII`` (mclust): Σ_k = λI, one spherical covariance shared by every component."""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import clip_positive, constrained_model


def estimate(W: np.ndarray, nk: np.ndarray, previous=None) -> np.ndarray:
    """λ = tr(Σ_k W_k) / (n d), n = Σ_k n_k; returns λI for every component, shape (K, D, D).

    mclust: ``mseii`` / ``meeii`` in src/mclust.f (σ² = Σ_ik z_ik ‖x_i − μ_k‖² / (n p)).
    """
    n_components, d, _ = W.shape
    lam = clip_positive(np.array([np.trace(W, axis1=1, axis2=2).sum() / (nk.sum() * d)]))[0]
    return np.broadcast_to(lam * np.eye(d), (n_components, d, d)).copy()


MODEL = constrained_model(name="EII", estimate=estimate, n_cov_parameters=lambda k, d: 1)
