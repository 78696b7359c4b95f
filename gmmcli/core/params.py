"""Mixture parameters as a frozen value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmcli.core.covariance import COVARIANCE_OPS


@dataclass(frozen=True)
class GaussianMixtureParams:
    """Parameters of a Gaussian mixture.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray, shape by covariance type (see ``covariance.py``)
    covariance_type : {"full", "tied", "diag", "spherical"}
    precisions_chol : ndarray, the Cholesky factors of the precisions, same shape
        rules as ``covariances``. Derived; build with :func:`make_params`.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str
    precisions_chol: np.ndarray

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.means.shape[1])


def make_params(weights, means, covariances, covariance_type: str) -> GaussianMixtureParams:
    """Build parameters, computing the precision Cholesky factors.

    Raises
    ------
    NumericalError
        If a covariance is not positive definite (names the component).
    """
    ops = COVARIANCE_OPS[covariance_type]
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    return GaussianMixtureParams(
        weights, means, covariances, covariance_type, ops.precisions_chol(covariances)
    )


def n_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Number of free parameters, counted as scikit-learn's ``_n_parameters``."""
    cov = COVARIANCE_OPS[covariance_type].n_cov_parameters(n_components, n_features)
    return int(cov + n_components * n_features + n_components - 1)


def permute_components(params: GaussianMixtureParams, order) -> GaussianMixtureParams:
    """Return the same mixture with components in ``order``."""
    order = np.asarray(order)
    tied = params.covariance_type == "tied"
    return GaussianMixtureParams(
        params.weights[order],
        params.means[order],
        params.covariances if tied else params.covariances[order],
        params.covariance_type,
        params.precisions_chol if tied else params.precisions_chol[order],
    )


def rescale_params(params: GaussianMixtureParams, factor, offset) -> GaussianMixtureParams:
    """The mixture of y = factor · x + offset (factor and offset of shape (n_features,)).

    Exact for every covariance type except spherical under a non-uniform
    ``factor``, where each variance is scaled by the mean of ``factor²``.
    """
    factor = np.asarray(factor, dtype=float)
    means = params.means * factor + offset
    cov = params.covariances
    kind = params.covariance_type
    if kind in ("full", "tied"):
        cov = cov * np.multiply.outer(factor, factor)
    elif kind == "diag":
        cov = cov * factor**2
    else:
        cov = cov * float(np.mean(factor**2))
    return make_params(params.weights, means, cov, kind)
