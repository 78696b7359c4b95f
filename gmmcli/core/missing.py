"""Missing values (NaN) handled exactly: marginal densities and EM with conditional expectations.

The marginal of a Gaussian over the observed coordinates o is N(μ_o, Σ_oo), so a row
with missing cells is scored by dropping those dimensions from every component. EM
takes, for each component k, the conditional expectation of the missing coordinates,
x̂_m = μ_m + Σ_mo Σ_oo⁻¹ (x_o − μ_o), and adds their conditional covariance
Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om to the second moments (Ghahramani & Jordan 1994).
Rows are grouped by their pattern of missing cells so each pattern factorizes once.
"""

from __future__ import annotations

import numpy as np

from gmmcli.core.params import GaussianMixtureParams, marginal_params
from gmmcli.core.stats import SufficientStats, block_statistics, score_rows, shift_params


def patterns(mask: np.ndarray):
    """(rows, observed mask) for each distinct pattern of missing cells among the rows of ``mask``."""
    unique, inverse = np.unique(mask, axis=0, return_inverse=True)
    for p, pattern in enumerate(unique):
        yield np.flatnonzero(inverse.ravel() == p), ~pattern


def score_rows_missing(X: np.ndarray, params: GaussianMixtureParams):
    """log p(x_observed) and responsibilities for rows that may contain NaN.

    A row with nothing observed gets log p = 0 and the mixture weights as its probabilities.
    """
    mask = np.isnan(X)
    log_norm = np.zeros(len(X))
    resp = np.tile(params.weights, (len(X), 1))
    for rows, observed in patterns(mask):
        if observed.all():
            log_norm[rows], resp[rows] = score_rows(X[rows], params)
        elif observed.any():
            log_norm[rows], resp[rows] = score_rows(X[np.ix_(rows, np.flatnonzero(observed))],
                                                    marginal_params(params, observed))
    return log_norm, resp


def block_statistics_missing(X, sample_weight, start, *, params: GaussianMixtureParams, shift) -> SufficientStats:
    """The E-step of :func:`gmmcli.core.stats.block_statistics` for rows that may contain NaN."""
    mask = np.isnan(X)
    complete = ~mask.any(axis=1)
    total = None
    if complete.any():
        w = None if sample_weight is None else sample_weight[complete]
        total = block_statistics(np.asfortranarray(X[complete]), w, start, params=params, shift=shift)
    shifted = shift_params(params, shift)
    for rows, observed in patterns(mask[~complete]):
        rows = np.flatnonzero(~complete)[rows]
        w = np.ones(len(rows)) if sample_weight is None else sample_weight[rows]
        part = _pattern_statistics(X[rows] - shift, w, observed, shifted, shift)
        total = part if total is None else total + part
    return total


def _pattern_statistics(Xc, w, observed, params: GaussianMixtureParams, shift) -> SufficientStats:
    """Expected sufficient statistics of rows sharing one pattern (already moved by ``shift``)."""
    o, m = np.flatnonzero(observed), np.flatnonzero(~observed)
    n, d = Xc.shape
    k_count = params.n_components
    if len(o):
        log_norm, resp = score_rows(Xc[:, o], marginal_params(params, observed))
    else:
        log_norm, resp = np.zeros(n), np.tile(params.weights, (n, 1))
    r = resp * w[:, None]
    nk = r.sum(axis=0)
    sx = np.zeros((k_count, d))
    second = np.zeros((k_count, d, d))
    dense = params.dense_covariances()
    for k in range(k_count):
        cov = dense[k]
        x_hat = np.empty((n, d))
        x_hat[:, o] = Xc[:, o]
        cond = np.zeros((d, d))
        if len(o):
            gain = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, m)]).T  # Σ_mo Σ_oo⁻¹
            x_hat[:, m] = params.means[k, m] + (Xc[:, o] - params.means[k, o]) @ gain.T
            cond[np.ix_(m, m)] = cov[np.ix_(m, m)] - gain @ cov[np.ix_(o, m)]
        else:
            x_hat[:, m] = params.means[k, m]
            cond[np.ix_(m, m)] = cov[np.ix_(m, m)]
        sx[k] = r[:, k] @ x_hat
        second[k] = (x_hat * r[:, k:k + 1]).T @ x_hat + nk[k] * cond
    moment = params.model.moment_from_dense(second)
    return SufficientStats(params.covariance_type, shift, float(w.sum()), nk, sx, moment, float(log_norm @ w))


class ImputedSource:
    """An engine seen with every NaN replaced by ``fill`` (for initialization only)."""

    def __init__(self, engine, fill: np.ndarray):
        self.engine, self.fill = engine, fill
        self.n_samples = engine.n_samples
        self.sample_weight = engine.sample_weight

    def _impute(self, X):
        return np.where(np.isnan(X), self.fill, X)

    def reduce(self, fn):
        return self.engine.reduce(lambda X, w, start: fn(self._impute(X), w, start))

    def sample_rows(self, n, rng):
        return self._impute(self.engine.sample_rows(n, rng))


def row_log_likelihood_missing(X, sample_weight, start, *, params: GaussianMixtureParams) -> np.ndarray:
    """log p(x_observed) per row (in the fitted space), for rows that may contain NaN."""
    return score_rows_missing(X, params)[0] if np.isnan(X).any() else score_rows(X, params)[0]
