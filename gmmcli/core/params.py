"""Mixture parameters as a frozen value."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from gmmcli.core.models import MODELS
from gmmcli.core.models.base import CovarianceModel


@dataclass(frozen=True)
class GaussianMixtureParams:
    """Parameters of a Gaussian mixture.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray, shape by covariance type (see ``covariance.py``)
    covariance_type : str
        A name in the covariance-model table (:data:`gmmcli.core.models.MODELS`).
    precisions_chol : ndarray, the Cholesky factors of the precisions, same shape
        rules as ``covariances``. Derived; build with :func:`make_params`.
    noise : NoiseTerm or None
        A uniform noise component (Banfield & Raftery 1993); then ``weights`` sum to
        1 − ``noise.weight``.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str
    precisions_chol: np.ndarray
    noise: Optional["NoiseTerm"] = None

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.means.shape[1])

    @property
    def model(self) -> CovarianceModel:
        """The covariance model's table entry."""
        return MODELS[self.covariance_type]

    def dense_covariances(self) -> np.ndarray:
        """Σₖ as (n_components, n_features, n_features) matrices, whatever the model."""
        return self.model.dense(self.covariances, self.n_components, self.n_features)


@dataclass(frozen=True)
class NoiseTerm:
    """The noise component: proportion π₀ and the log of its constant density 1 / V.

    ``log_density`` is in the space the parameters live in (standardized, when the fit
    standardizes): −log V + Σⱼ log sⱼ for column scales sⱼ.
    """

    weight: float
    log_density: float

    def rescaled(self, factor) -> "NoiseTerm":
        """The noise of y = factor · x: a density divided by |Π factor|."""
        return NoiseTerm(self.weight, self.log_density - float(np.sum(np.log(np.abs(factor)))))


def make_params(weights, means, covariances, covariance_type: str,
                noise: Optional[NoiseTerm] = None) -> GaussianMixtureParams:
    """Build parameters, computing the precision Cholesky factors.

    Raises
    ------
    NumericalError
        If a covariance is not positive definite (names the component).
    """
    ops = MODELS[covariance_type]
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    return GaussianMixtureParams(
        weights, means, covariances, covariance_type, ops.precisions_chol(covariances), noise
    )


def n_parameters(covariance_type: str, n_components: int, n_features: int, noise: bool = False) -> int:
    """Number of free parameters, counted as scikit-learn's ``_n_parameters`` and mclust's
    ``nMclustParams``: with a noise component, its proportion and its density count (+2)."""
    cov = MODELS[covariance_type].n_cov_parameters(n_components, n_features)
    return int(cov + n_components * n_features + n_components - 1 + (2 if noise else 0))


def without_noise(params: GaussianMixtureParams) -> GaussianMixtureParams:
    """The Gaussian part alone, its weights renormalized to sum to 1."""
    if params.noise is None:
        return params
    return replace(params, weights=params.weights / params.weights.sum(), noise=None)


def permute_components(params: GaussianMixtureParams, order) -> GaussianMixtureParams:
    """Return the same mixture with components in ``order``."""
    order = np.asarray(order)
    permute = params.model.permute
    return GaussianMixtureParams(
        params.weights[order], params.means[order], permute(params.covariances, order),
        params.covariance_type, permute(params.precisions_chol, order), params.noise,
    )


def rescale_params(params: GaussianMixtureParams, factor, offset) -> GaussianMixtureParams:
    """The mixture of y = factor · x + offset (factor and offset of shape (n_features,)).

    Exact for every model whose entry says ``rescale_exact``; a spherical model under a
    non-uniform ``factor`` scales each variance by the mean of ``factor²``.
    """
    factor = np.asarray(factor, dtype=float)
    covariances = params.model.rescale(params.covariances, factor)
    noise = None if params.noise is None else params.noise.rescaled(factor)
    return make_params(params.weights, params.means * factor + offset, covariances, params.covariance_type, noise)


def marginal_params(params: GaussianMixtureParams, observed: np.ndarray) -> GaussianMixtureParams:
    """The mixture of the observed coordinates (a boolean mask of shape (n_features,)).

    A noise component has no marginal here (its box is not kept in the parameters).
    """
    if params.noise is not None:
        raise ValueError("a mixture with a noise component has no marginal over some columns")
    o = np.flatnonzero(observed)
    covariances = params.model.marginal(params.covariances, o)
    return make_params(params.weights, params.means[:, o], covariances, params.covariance_type)
