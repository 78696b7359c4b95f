"""The E-step as additive sufficient statistics, and the M-step that reads them.

For any block of rows, :func:`block_statistics` returns a
:class:`SufficientStats`; two of them add with ``+`` and the M-step only reads
the total. All sums are taken about a fixed ``shift`` (the data centre), so the
second moments do not cancel catastrophically when the data sit far from zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from gmmcli.core.models import DEFAULT_MODEL, MODELS
from gmmcli.core.params import GaussianMixtureParams, NoiseTerm, make_params

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
        (full (K, D, D), tied (D, D), diag (K, D), spherical (K,): Σᵢ wᵢ rᵢₖ |xᵢ − shift|²).
    log_likelihood : float
        Σᵢ wᵢ log p(xᵢ) under the parameters that produced the responsibilities.
    noise : float
        Σᵢ wᵢ rᵢ₀, the noise component's share (0 without one).
    """

    covariance_type: str
    shift: np.ndarray
    weight: float
    nk: np.ndarray
    sx: np.ndarray
    moment: np.ndarray
    log_likelihood: float
    noise: float = 0.0

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
            self.noise + other.noise,
        )


def estimate_weighted_log_prob(X, params: GaussianMixtureParams) -> np.ndarray:
    """log wₖ + log N(xᵢ | μₖ, Σₖ) for every row and component, and log π₀ + log(1/V) last
    when the mixture has a noise component.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    params : GaussianMixtureParams

    Returns
    -------
    ndarray of shape (n_samples, n_components), or (n_samples, n_components + 1) with noise
    """
    ops = MODELS[params.covariance_type]
    n_features = params.n_features
    maha = ops.mahalanobis(X, params.means, params.precisions_chol)
    log_det = ops.log_det(params.precisions_chol, params.n_components, n_features)
    with np.errstate(divide="ignore"):
        log_weights = np.log(params.weights)
    weighted = -0.5 * (n_features * LOG_2PI + maha) + log_det + log_weights
    if params.noise is None:
        return weighted
    return np.hstack([weighted, np.full((len(weighted), 1), noise_log_prob(params))])


def noise_log_prob(params: GaussianMixtureParams) -> float:
    """log π₀ + log(1/V): the noise component's weighted log-density, the same for every row."""
    with np.errstate(divide="ignore"):
        return float(np.log(params.noise.weight) + params.noise.log_density)


def normalize_log_prob(weighted_log_prob: np.ndarray):
    """Log-sum-exp over components.

    Parameters
    ----------
    weighted_log_prob : ndarray of shape (n_samples, n_components)

    Returns
    -------
    log_norm : ndarray of shape (n_samples,)
        log p(xᵢ).
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities; each row sums to 1.
    """
    top = weighted_log_prob.max(axis=1, keepdims=True)
    resp = weighted_log_prob - top
    np.exp(resp, out=resp)
    total = resp @ np.ones(resp.shape[1])  # a GEMV beats sum(axis=1) for small K
    resp *= (1.0 / total)[:, None]
    return top[:, 0] + np.log(total), resp


def accumulate_statistics(Xc, resp, shift, covariance_type, sample_weight=None, log_likelihood=0.0):
    """Sufficient statistics of rows ``Xc`` (already moved by ``shift``) with ``resp``.

    Parameters
    ----------
    Xc : ndarray of shape (n_samples, n_features)
    resp : ndarray of shape (n_samples, n_components)
    """
    ops = MODELS[covariance_type]
    phi = ops.features(np.ascontiguousarray(Xc.T))
    resp_t = np.ascontiguousarray(resp.T, dtype=phi.dtype)
    if sample_weight is not None:
        resp_t *= sample_weight
        weight = float(sample_weight.sum())
    else:
        weight = float(len(Xc))
    return _statistics_from_features(phi, resp_t, covariance_type, shift, weight, float(log_likelihood))


