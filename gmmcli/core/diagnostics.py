"""Detecting components that collapsed (onto a point or a subspace) or died, and inner M-step loops
that did not converge."""

from __future__ import annotations

from typing import Optional

import numpy as np

from gmmcli.core.models.base import scatter_matrices
from gmmcli.core.params import GaussianMixtureParams
from gmmcli.core.stats import COUNT_EPS

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


def inner_loop_report(statistics, params: GaussianMixtureParams) -> Optional[dict]:
    """For a model with an iterative M-step: its inner loop rerun at the final statistics,
    warm-started from the final covariances (so at a fixed point it stops at once):
    ``{"iterations": n, "converged": bool}``; None for closed-form models.

    ``statistics`` and ``params`` must list the components in the same order.
    """
    inner_fit = params.model.inner_fit
    if inner_fit is None:
        return None
    nk = statistics.nk + COUNT_EPS
    W = scatter_matrices(statistics.moment, nk, statistics.sx / nk[:, None])
    outcome = inner_fit(W, nk, params.covariances)
    return {"iterations": int(outcome.n_iter), "converged": bool(outcome.converged)}
