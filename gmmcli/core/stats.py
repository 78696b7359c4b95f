"""The E-step as additive sufficient statistics, and the M-step that reads them.

For any block of rows, :func:`block_statistics` returns a
:class:`SufficientStats`; two of them add with ``+`` and the M-step only reads
the total. All sums are taken about a fixed ``shift`` (the data centre), so the
second moments do not cancel catastrophically when the data sit far from zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmmcli.core.covariance import COVARIANCE_OPS
from gmmcli.core.params import GaussianMixtureParams, make_params

LOG_2PI = float(np.log(2.0 * np.pi))
# scikit-learn adds 10·eps to each component's count so an empty component
# cannot divide by zero; we do the same so both agree from the same start.
COUNT_EPS = 10.0 * np.finfo(float).eps


@dataclass(frozen=True)
class SufficientStats:
    """Summed statistics of one pass (or part of a pass) over the data.

    Attributes
    ----------
    covariance_type : str
    shift : ndarray of shape (n_features,)
        The point every sum below is taken about.
    weight : float
        Σᵢ wᵢ, the (weighted) number of rows.
    nk : ndarray of shape (n_components,)
        Σᵢ wᵢ rᵢₖ.
    sx : ndarray of shape (n_components, n_features)
        Σᵢ wᵢ rᵢₖ (xᵢ − shift).
    moment : ndarray
        Second moments about the shift, in the form the covariance type needs
        (full (K, D, D), tied (D, D), diag and spherical (K, D)).
    log_likelihood : float
        Σᵢ wᵢ log p(xᵢ) under the parameters that produced the responsibilities.
    """

    covariance_type: str
    shift: np.ndarray
    weight: float
    nk: np.ndarray
    sx: np.ndarray
    moment: np.ndarray
    log_likelihood: float

    def __add__(self, other: "SufficientStats") -> "SufficientStats":
        if self.covariance_type != other.covariance_type or not np.array_equal(
            self.shift, other.shift
        ):
            raise ValueError("cannot add statistics of different covariance types or shifts")
        return SufficientStats(
            self.covariance_type,
            self.shift,
            self.weight + other.weight,
            self.nk + other.nk,
            self.sx + other.sx,
            self.moment + other.moment,
            self.log_likelihood + other.log_likelihood,
        )


def estimate_weighted_log_prob(X, params: GaussianMixtureParams) -> np.ndarray:
    """log wₖ + log N(xᵢ | μₖ, Σₖ) for every row and component.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    params : GaussianMixtureParams

    Returns
    -------
    ndarray of shape (n_samples, n_components)
    """
    ops = COVARIANCE_OPS[params.covariance_type]
    n_features = params.n_features
    maha = ops.mahalanobis(X, params.means, params.precisions_chol)
    log_det = ops.log_det(params.precisions_chol, params.n_components, n_features)
    with np.errstate(divide="ignore"):
        log_weights = np.log(params.weights)
    return -0.5 * (n_features * LOG_2PI + maha) + log_det + log_weights


def normalize_log_prob(weighted_log_prob: np.ndarray):
    """Log-sum-exp over components.

    Returns
    -------
    log_norm : ndarray of shape (n_samples,)
        log p(xᵢ).
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities; each row sums to 1.
    """
    top = weighted_log_prob.max(axis=1)
    resp = np.exp(weighted_log_prob - top[:, None])
    total = resp.sum(axis=1)
    resp /= total[:, None]
    return top + np.log(total), resp


def accumulate_statistics(Xc, resp, shift, covariance_type, sample_weight=None, log_likelihood=0.0):
    """Sufficient statistics of rows ``Xc`` (already moved by ``shift``) with ``resp``."""
    if sample_weight is not None:
        resp = resp * sample_weight[:, None]
        weight = float(sample_weight.sum())
    else:
        weight = float(len(Xc))
    ops = COVARIANCE_OPS[covariance_type]
    return SufficientStats(
        covariance_type,
        shift,
        weight,
        resp.sum(axis=0),
        resp.T @ Xc,
        ops.moment(Xc, resp),
        float(log_likelihood),
    )


def block_statistics(X, sample_weight, start, *, params: GaussianMixtureParams, shift) -> SufficientStats:
    """E-step over one block of rows: the block's summed statistics.

    ``start`` (the block's first row) is unused here; it is part of the block
    function signature that engines call.
    """
    if shift.any():
        X = X - shift
        params = shift_params(params, shift)
    log_norm, resp = normalize_log_prob(estimate_weighted_log_prob(X, params))
    ll = log_norm.sum() if sample_weight is None else log_norm @ sample_weight
    return accumulate_statistics(X, resp, shift, params.covariance_type, sample_weight, ll)


def shift_params(params: GaussianMixtureParams, shift) -> GaussianMixtureParams:
    """The same mixture with the means moved by ``-shift``."""
    return GaussianMixtureParams(
        params.weights, params.means - shift, params.covariances,
        params.covariance_type, params.precisions_chol,
    )


def m_step(stats: SufficientStats, reg_covar: float) -> GaussianMixtureParams:
    """Maximise the expected complete-data log-likelihood given summed statistics."""
    ops = COVARIANCE_OPS[stats.covariance_type]
    nk = stats.nk + COUNT_EPS
    means_c = stats.sx / nk[:, None]
    covariances = ops.covariances(stats.moment, nk, means_c, reg_covar)
    return make_params(nk / nk.sum(), means_c + stats.shift, covariances, stats.covariance_type)


def row_log_likelihood(X, sample_weight, start, *, params: GaussianMixtureParams) -> np.ndarray:
    """log p(xᵢ) for every row of a block (a block function for ``map_rows``)."""
    return normalize_log_prob(estimate_weighted_log_prob(X, params))[0]