def one_group_block(X, sample_weight, start, *, shift) -> SufficientStats:
    """The statistics of every row as one group (column means and covariance): a block function."""
    return accumulate_statistics(X - shift, np.ones((len(X), 1)), shift, DEFAULT_MODEL, sample_weight)


def _statistics_from_features(phi, resp_t, covariance_type, shift, weight, log_likelihood, noise=None):
    """Every statistic in one GEMM: (K, n) responsibilities times the (F, n) features.

    ``noise``: the noise component's (weighted) responsibilities, shape (n,), if any.
    Whatever the working precision, the statistics are returned (and summed) in float64.
    """
    n_features = len(shift)
    g = (resp_t @ phi.T).astype(np.float64, copy=False)
    moment = MODELS[covariance_type].moment_from_features(g, n_features)
    return SufficientStats(
        covariance_type, shift, weight, g[:, -1], g[:, -1 - n_features:-1], moment, log_likelihood,
        0.0 if noise is None else float(noise.sum(dtype=np.float64)),
    )


# The cost model of the E-step kernel. The quadratic-feature kernel streams an (F, n) feature
# matrix, F = D(D+1)/2 + D + 1 for a model with full covariances, through two thin GEMMs: it is
# bound by memory traffic, which grows as D². The direct kernel computes the Mahalanobis terms
# with one (n, D) x (D, K·D) GEMM and the moments with K (D, n) x (n, D) GEMMs: compute-bound
# BLAS-3 work, which wins once D is large against K: on the 2-core test machine between D = 10
# and 24 at K = 2, between 24 and 50 at K = 8, above 100 at K = 32 (make bench shows both
# kernels per case): D ≥ 16 + 3·K.
DIRECT_KERNEL_BASE, DIRECT_KERNEL_PER_COMPONENT = 16.0, 3.0
KERNELS = ("features", "direct")


def choose_kernel(params: GaussianMixtureParams, dtype) -> str:
    """``direct`` for models with dense covariances when D ≥ 16 + 3·K, in float64; else
    ``features`` (diagonal and spherical models have only 2D + 1 features: always ``features``)."""
    d, k = params.n_features, params.n_components
    dense = params.model.n_quad_features(d) > 2 * d + 1
    wide = d >= DIRECT_KERNEL_BASE + DIRECT_KERNEL_PER_COMPONENT * k
    return "direct" if dense and wide and np.dtype(dtype) == np.float64 else "features"


def block_statistics(X, sample_weight, start, *, params: GaussianMixtureParams, shift,
                     kernel: Optional[str] = None) -> SufficientStats:
    """E-step over one block of rows: the block's summed statistics.

    ``kernel``: ``features`` or ``direct`` (see :func:`choose_kernel`, the default); both give
    the same statistics up to rounding. ``start`` (the block's first row) is part of the
    block-function signature engines call; it is unused here.
    """
    if (kernel or choose_kernel(params, X.dtype)) == "direct":
        return _direct_statistics(X, sample_weight, params, shift)
    return _feature_statistics(X, sample_weight, params, shift)


def _direct_statistics(X, sample_weight, params: GaussianMixtureParams, shift) -> SufficientStats:
    """The E-step by Mahalanobis terms (one GEMM over the stacked precision factors) and the
    statistics by the model's per-component moments."""
    Xc = np.asarray(X, dtype=np.float64) - shift
    with np.errstate(under="ignore"):
        log_norm, resp = normalize_log_prob(estimate_weighted_log_prob(Xc, shift_params(params, shift)))
    if sample_weight is not None:
        resp *= sample_weight[:, None]
        ll, weight = float(log_norm @ sample_weight), float(sample_weight.sum())
    else:
        ll, weight = float(log_norm.sum()), float(len(X))
    k = params.n_components
    gaussian = resp[:, :k]
    return SufficientStats(
        params.covariance_type, shift, weight, gaussian.sum(axis=0), gaussian.T @ Xc,
        params.model.moment(Xc, gaussian), ll, float(resp[:, k].sum()) if params.noise is not None else 0.0,
    )


