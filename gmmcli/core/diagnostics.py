"""Detecting components that collapsed (onto a point or a subspace) or died."""

from __future__ import annotations

import numpy as np

from gmmcli.core.params import GaussianMixtureParams

# A component whose variance in some direction is at most this many times
# reg_covar is "collapsed": the regularisation, not the data, holds it up.
COLLAPSE_FACTOR = 2.0
COLLAPSE_FLOOR = 1e-12


def min_variances(params: GaussianMixtureParams) -> np.ndarray:
    """Each component's smallest variance over all directions, shape (n_components,)."""
    return params.model.min_variances(params.covariances, params.n_components)


def collapsed_components(params: GaussianMixtureParams, reg_covar: float) -> np.ndarray:
    """Indices of components whose smallest variance is ≤ 2·reg_covar (+1e-12)."""
    return np.flatnonzero(min_variances(params) <= COLLAPSE_FACTOR * reg_covar + COLLAPSE_FLOOR)