def _feature_statistics(X, sample_weight, params: GaussianMixtureParams, shift) -> SufficientStats:
    """The E-step by quadratic features: log N(x | k) is linear in φ(x) = [second order | x | 1]
    of the covariance type, so the E-step is one GEMM φ W and every statistic (Σr, Σr x,
    Σr x xᵀ) is one GEMM rᵀφ."""
    ops = MODELS[params.covariance_type]
    n_features = params.n_features
    dtype = X.dtype  # float64, or float32 for speed (statistics are still summed in float64)
    XT = np.ascontiguousarray(X.T)  # no copy when engines hold Fortran-ordered data
    if shift.any():
        XT = XT - shift[:, None].astype(dtype)
    phi = ops.features(XT)
    coef, const = ops.quad_weights(params.means - shift, params.precisions_chol)
    log_det = ops.log_det(params.precisions_chol, params.n_components, n_features)
    with np.errstate(divide="ignore"):
        const = const + log_det - 0.5 * n_features * LOG_2PI + np.log(params.weights)
    if params.noise is not None:  # the noise is one more row: no quadratic terms, a constant
        coef = np.hstack([coef, np.zeros((len(coef), 1))])
        const = np.append(const, noise_log_prob(params))
    # the constants ride on φ's last row (all ones): one GEMM gives every log wₖNₖ(xᵢ)
    log_prob = np.vstack([coef, const[None, :]]).T.astype(dtype) @ phi  # (K[+1], n)
    top = log_prob.max(axis=0)
    log_prob -= top
    resp = np.exp(log_prob, out=log_prob)
    total = np.ones(len(resp), dtype=dtype) @ resp
    log_norm = top.astype(np.float64) + np.log(total, dtype=np.float64)
    resp *= 1.0 / total
    if sample_weight is not None:
        resp *= sample_weight.astype(dtype)
        ll, weight = float(log_norm @ sample_weight), float(sample_weight.sum())
    else:
        ll, weight = float(log_norm.sum()), float(len(X))
    if params.noise is not None:
        return _statistics_from_features(phi, resp[:-1], params.covariance_type, shift, weight, ll, resp[-1])
    return _statistics_from_features(phi, resp, params.covariance_type, shift, weight, ll)


def shift_params(params: GaussianMixtureParams, shift) -> GaussianMixtureParams:
    """The same mixture with the means moved by ``-shift``."""
    return GaussianMixtureParams(
        params.weights, params.means - shift, params.covariances,
        params.covariance_type, params.precisions_chol, params.noise,
    )


def m_step(stats: SufficientStats, reg_covar: float, previous=None, *,
           noise_log_density: Optional[float] = None) -> GaussianMixtureParams:
    """Maximise the expected complete-data log-likelihood given summed statistics.

    ``previous``: the parameters of the last iteration, from which the iterative M-steps of
    some covariance models warm-start their inner loops, and whose noise component (if any)
    the result keeps; ``noise_log_density``: a noise component of this density (the first
    M-step, from a starting partition with noise rows).
    """
    ops = MODELS[stats.covariance_type]
    nk = stats.nk + COUNT_EPS
    means_c = stats.sx / nk[:, None]
    covariances = ops.m_step(stats.moment, nk, means_c, reg_covar,
                             None if previous is None else previous.covariances)
    weights, noise = mixing_weights(nk, stats, previous, noise_log_density)
    return make_params(weights, means_c + stats.shift, covariances, stats.covariance_type, noise)


def mixing_weights(nk, stats: SufficientStats, previous: Optional[GaussianMixtureParams],
                   noise_log_density: Optional[float] = None):
    """πₖ = nₖ / n for the components and, with a noise component (``previous``'s or of
    ``noise_log_density``), π₀ = n₀ / n for it; its density 1/V is fixed, as in mclust.
    Returns (weights, NoiseTerm or None)."""
    if noise_log_density is None and previous is not None and previous.noise is not None:
        noise_log_density = previous.noise.log_density
    if noise_log_density is None:
        return nk / nk.sum(), None
    total = nk.sum() + stats.noise
    return nk / total, NoiseTerm(stats.noise / total, noise_log_density)


LOWEST = -np.finfo(float).max


def score_rows(X, params: GaussianMixtureParams):
    """log p(xᵢ) and responsibilities, finite for every finite row however far it lies.

    A row so far from every component that its squared Mahalanobis distances
    overflow is scored in the limit: its responsibilities are those of the
    distance ratios (the limiting label gets probability 1 unless there is a
    tie), and its log-likelihood is clamped at the lowest finite float.

    With a noise component, its responsibility is the last column; a row whose Gaussian
    densities all underflow belongs to the noise (its density is a positive constant).

    Returns
    -------
    log_norm : ndarray of shape (n_samples,)
    resp : ndarray of shape (n_samples, n_components), or (n_samples, n_components + 1) with noise
    """
    with np.errstate(over="ignore", invalid="ignore"):
        log_norm, resp = normalize_log_prob(estimate_weighted_log_prob(X, params))
    far = ~np.isfinite(log_norm) & ~np.isnan(X).any(axis=1)  # NaN rows are for core.missing
    for i in np.flatnonzero(far):
        log_norm[i], resp[i] = _score_far_row(X[i], params)
    return log_norm, resp


def _score_far_row(x, params: GaussianMixtureParams):
    """Score x = s·u (|u|∞ = 1, s huge) from the expansion in s.

    log wₖNₖ(s·u) = cₖ − ½ s² qₖ + s lₖ − ½ mₖ with qₖ = uᵀΛₖu, lₖ = uᵀΛₖμₖ and
    mₖ = μₖᵀΛₖμₖ: the smallest q wins, ties go to the largest l, then to c − ½m.
    Every term is computed from unit-scale quantities, so nothing overflows but s².
    With a noise component that row is noise (reached only when π₀ = 0 otherwise).
    """
    if params.noise is not None and params.noise.weight > 0:
        resp = np.zeros(params.n_components + 1)
        resp[-1] = 1.0
        return noise_log_prob(params), resp
    ops = MODELS[params.covariance_type]
    size = np.float64(np.max(np.abs(x)))
    u = (x / size)[None, :]
    zero = np.zeros_like(params.means)
    q = ops.mahalanobis(u, zero, params.precisions_chol)[0]
    m = ops.mahalanobis(np.zeros_like(u), params.means, params.precisions_chol)[0]
    lin = 0.5 * (q + m - ops.mahalanobis(u, params.means, params.precisions_chol)[0])
    log_det = ops.log_det(params.precisions_chol, params.n_components, params.n_features)
    with np.errstate(divide="ignore"):
        const = log_det + np.log(params.weights) - 0.5 * params.n_features * LOG_2PI - 0.5 * m
    if params.noise is not None:
        const = np.append(const, -np.inf)
        q, lin = np.append(q, np.inf), np.append(lin, -np.inf)
    q_min = q.min()
    lin_top = lin[q == q_min].max()
    with np.errstate(over="ignore", invalid="ignore"):
        gap = np.where(q == q_min, 0.0, -0.5 * size**2 * (q - q_min))
        gap = gap + np.where((q == q_min) & (lin == lin_top), 0.0, size * np.minimum(lin - lin_top, 0.0))
        gap = np.where(np.isnan(gap), -np.inf, gap)
        log_norm, resp = normalize_log_prob((gap + const)[None, :])
        total = -0.5 * size**2 * q_min + size * lin_top + log_norm[0]
    return (float(total) if np.isfinite(total) else LOWEST), resp[0]
